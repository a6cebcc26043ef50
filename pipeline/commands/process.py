"""``vigil process``: the stream processor until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse

HELP = "run the stream processor (Kafka in, ClickHouse out)"


def arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from ``VIGIL_*``."""


def main(args: argparse.Namespace) -> int:
    from pipeline.stream.processor import serve as run_processor

    return run_processor(args)
