"""Every subcommand the CLI names resolves to a real function, and --help works."""

import importlib
import subprocess
import sys

import pytest

from pipeline.commands.cli import COMMANDS, build_parser


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_subcommand_points_at_a_function(command):
    module_name, func_name = COMMANDS[command].split(":")
    assert callable(getattr(importlib.import_module(module_name), func_name))


def test_help_lists_every_process():
    result = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "--help"], capture_output=True, text=True, check=True)
    for command in COMMANDS:
        assert command in result.stdout


def test_project_create_takes_repeatable_origins():
    args = build_parser().parse_args(["project", "create", "shop", "--origin", "https://a.example", "--origin", "https://b.example", "--json"])
    assert (args.name, args.origin, args.json) == ("shop", ["https://a.example", "https://b.example"], True)
