"""``vigil signals``: the 1-minute per-project signals until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse

HELP = "run the 1-minute per-project signals (Kafka in; vigil.signals and ClickHouse out)"


def arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from ``VIGIL_*``."""


def main(args: argparse.Namespace) -> int:
    from pipeline.stream.signal_stream import serve as run_signals

    return run_signals(args)
