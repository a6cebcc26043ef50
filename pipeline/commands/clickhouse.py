"""``vigil clickhouse``: the embedded ClickHouse (chDB behind ClickHouse's HTTP interface)."""

from __future__ import annotations

import argparse

HELP = "run the embedded ClickHouse (chDB behind ClickHouse's HTTP interface)"


def arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from ``VIGIL_*``."""


def main(args: argparse.Namespace) -> int:
    from pipeline.embedded.clickhouse_server import serve as serve_clickhouse

    return serve_clickhouse(args)
