"""``vigil quality report``: run the expectations/ suites over recent events, build GX Data Docs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import settings as settings_module
from pipeline.quality.report import run_report

HELP = "data quality: run the expectations/ suites, build GX Data Docs"


def arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="quality_command", required=True, metavar="ACTION")
    report = actions.add_parser("report", help="check recent events and build Data Docs in <VIGIL_DATA_DIR>/data_docs")
    report.add_argument("--hours", type=float, default=24.0, help="events received in the last H hours (default 24)")
    report.add_argument("--limit", type=int, default=100_000, help="at most the newest N events (default 100000)")
    report.add_argument("--output", default=None, metavar="DIR", help="Data Docs directory (default <VIGIL_DATA_DIR>/data_docs)")


def main(args: argparse.Namespace) -> int:
    """``vigil quality report [--hours H] [--limit N] [--output DIR]``."""
    settings = settings_module.load()
    from pipeline.warehouse.client import WarehouseUnavailable

    try:
        results, index, rows = run_report(settings, hours=args.hours, limit=args.limit,
                                          output=Path(args.output) if args.output else None)
    except (LookupError, WarehouseUnavailable) as exc:
        print(f"vigil quality report: {exc}", file=sys.stderr)
        return 1
    failing = [r for r in results if not r.success]
    print(f"checked {rows} events from the last {args.hours:g} h: "
          f"{len(results) - len(failing)} of {len(results)} expectations passed")
    for result in failing:
        where = f" where {result.row_condition}" if result.row_condition else ""
        print(f"  FAILED {result.suite}.{result.expectation}: {result.unexpected_count} of {result.element_count} "
              f"{result.column or 'rows'}{where} unexpected, e.g. {result.unexpected_sample[:3]}")
    print(f"Data Docs: {index}")
    return 2 if failing else 0
