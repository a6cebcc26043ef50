"""``vigil up``: the whole platform on one machine, supervised (:mod:`pipeline.embedded.supervisor`)."""

from __future__ import annotations

import argparse

HELP = "run the whole platform on embedded defaults (Ctrl-C stops all)"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-simulate", action="store_true", help="do not send simulated traffic")
    parser.add_argument("--rate", type=float, default=50.0, help="simulated events per second (default 50)")


def main(args: argparse.Namespace) -> int:
    from pipeline.embedded.supervisor import run

    return run(args)
