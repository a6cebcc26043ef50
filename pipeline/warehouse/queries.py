"""The warehouse's questions, answered: one query layer for the dashboards, notebooks and alerts.

Every function takes a ``clickhouse-connect`` client and a :class:`Filters` (the project
and the time range the person is looking at) and returns a polars DataFrame with a fixed
schema — an empty answer has the same columns, so callers never special-case "no data".

The SQL is written out in full beside the function that runs it, parameterised with
ClickHouse's ``{name:Type}`` placeholders only: nothing a user typed is ever spliced into a
statement. Raw events are read with ``FINAL``, so an event the pipeline delivered twice
(a retry, a replay after a crash) is counted once. Percentiles are exact
(``quantilesExactInclusive``, the same linear interpolation as polars' and numpy's
default), so every answer can be checked against ground truth computed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl
from clickhouse_connect.driver import Client

from pipeline import vitals
from pipeline.projects import list_projects

UTC_MS = pl.Datetime("ms", "UTC")


@dataclass(frozen=True, slots=True)
class Filters:
    """What a view is looking at: one project, events with ``start <= timestamp < end``.

    Times are the events' own (client) timestamps, in UTC. Later filters (environment,
    release, route, device, browser, country) join here, each as a parameter every query
    applies the same way.
    """

    project_id: int
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Filters need timezone-aware start and end (e.g. datetime.now(timezone.utc))")
        if self.start >= self.end:
            raise ValueError(f"the time range is empty: start {self.start:%Y-%m-%d %H:%M:%S} is not before end "
                             f"{self.end:%Y-%m-%d %H:%M:%S}")

    @classmethod
    def last(cls, project_id: int, span: timedelta, now: datetime | None = None) -> Filters:
        """The ``span`` up to ``now`` (default: this instant)."""
        end = now or datetime.now(timezone.utc)
        return cls(project_id, end - span, end)

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Filters:
        """The period of the same length just before this one (for "change vs. previous period")."""
        return Filters(self.project_id, self.start - self.span, self.start)

    def parameters(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "start": _clickhouse_time(self.start), "end": _clickhouse_time(self.end)}


def _clickhouse_time(when: datetime) -> str:
    """An aware datetime as a DateTime64(3, 'UTC') literal: exact to the millisecond, whatever the server's zone."""
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def _frame(client: Client, sql: str, parameters: dict[str, Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run ``sql`` and return its rows as a DataFrame with exactly ``schema``."""
    table = client.query_arrow(sql, parameters=parameters)
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0:
        return pl.DataFrame(schema=schema)
    return frame.select([pl.col(name).cast(dtype) for name, dtype in schema.items()])


# ── traffic ──────────────────────────────────────────────────────────────────────────────

EVENTS_PER_MINUTE = """
SELECT
    toDateTime64(toStartOfInterval(timestamp, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS minute,
    toString(type) AS type,
    count() AS events
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND timestamp >= {start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
GROUP BY minute, type
ORDER BY minute, type
"""


def events_per_minute(client: Client, filters: Filters, bucket_minutes: int = 1) -> pl.DataFrame:
    """Events per minute and type: ``minute`` (UTC), ``type``, ``events``; minutes without events are absent.

    Over long ranges, ``bucket_minutes`` > 1 counts per bucket of that many minutes instead
    (``minute`` is then the bucket's first minute, ``events`` the bucket's count), so a week
    is 168 hourly bars rather than 10,080 one-minute ones.
    """
    if bucket_minutes < 1:
        raise ValueError(f"bucket_minutes must be at least 1, got {bucket_minutes}")
    return _frame(client, EVENTS_PER_MINUTE, {**filters.parameters(), "bucket_minutes": bucket_minutes},
                  {"minute": UTC_MS, "type": pl.String, "events": pl.UInt64})


TRAFFIC_SUMMARY = """
SELECT
    countIf(type = 'page_view') AS page_views,
    uniqExact(visitor_id) AS unique_visitors,
    uniqExact(session_id) AS sessions,
    countIf(type = 'error') AS errors,
    count() AS events
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND timestamp >= {start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
"""


def traffic_summary(client: Client, filters: Filters) -> pl.DataFrame:
    """One row: ``page_views`` (PV), ``unique_visitors`` (UV, distinct visitor ids with any event),
    ``sessions`` (distinct session ids), ``errors`` (error events of every kind) and ``events``."""
    return _frame(client, TRAFFIC_SUMMARY, filters.parameters(), {
        "page_views": pl.UInt64, "unique_visitors": pl.UInt64, "sessions": pl.UInt64,
        "errors": pl.UInt64, "events": pl.UInt64,
    })


# ── performance ──────────────────────────────────────────────────────────────────────────

VITAL_PERCENTILES = """
SELECT
    toString(vital_name) AS vital,
    count() AS samples,
    quantilesExactInclusive(0.5, 0.75, 0.95)(vital_value) AS q,
    q[1] AS p50,
    q[2] AS p75,
    q[3] AS p95
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND type = 'web_vital'
  AND timestamp >= {start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
GROUP BY vital
ORDER BY vital
"""


def vital_percentiles(client: Client, filters: Filters) -> pl.DataFrame:
    """Per Web Vital measured in the range: ``vital``, ``samples``, ``p50``, ``p75``, ``p95``
    (ms; CLS unitless) and ``rating`` — the p75 rated against :mod:`pipeline.vitals`' thresholds,
    the way Google assesses a page. Vitals nobody measured are absent."""
    frame = _frame(client, VITAL_PERCENTILES, filters.parameters(), {
        "vital": pl.String, "samples": pl.UInt64, "p50": pl.Float64, "p75": pl.Float64, "p95": pl.Float64,
    })
    ratings = [vitals.rate(name, p75) if name in vitals.THRESHOLDS else None
               for name, p75 in zip(frame["vital"], frame["p75"])]
    return frame.with_columns(pl.Series("rating", ratings, dtype=pl.String))


# ── projects ─────────────────────────────────────────────────────────────────────────────


def projects(client: Client) -> pl.DataFrame:
    """Every project a viewer can pick: ``id``, ``name``, ordered by id."""
    rows = [(project.id, project.name) for project in list_projects(client)]
    return pl.DataFrame(rows, schema={"id": pl.UInt32, "name": pl.String}, orient="row")
