"""Every subcommand the CLI names resolves to a real function, and --help works."""

import subprocess
import sys

import pytest

from pipeline.commands.cli import COMMANDS, build_parser, command


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_is_a_module_with_help_arguments_and_main(name):
    module = command(name)
    assert callable(module.main) and callable(module.arguments)
    assert isinstance(module.HELP, str) and module.HELP


def test_help_lists_every_process():
    result = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "--help"], capture_output=True, text=True, check=True)
    for command in COMMANDS:
        assert command in result.stdout


def test_project_create_takes_repeatable_origins():
    args = build_parser().parse_args(["project", "create", "shop", "--origin", "https://a.example", "--origin", "https://b.example", "--json"])
    assert (args.name, args.origin, args.json) == ("shop", ["https://a.example", "https://b.example"], True)
