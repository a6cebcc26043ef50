"""The ``vigil`` command: one subcommand per process, each a module of :mod:`pipeline.commands`.

A command module has ``HELP`` (its line in ``vigil --help``), ``arguments(parser)`` and
``main(args) -> int``; it imports what it runs inside ``main``, so ``vigil --help`` stays
instant and a process loads only what it runs. Every process is configured from
``VIGIL_*`` (:mod:`pipeline.settings`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from types import ModuleType

# in the order of the data path, then the tools around it
COMMANDS = (
    "kafka", "clickhouse", "migrate", "project", "sourcemaps", "collect", "process", "signals",
    "dashboard", "simulate", "up", "alerts", "notebooks", "quality",
)


def command(name: str) -> ModuleType:
    """The module of ``vigil <name>``."""
    return importlib.import_module(f"pipeline.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil — self-hosted frontend monitoring. Configure with VIGIL_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = command(name)
        module.arguments(sub.add_parser(name, help=module.HELP))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(command(args.command).main(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
