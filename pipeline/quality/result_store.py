"""Quality results → the ``quality_results`` table (``migrations/030_quality.sql``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timezone

from clickhouse_connect.driver import Client

from pipeline.quality.check import ExpectationResult

COLUMNS: tuple[str, ...] = (
    "run_id", "run_at", "source", "suite", "suite_version", "expectation", "expectation_type", "column",
    "row_condition", "success", "batch_rows", "element_count", "unexpected_count", "unexpected_percent",
    "observed_value", "unexpected_sample", "exception",
)


def result_rows(results: Sequence[ExpectationResult], *, source: str, batch_rows: int,
                run_at: datetime | None = None, run_id: uuid.UUID | None = None) -> list[tuple]:
    """One ``quality_results`` row per result, all with the same run id and time."""
    run_id = run_id or uuid.uuid4()
    run_at = run_at or datetime.now(timezone.utc)
    return [
        (run_id, run_at, source, r.suite, r.suite_version, r.expectation, r.expectation_type, r.column,
         r.row_condition, r.success, batch_rows, r.element_count, r.unexpected_count, r.unexpected_percent,
         json.dumps(r.observed_value, default=str), json.dumps(r.unexpected_sample, default=str), r.exception)
        for r in results
    ]


def write_results(client: Client, results: Sequence[ExpectationResult], *, source: str, batch_rows: int,
                  run_at: datetime | None = None) -> int:
    """Insert one check's results; returns the number of rows written."""
    rows = result_rows(results, source=source, batch_rows=batch_rows, run_at=run_at)
    if rows:
        client.insert("quality_results", rows, column_names=list(COLUMNS))
    return len(rows)
