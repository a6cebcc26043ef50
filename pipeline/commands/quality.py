"""``vigil quality report``: run the suites over recent events and build GX Data Docs.

Reads the newest events received in the last ``--hours`` (at most ``--limit``) from
ClickHouse through the query layer (:func:`pipeline.queries.quality_sample`),
validates them with every suite in ``expectations/`` through a GX checkpoint whose
``UpdateDataDocsAction`` writes the Data Docs site to ``<VIGIL_DATA_DIR>/data_docs/``,
stores the results in ``quality_results`` (source ``report``) and prints a summary and
the path of ``index.html``. Exit status: 0 all expectations passed, 2 some failed, 1 no
report (ClickHouse unreachable, no data).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline import settings as settings_module
from pipeline.settings import Settings

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


def run_report(settings: Settings, *, hours: float = 24.0, limit: int = 100_000,
               output: Path | None = None, now: datetime | None = None) -> tuple[list, Path, int]:
    """Check recent data and build Data Docs; → (results, index.html path, rows checked).

    Raises ``LookupError`` when there are no events in the window.
    """
    from pipeline import queries
    from pipeline.quality.check import Checker
    from pipeline.quality.result_store import write_results
    from pipeline.warehouse.client import connect

    end = now or datetime.now(timezone.utc)
    start = end - timedelta(hours=hours)
    client = connect(settings)
    frame = queries.quality_sample(client, start, end, limit)
    if frame.height == 0:
        raise LookupError(f"no events received between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC; "
                          "send some (vigil simulate) or widen the window with --hours")
    docs_dir = output or settings.data_dir / "data_docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    checker = Checker(data_docs_dir=docs_dir)
    results, index = checker.build_data_docs(frame, run_name=end.strftime("report-%Y%m%dT%H%M%SZ"))
    write_results(client, results, source="report", batch_rows=frame.height, run_at=end)
    return results, index, frame.height
