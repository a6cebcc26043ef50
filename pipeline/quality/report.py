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

from datetime import datetime, timedelta, timezone
from pathlib import Path

from pipeline.settings import Settings


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
