"""``vigil simulate``: realistic synthetic traffic, sent through the collector over HTTP (:mod:`pipeline.simulation.sender`)."""

from __future__ import annotations

import argparse

HELP = "send realistic synthetic traffic through the collector"


def arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rate", type=float, default=200.0, help="events per second (default 200)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds to run; 0 = until Ctrl-C (default 60)")
    parser.add_argument("--project", type=int, default=None, help="project id (default: the demo project)")
    parser.add_argument("--key", default=None, help="ingest key (default: the demo project's)")
    parser.add_argument("--url", default=None, help="collector URL (default: VIGIL_COLLECTOR_HOST/PORT)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for reproducible traffic")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from pipeline.simulation.sender import run

    return run(args)
