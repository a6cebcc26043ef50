"""The warehouse's questions, answered: one query layer for the dashboards, notebooks and alerts.

Every function takes a ``clickhouse-connect`` client and a :class:`Filters` (the project,
the time range and the dimensions the person is looking at) and returns a polars DataFrame
with a fixed schema — an empty answer has the same columns, so callers never special-case
"no data".

The SQL is written out in full beside the function that runs it, parameterised with
ClickHouse's ``{name:Type}`` placeholders only: nothing a user typed is ever spliced into a
statement (a breakdown's column is picked from a fixed list of names). Two kinds of source:

- **Raw events**, read with ``FINAL``, so an event the pipeline delivered twice (a retry, a
  replay after a crash) is counted once. Time bounds are exact to the millisecond and
  percentiles exact (``quantilesExactInclusive``, the same linear interpolation as polars'
  and numpy's default), so every answer can be checked against ground truth computed elsewhere.
- **Rollups** (``migrations/003_rollups.sql``, ``004_sessions.sql``): per-minute aggregate
  states that materialized views keep as events arrive, for the dashboards' hot paths. They
  cover whole minutes (a range counts the minutes that start in it), count with idempotent
  sets of event-id hashes (a duplicate is counted once; ``008_hash_set_rollups.sql``), and
  give percentiles from log-bucketed histograms within :data:`RELATIVE_ACCURACY` (1 %) of
  the exact value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import polars as pl
from clickhouse_connect.driver import Client

from pipeline import vitals
from pipeline.processor.referrers import DIRECT
from pipeline.projects import list_projects

UTC_MS = pl.Datetime("ms", "UTC")


@dataclass(frozen=True, slots=True)
class Filters:
    """What a view is looking at: one project, events with ``start <= timestamp < end``, and
    optionally one environment, release, route, device, browser and country (empty = all).

    Times are the events' own (client) timestamps, in UTC. ``route`` is a path or a pattern
    where ``*`` stands for any characters (``/p/*``); ``country`` is an ISO code, or
    :data:`UNKNOWN_COUNTRY` for events whose country is not known. Every query applies the
    dimensions the same way (:data:`DIMENSIONS`).
    """

    project_id: int
    start: datetime
    end: datetime
    environment: str = ""
    release: str = ""
    route: str = ""
    device: str = ""
    browser: str = ""
    country: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Filters need timezone-aware start and end (e.g. datetime.now(timezone.utc))")
        if self.start >= self.end:
            raise ValueError(f"the time range is empty: start {self.start:%Y-%m-%d %H:%M:%S} is not before end "
                             f"{self.end:%Y-%m-%d %H:%M:%S}")

    @classmethod
    def last(cls, project_id: int, span: timedelta, now: datetime | None = None, **dimensions: str) -> Filters:
        """The ``span`` up to ``now`` (default: this instant), with the given dimensions."""
        end = now or datetime.now(timezone.utc)
        return cls(project_id, end - span, end, **dimensions)

    @classmethod
    def last_minutes(cls, project_id: int, span: timedelta, now: datetime | None = None, **dimensions: str) -> Filters:
        """The ``span`` up to the end of the current minute, in whole minutes — what rollups answer
        exactly. The minute in progress is included, so live views show the newest events."""
        moment = now or datetime.now(timezone.utc)
        end = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return cls(project_id, end - span, end, **dimensions)

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Filters:
        """The period of the same length just before this one (for "change vs. previous period")."""
        return replace(self, start=self.start - self.span, end=self.start)

    def dimensions(self) -> dict[str, str]:
        """The dimension filters that are set, by name."""
        return {name: getattr(self, name) for name in DIMENSION_NAMES if getattr(self, name)}

    def parameters(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id, "start": _clickhouse_time(self.start), "end": _clickhouse_time(self.end),
            "environment": self.environment, "release": self.release, "route": like_pattern(self.route),
            "device": self.device, "browser": self.browser, "country": self.country,
            "country_code": "" if self.country == UNKNOWN_COUNTRY else self.country,
        }


DIMENSION_NAMES = ("environment", "release", "route", "device", "browser", "country")
UNKNOWN_COUNTRY = "unknown"  # the country filter's value for events without one (no GeoIP match)

# the dimension filters, as every query over a table with these columns applies them
DIMENSIONS = """
  AND ({environment:String} = '' OR environment = {environment:String})
  AND ({release:String} = '' OR release = {release:String})
  AND ({route:String} = '' OR path LIKE {route:String})
  AND ({device:String} = '' OR device = {device:String})
  AND ({browser:String} = '' OR browser = {browser:String})
  AND ({country:String} = '' OR country = {country_code:String})
"""
# the same for tables without routes (a route filter then needs another table)
DIMENSIONS_BUT_ROUTE = "\n".join(line for line in DIMENSIONS.split("\n") if "{route:String}" not in line)

# a per-minute rollup's rows of the filters' range and dimensions (whole minutes)
_MINUTES_IN_RANGE = """project_id = {project_id:UInt32}
  AND minute >= {start:DateTime64(3, 'UTC')}
  AND minute < {end:DateTime64(3, 'UTC')}
""" + DIMENSIONS
# the raw events of the filters' range and dimensions (a query's WHERE continues with it)
_IN_RANGE = """project_id = {project_id:UInt32}
  AND timestamp >= {start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
""" + DIMENSIONS


def like_pattern(route: str) -> str:
    """A route as people write it (``/p/*``) → a LIKE pattern; ``%``, ``_`` and ``\\`` match literally."""
    escaped = route.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def _clickhouse_time(when: datetime) -> str:
    """An aware datetime as a DateTime64(3, 'UTC') literal: exact to the millisecond, whatever the server's zone."""
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def _frame(client: Client, sql: str, parameters: dict[str, Any], schema: dict[str, pl.DataType],
           settings: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run ``sql`` and return its rows as a DataFrame with exactly ``schema``."""
    table = client.query_arrow(sql, parameters=parameters, settings=settings)
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
WHERE """ + _IN_RANGE + """
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
WHERE """ + _IN_RANGE


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
WHERE type = 'web_vital'
  AND """ + _IN_RANGE + """
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


# ── rollups: percentiles from log-bucketed histograms ────────────────────────────────────
# The Web Vitals and API rollups keep, per key, a histogram whose bucket i counts the
# values in (GAMMA**(i-1), GAMMA**i] (DDSketch's layout), with each bucket's exact min and
# max. A percentile is read by locating the order statistics around its rank and taking
# their buckets' representative values — within RELATIVE_ACCURACY of the exact answer.

GAMMA = 101 / 99  # the migration's log(101 / 99)
ZERO_BUCKET = -32768  # zeros (a CLS of 0) have a bucket of their own
RELATIVE_ACCURACY = (GAMMA - 1) / (GAMMA + 1)  # = 0.01
PERCENTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p75", 0.75), ("p95", 0.95))
# a rollup key never spans two partitions (they are months of its minute), so FINAL needs not merge across them
_ROLLUP_SETTINGS = {"do_not_merge_across_partitions_select_final": 1}


def bucket_value(bucket: int, low: float, high: float) -> float:
    """The value a histogram bucket's samples are read as: DDSketch's estimate 2γ^i/(γ+1), which is
    within :data:`RELATIVE_ACCURACY` of every value in the bucket, moved into the bucket's own
    ``[low, high]`` (so it is exact when the bucket holds one distinct value, e.g. one sample)."""
    if bucket == ZERO_BUCKET:
        return 0.0
    return min(max(2 * GAMMA**bucket / (GAMMA + 1), low), high)


def _bucket_values() -> pl.Expr:
    """:func:`bucket_value` of every row of a frame with ``bucket``, ``low`` and ``high`` (vectorised:
    a week's histogram has hundreds of thousands of rows)."""
    estimate = 2 * pl.lit(GAMMA).pow(pl.col("bucket").cast(pl.Float64)) / (GAMMA + 1)
    clamped = pl.min_horizontal(pl.max_horizontal(estimate, pl.col("low")), pl.col("high"))
    return pl.when(pl.col("bucket") == ZERO_BUCKET).then(0.0).otherwise(clamped)


def histogram_percentiles(histogram: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Per group of the ``by`` columns: ``samples``, ``p50``, ``p75``, ``p95`` from histogram rows
    (``by`` columns, ``bucket``, ``samples``, ``low``, ``high``; other columns are ignored).

    Linear interpolation between the order statistics around each rank ``q·(n-1)``, as polars'
    and numpy's default; each order statistic is its bucket's :func:`bucket_value`.
    """
    by = list(by)
    schema: dict[str, Any] = {name: histogram.schema[name] for name in by}
    schema.update({"samples": pl.UInt64, **{name: pl.Float64 for name, _ in PERCENTILES}})
    merged = (
        histogram.group_by([*by, "bucket"])
        .agg(pl.col("samples").sum(), pl.col("low").min(), pl.col("high").max())
        .filter(pl.col("samples") > 0)
        .sort([*by, "bucket"])
    )
    if merged.is_empty():
        return pl.DataFrame(schema=schema)
    merged = merged.with_columns(_bucket_values().alias("_value"))
    groups = merged.partition_by(by, maintain_order=True) if by else [merged]
    rows = []
    for group in groups:
        cumulative = np.cumsum(group["samples"].to_numpy())
        values = group["_value"].to_numpy()
        total = int(cumulative[-1])
        row: list[Any] = list(group.select(by).row(0)) if by else []
        row.append(total)
        for _, level in PERCENTILES:
            rank = level * (total - 1)
            below = math.floor(rank)
            low = values[np.searchsorted(cumulative, below, side="right")]
            high = values[np.searchsorted(cumulative, min(below + 1, total - 1), side="right")]
            row.append(float(low + (rank - below) * (high - low)))
        rows.append(row)
    return pl.DataFrame(rows, schema=schema, orient="row")


def _rating_shares(histogram: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Per group of ``by``: the share (0–1) of samples rated good, needs improvement and poor."""
    by = list(by)
    totals = histogram.group_by(by or pl.lit(0).alias("_all")).agg(
        *(pl.col("samples").filter(pl.col("rating") == rating).sum().alias(rating) for rating in vitals.RATINGS),
        pl.col("samples").sum().alias("_total"),
    )
    shares = totals.select(
        *(by or [pl.col("_all")]),
        *(pl.when(pl.col("_total") > 0).then(pl.col(rating) / pl.col("_total")).otherwise(None)
          .cast(pl.Float64).alias(rating.replace("-", "_")) for rating in vitals.RATINGS),
    )
    return shares if by else shares.drop("_all")


def _rollup_frame(client: Client, sql: str, parameters: dict[str, Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """:func:`_frame` for a query over rollups (read with FINAL, never merging across partitions)."""
    return _frame(client, sql, parameters, schema, _ROLLUP_SETTINGS)


def _time_axis(filters: Filters, bucket_minutes: int) -> list[datetime]:
    """Every bucket start (UTC, aligned as ClickHouse's toStartOfInterval) from the bucket holding
    ``filters.start`` up to ``filters.end``."""
    width = timedelta(minutes=bucket_minutes)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    first = epoch + ((filters.start - epoch) // width) * width
    buckets = -(-(filters.end - first) // width)  # rounded up
    return [first + n * width for n in range(buckets)]


def _whole_hours(filters: Filters) -> tuple[datetime, datetime]:
    """The first and the end of the whole hours inside the range (equal, or crossed, if none)."""
    hour = timedelta(hours=1)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    first = epoch + -(-(filters.start - epoch) // hour) * hour  # rounded up to a whole hour
    last = epoch + ((filters.end - epoch) // hour) * hour  # rounded down
    return first, last


def _tiers(filters: Filters, bucket_minutes: int | None, missing: Sequence[str], fine: bool = False) -> dict[str, str]:
    """The whole hours of the range an hourly rollup answers (``hours_start``, ``hours_end``);
    an empty span when it cannot: a filter on a dimension it lacks (``missing``) is set, the
    answer is grouped by one (``fine``), or per bucket narrower than an hour."""
    first, last = _whole_hours(filters)
    usable = (first < last and not fine and not any(getattr(filters, name) for name in missing)
              and (bucket_minutes is None or bucket_minutes % 60 == 0))
    if not usable:
        first = last = filters.start
    return {"hours_start": _clickhouse_time(first), "hours_end": _clickhouse_time(last)}


def _check_bucket(bucket_minutes: int) -> None:
    if bucket_minutes < 1:
        raise ValueError(f"bucket_minutes must be at least 1, got {bucket_minutes}")


# ── Web Vitals (rollup web_vitals_minute) ────────────────────────────────────────────────

# what a breakdown can group by: the name people pick → the rollup's column
BREAKDOWNS: dict[str, str] = {
    "route": "path", "device": "toString(device)", "browser": "toString(browser)", "country": "toString(country)",
    "release": "toString(release)", "connection": "toString(connection_type)", "environment": "toString(environment)",
}
_TIME_BUCKET = "toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC')"

# The Web Vital rows of a range: the whole hours from web_vitals_hour when it can answer
# (no route, device, browser or country filter or breakdown; see _tiers), the other minutes
# from web_vitals_minute. Dimensions the hourly rollup lacks read as ''.
_VITAL_ROWS = """
    SELECT minute, vital_name, path, toString(device) AS device, toString(browser) AS browser,
           toString(country) AS country, toString(release) AS release, toString(connection_type) AS connection_type,
           toString(environment) AS environment, rating, bucket, samples, low, high
    FROM web_vitals_minute FINAL
    WHERE project_id = {project_id:UInt32}
      AND ({vital:String} = '' OR vital_name = {vital:String})
      AND minute >= {start:DateTime64(3, 'UTC')}
      AND minute < {end:DateTime64(3, 'UTC')}
      AND NOT (minute >= {hours_start:DateTime64(3, 'UTC')} AND minute < {hours_end:DateTime64(3, 'UTC')})
""" + DIMENSIONS + """
    UNION ALL
    SELECT hour AS minute, vital_name, '' AS path, '' AS device, '' AS browser, '' AS country,
           toString(release) AS release, '' AS connection_type, toString(environment) AS environment,
           rating, bucket, samples, low, high
    FROM web_vitals_hour FINAL
    WHERE project_id = {project_id:UInt32}
      AND ({vital:String} = '' OR vital_name = {vital:String})
      AND hour >= {hours_start:DateTime64(3, 'UTC')}
      AND hour < {hours_end:DateTime64(3, 'UTC')}
      AND ({environment:String} = '' OR environment = {environment:String})
      AND ({release:String} = '' OR release = {release:String})
"""
_VITAL_HISTOGRAM = """
SELECT
    $group AS key,
    bucket,
    toString(rating) AS rating,
    sum(length(samples)) AS samples,
    min(low) AS low,
    max(high) AS high
FROM (""" + _VITAL_ROWS + """)
GROUP BY key, bucket, rating
"""
VITAL_HISTOGRAM_BY: dict[str, str] = {
    group: _VITAL_HISTOGRAM.replace("$group", expression)
    for group, expression in {"vital": "toString(vital_name)", "time": _TIME_BUCKET, "bucket": "''",
                              **BREAKDOWNS}.items()
}
_HISTOGRAM_ROWS = {"bucket": pl.Int16, "rating": pl.String, "samples": pl.UInt64, "low": pl.Float64, "high": pl.Float64}
_SHARES = {"good": pl.Float64, "needs_improvement": pl.Float64, "poor": pl.Float64}
# what the hourly Web Vitals rollup cannot filter or group by
_NOT_IN_VITALS_HOUR = ("route", "device", "browser", "country", "connection")


def _vital_histogram(client: Client, filters: Filters, vital: str, group: str, key_type: pl.DataType,
                     bucket_minutes: int | None = None) -> pl.DataFrame:
    fine = group in _NOT_IN_VITALS_HOUR
    parameters = {**filters.parameters(), "vital": vital, "bucket_minutes": bucket_minutes or 1,
                  **_tiers(filters, bucket_minutes, ("route", "device", "browser", "country"), fine)}
    return _rollup_frame(client, VITAL_HISTOGRAM_BY[group], parameters, {"key": key_type, **_HISTOGRAM_ROWS})


def _rated(frame: pl.DataFrame, vital_of: str | None = None, vital: str = "") -> pl.DataFrame:
    """``frame`` with ``rating``: its p75 rated with pipeline.vitals' thresholds (the vital named
    in column ``vital_of``, or ``vital`` for every row)."""
    names = frame[vital_of].to_list() if vital_of else [vital] * frame.height
    ratings = [vitals.rate(name, p75) if name in vitals.THRESHOLDS else None for name, p75 in zip(names, frame["p75"])]
    return frame.with_columns(pl.Series("rating", ratings, dtype=pl.String))


def vital_summary(client: Client, filters: Filters) -> pl.DataFrame:
    """Per Web Vital measured in the range, in :data:`pipeline.vitals.VITAL_NAMES` order: ``vital``,
    ``samples``, ``p50``, ``p75``, ``p95``, ``rating`` (of the p75, as Google assesses a page) and
    the shares of samples rated ``good``, ``needs_improvement`` and ``poor`` (0–1). From the rollup:
    whole minutes, percentiles within 1 %."""
    histogram = _vital_histogram(client, filters, "", "vital", pl.String).rename({"key": "vital"})
    percentiles = histogram_percentiles(histogram, ["vital"])
    frame = _rated(percentiles, vital_of="vital").join(_rating_shares(histogram, ["vital"]), on="vital", how="left")
    order = {name: index for index, name in enumerate(vitals.VITAL_NAMES)}
    return (frame.with_columns(pl.col("vital").replace_strict(order, default=len(order)).alias("_order"))
            .sort("_order", "vital").drop("_order")
            .select("vital", "samples", "p50", "p75", "p95", "rating", *_SHARES))


# Both periods' exact p75 in one pass over the raw Web Vitals (the sort key starts with
# project_id, type, timestamp: only the two periods' web_vital rows are read).
VITAL_P75_CHANGE = """
SELECT
    toString(vital_name) AS vital,
    countIf(timestamp >= {start:DateTime64(3, 'UTC')}) AS samples,
    countIf(timestamp < {start:DateTime64(3, 'UTC')}) AS samples_before,
    quantileExactInclusiveIf(0.75)(vital_value, timestamp >= {start:DateTime64(3, 'UTC')}) AS p75,
    quantileExactInclusiveIf(0.75)(vital_value, timestamp < {start:DateTime64(3, 'UTC')}) AS p75_before
FROM events FINAL
WHERE type = 'web_vital'
  AND project_id = {project_id:UInt32}
  AND timestamp >= {previous_start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
""" + DIMENSIONS + """
GROUP BY vital
ORDER BY vital
"""


def vital_p75_change(client: Client, filters: Filters) -> pl.DataFrame:
    """Per Web Vital measured in the range or the period of the same length before it: ``vital``,
    ``p75`` and ``p75_before`` (exact, from the raw events; null without samples) and ``change``
    (their difference; null unless both periods have samples).

    The change of two rollup percentiles would carry both their errors (up to 1 % each: +80 ms
    shown for a true +44 ms, or +0 ms when both fall in one histogram bucket); this one is exact.
    """
    parameters = {**filters.parameters(), "previous_start": _clickhouse_time(filters.previous().start)}
    frame = _frame(client, VITAL_P75_CHANGE, parameters, {
        "vital": pl.String, "samples": pl.UInt64, "samples_before": pl.UInt64,
        "p75": pl.Float64, "p75_before": pl.Float64,
    }, _ROLLUP_SETTINGS)  # events are partitioned by month too, and a replayed event keeps its timestamp
    return frame.select(
        "vital",
        pl.when(pl.col("samples") > 0).then(pl.col("p75")).alias("p75"),
        pl.when(pl.col("samples_before") > 0).then(pl.col("p75_before")).alias("p75_before"),
    ).with_columns((pl.col("p75") - pl.col("p75_before")).alias("change"))


def vital_trend(client: Client, filters: Filters, vital: str, bucket_minutes: int = 1) -> pl.DataFrame:
    """One Web Vital over time: ``time`` (bucket start, UTC), ``samples``, ``p50``, ``p75``, ``p95``
    per bucket of ``bucket_minutes``; buckets without samples are absent."""
    _check_bucket(bucket_minutes)
    histogram = _vital_histogram(client, filters, vital, "time", UTC_MS, bucket_minutes).rename({"key": "time"})
    return histogram_percentiles(histogram, ["time"]).sort("time")


def vital_histogram(client: Client, filters: Filters, vital: str) -> pl.DataFrame:
    """The distribution of one Web Vital: per histogram bucket and rating, ``lower`` and ``upper``
    (the bucket's bounds: values in (lower, upper]), ``value`` (what its samples read as),
    ``rating`` and ``samples``; ordered by value."""
    histogram = _vital_histogram(client, filters, vital, "bucket", pl.String).drop("key")
    schema = {"bucket": pl.Int16, "lower": pl.Float64, "upper": pl.Float64, "value": pl.Float64,
              "rating": pl.String, "samples": pl.UInt64}
    if histogram.is_empty():
        return pl.DataFrame(schema=schema)
    merged = histogram.group_by("bucket", "rating").agg(pl.col("samples").sum(), pl.col("low").min(),
                                                        pl.col("high").max()).sort("bucket", "rating")
    zero = pl.col("bucket") == ZERO_BUCKET
    return merged.with_columns(
        pl.when(zero).then(0.0).otherwise(pl.lit(GAMMA).pow(pl.col("bucket").cast(pl.Float64) - 1)).alias("lower"),
        pl.when(zero).then(0.0).otherwise(pl.lit(GAMMA).pow(pl.col("bucket").cast(pl.Float64))).alias("upper"),
        _bucket_values().alias("value"),
    ).select(list(schema)).cast(schema)


def vital_breakdown(client: Client, filters: Filters, vital: str, dimension: str, limit: int = 50) -> pl.DataFrame:
    """One Web Vital by ``dimension`` (a key of :data:`BREAKDOWNS`: route, device, browser, country,
    release, connection, environment): ``value``, ``samples``, ``p50``, ``p75``, ``p95``,
    ``rating`` (of the p75) and the ``good`` / ``needs_improvement`` / ``poor`` shares; the
    ``limit`` values with the most samples, most first. Empty values (e.g. no country) are ``""``."""
    if dimension not in BREAKDOWNS:
        raise ValueError(f"cannot break down by {dimension!r}; choose one of {', '.join(BREAKDOWNS)}")
    histogram = _vital_histogram(client, filters, vital, dimension, pl.String).rename({"key": "value"})
    percentiles = histogram_percentiles(histogram, ["value"])
    frame = _rated(percentiles, vital=vital).join(_rating_shares(histogram, ["value"]), on="value", how="left")
    return (frame.sort(["samples", "value"], descending=[True, False]).head(limit)
            .select("value", "samples", "p50", "p75", "p95", "rating", *_SHARES))


# ── Web Vitals drill-down (raw events: exact, for the ranges people drill into) ──────────

VITAL_ATTRIBUTION = """
SELECT
    target,
    count() AS samples,
    quantileExactInclusive(0.75)(vital_value) AS p75
FROM events FINAL
WHERE type = 'web_vital'
  AND vital_name = {vital:String}
  AND """ + _IN_RANGE + """
GROUP BY target
ORDER BY samples DESC, target
LIMIT {limit:UInt32}
"""


def vital_attribution(client: Client, filters: Filters, vital: str, limit: int = 10) -> pl.DataFrame:
    """What the SDK blamed for a Web Vital — the LCP element, the INP interaction's target:
    ``target`` (a CSS selector; ``""`` when not attributed), ``samples``, exact ``p75`` and its
    ``rating``; the ``limit`` targets with the most samples."""
    frame = _frame(client, VITAL_ATTRIBUTION, {**filters.parameters(), "vital": vital, "limit": limit},
                   {"target": pl.String, "samples": pl.UInt64, "p75": pl.Float64})
    return _rated(frame, vital=vital)


NAVIGATION_PHASES = ("redirect", "dns", "tcp", "tls", "request", "response", "dom", "load")

NAVIGATION_TIMING = """
SELECT
    phase,
    count() AS samples,
    avg(ms) AS mean,
    quantileExactInclusive(0.75)(ms) AS p75
FROM events FINAL
ARRAY JOIN mapKeys(timings) AS phase, mapValues(timings) AS ms
WHERE type = 'web_vital'
  AND vital_name = 'LOAD'
  AND """ + _IN_RANGE + """
GROUP BY phase
"""


def navigation_timing(client: Client, filters: Filters) -> pl.DataFrame:
    """Where a page load's time goes (Navigation Timing, from the LOAD measurements' breakdown):
    per ``phase`` in load order (redirect, dns, tcp, tls, request, response, dom, load) its
    ``samples``, ``mean`` ms and exact ``p75`` ms, and ``offset``: the sum of the means before
    it, so the phases draw as a waterfall of the average page load."""
    frame = _frame(client, NAVIGATION_TIMING, filters.parameters(),
                   {"phase": pl.String, "samples": pl.UInt64, "mean": pl.Float64, "p75": pl.Float64})
    order = {name: index for index, name in enumerate(NAVIGATION_PHASES)}
    frame = (frame.with_columns(pl.col("phase").replace_strict(order, default=len(order)).alias("_order"))
             .sort("_order", "phase").drop("_order"))
    return frame.with_columns((pl.col("mean").cum_sum() - pl.col("mean")).alias("offset"))


SLOWEST_RESOURCES = """
SELECT
    http_url AS resource,
    any(toString(initiator)) AS initiator,
    count() AS loads,
    quantilesExactInclusive(0.5, 0.75)(duration_ms) AS durations,  -- one sort for both
    durations[1] AS p50,
    durations[2] AS p75,
    toUInt64(quantileExactInclusive(0.5)(transfer_size)) AS transfer_size
FROM events FINAL
WHERE type = 'resource'
  AND """ + _IN_RANGE + """
GROUP BY resource
HAVING loads >= {min_loads:UInt32}
ORDER BY p75 DESC, resource
LIMIT {limit:UInt32}
"""


def slowest_resources(client: Client, filters: Filters, limit: int = 15, min_loads: int = 1) -> pl.DataFrame:
    """The resources (scripts, styles, images, fonts) slowest to load at the 75th percentile:
    ``resource`` (URL), ``initiator``, ``loads``, exact ``p50`` and ``p75`` ms and the median
    ``transfer_size`` in bytes; those loaded fewer than ``min_loads`` times are left out."""
    return _frame(client, SLOWEST_RESOURCES, {**filters.parameters(), "limit": limit, "min_loads": min_loads},
                  {"resource": pl.String, "initiator": pl.String, "loads": pl.UInt64, "p50": pl.Float64,
                   "p75": pl.Float64, "transfer_size": pl.UInt64})


# ── traffic (rollup traffic_minute) ──────────────────────────────────────────────────────

# The traffic rows of a range: the whole hours from traffic_hour when it can answer (no
# device, browser or country filter; see _tiers), the other minutes from traffic_minute.
_TRAFFIC_ROWS = """
    SELECT minute, toString(type) AS type, path, events, visitors, sessions
    FROM traffic_minute FINAL
    WHERE project_id = {project_id:UInt32}
      AND minute >= {start:DateTime64(3, 'UTC')}
      AND minute < {end:DateTime64(3, 'UTC')}
      AND NOT (minute >= {hours_start:DateTime64(3, 'UTC')} AND minute < {hours_end:DateTime64(3, 'UTC')})
""" + DIMENSIONS + """
    UNION ALL
    SELECT hour AS minute, toString(type) AS type, path, events, visitors, sessions
    FROM traffic_hour FINAL
    WHERE project_id = {project_id:UInt32}
      AND hour >= {hours_start:DateTime64(3, 'UTC')}
      AND hour < {hours_end:DateTime64(3, 'UTC')}
      AND ({environment:String} = '' OR environment = {environment:String})
      AND ({release:String} = '' OR release = {release:String})
      AND ({route:String} = '' OR path LIKE {route:String})
"""
_NOT_IN_TRAFFIC_HOUR = ("device", "browser", "country")


def _traffic_parameters(filters: Filters, bucket_minutes: int | None = None, **more: Any) -> dict[str, Any]:
    return {**filters.parameters(), "bucket_minutes": bucket_minutes or 1,
            **_tiers(filters, bucket_minutes, _NOT_IN_TRAFFIC_HOUR), **more}


# Without a route filter, who came is read from the audience rollups (070_audience_rollups.sql):
# each visitor and session once per minute or hour and dimensions, not once per page and event
# type as in the traffic rollups, so a week's uniques union a tenth of the hashes.

# an audience rollup's edge minutes (outside the whole hours), and its whole hours, of the filters
_EDGE_MINUTES = """project_id = {project_id:UInt32}
      AND minute >= {start:DateTime64(3, 'UTC')}
      AND minute < {end:DateTime64(3, 'UTC')}
      AND NOT (minute >= {hours_start:DateTime64(3, 'UTC')} AND minute < {hours_end:DateTime64(3, 'UTC')})
""" + DIMENSIONS_BUT_ROUTE
_HOURS = """project_id = {project_id:UInt32}
      AND hour >= {hours_start:DateTime64(3, 'UTC')}
      AND hour < {hours_end:DateTime64(3, 'UTC')}
"""
_HOURS_IN_RANGE = _HOURS + """      AND ({environment:String} = '' OR environment = {environment:String})
      AND ({release:String} = '' OR release = {release:String})
"""
_AUDIENCE_ROWS = """
    SELECT minute, events, page_views, errors, visitors, sessions
    FROM audience_minute FINAL
    WHERE """ + _EDGE_MINUTES + """
    UNION ALL
    SELECT hour AS minute, events, page_views, errors, visitors, sessions
    FROM audience_hour FINAL
    WHERE """ + _HOURS_IN_RANGE

# Totals over whole hours also count events, page views and errors, and a week of those sets is
# ~10M hashes (~80 MB) to read and merge under FINAL only for their sizes. So totals take those
# counts from the sealed counts (073_sealed_audience_hours.sql) for every hour whose latest seal
# is newer than its latest insert, and length() of the sets only for the other hours. ClickHouse
# reads a column whole, so the sealed hours' part never names the event sets; visitors and
# sessions (which do not add across hours) are still the union of every hour's and edge minute's
# sets. (The trend counts page views only, a set small enough that reading it beats the seal's
# bookkeeping: it stays on _AUDIENCE_ROWS.)


def _latest_per_hour(table: str, column: str) -> str:
    """The latest ``column`` of each whole hour of the range in ``table`` (constant names only)."""
    return f"SELECT hour, max({column}) AS {column} FROM {table} WHERE {_HOURS} GROUP BY hour"


# the whole hours of the range whose counts are sealed and untouched since: their latest seal
_SEALED_HOURS = f"""
        SELECT sealed.hour AS hour, sealed.sealed_at AS sealed_at
        FROM ({_latest_per_hour("audience_hour_counts", "sealed_at")}) AS sealed
        LEFT JOIN ({_latest_per_hour("audience_hour_touched", "touched_at")}) AS touched
            ON touched.hour = sealed.hour
        WHERE sealed.sealed_at > ifNull(touched.touched_at, toDateTime64(0, 3, 'UTC'))
"""
# computed once per query (a scalar subquery is a constant, where a subquery in IN would run once
# per use): the sealed hours with their seals, and the other whole hours of the range — arrays
# that has() filters by with the primary key, so a sealed hour's event sets are not even read
_SEALED_AND_LIVE = """
WITH (SELECT groupArray((hour, sealed_at)) FROM (""" + _SEALED_HOURS + """)) AS sealed_hours,
     arrayFilter(h -> NOT has(sealed_hours.1, h),
                 arrayMap(n -> toDateTime({hours_start:DateTime64(3, 'UTC')}, 'UTC') + toIntervalHour(n),
                          range(toUInt64(dateDiff('hour', {hours_start:DateTime64(3, 'UTC')},
                                                  {hours_end:DateTime64(3, 'UTC')}))))) AS live_hours"""
_NO_HASHES = "CAST([] AS Array(UInt64))"
_SEALED_AUDIENCE_ROWS = """
    SELECT minute, length(page_views) AS page_view_count, length(errors) AS error_count,
           length(events) AS event_count, visitors, sessions
    FROM audience_minute FINAL
    WHERE """ + _EDGE_MINUTES + """
    UNION ALL
    SELECT hour AS minute, toUInt64(0), toUInt64(0), toUInt64(0), visitors, sessions
    FROM audience_hour FINAL
    WHERE """ + _HOURS_IN_RANGE + """
    UNION ALL
    SELECT hour AS minute, length(page_views), length(errors), length(events), """ + _NO_HASHES + ", " + _NO_HASHES + """
    FROM audience_hour FINAL
    WHERE """ + _HOURS_IN_RANGE + """
      AND has(live_hours, hour)
    UNION ALL
    SELECT hour AS minute, page_views, errors, events, """ + _NO_HASHES + ", " + _NO_HASHES + """
    FROM audience_hour_counts FINAL
    WHERE """ + _HOURS_IN_RANGE + """
      AND has(sealed_hours, (hour, sealed_at))
"""
# the same questions per source: audience rows count each kind of event in a set of its own
# (sealed: or in the sealed counts), traffic rows (route filter set) have one set of events per type
_COUNTED = {
    "audience": {"page_views": "length(page_views)", "errors": "length(errors)", "events": "length(events)",
                 "with": "", "rows": _AUDIENCE_ROWS},
    "sealed": {"page_views": "page_view_count", "errors": "error_count", "events": "event_count",
               "with": _SEALED_AND_LIVE, "rows": _SEALED_AUDIENCE_ROWS},
    "traffic": {"page_views": "if(type = 'page_view', length(events), 0)",
                "errors": "if(type = 'error', length(events), 0)", "events": "length(events)",
                "with": "", "rows": _TRAFFIC_ROWS},
}
# (the counts get names of their own first: an alias equal to a column's name would replace it)
_COUNTED_ROWS = """
    SELECT minute, $page_views AS viewed, $errors AS failed, $events AS counted, visitors, sessions
    FROM ($rows)
"""
_TRAFFIC_TOTALS = """$with
SELECT
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS unique_visitors,
    length(groupUniqArrayArray(sessions)) AS sessions,
    sum(failed) AS errors,
    sum(counted) AS events
FROM (""" + _COUNTED_ROWS + """)
"""
_TRAFFIC_TREND = """$with
SELECT
    """ + _TIME_BUCKET + """ AS time,
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS visitors,
    length(groupUniqArrayArray(sessions)) AS sessions
FROM (""" + _COUNTED_ROWS + """)
GROUP BY time
ORDER BY time
"""


def _counted(template: str) -> dict[str, str]:
    """``template`` written out for each source of :data:`_COUNTED` (fixed fragments only)."""
    written = {}
    for source, fragments in _COUNTED.items():
        sql = template
        for name in ("page_views", "errors", "events", "with", "rows"):  # with, rows last: no $ names in them
            sql = sql.replace(f"${name}", fragments[name])
        written[source] = sql
    return written


TRAFFIC_TOTALS = _counted(_TRAFFIC_TOTALS)
TRAFFIC_TREND = _counted(_TRAFFIC_TREND)


# From how many whole hours on totals read the sealed counts: the seal's bookkeeping (which hours
# are sealed, two more reads) costs ~20 ms, the event sets it spares ~0.3 ms per hour (on
# bench/warehouse.py's 10M events, A/B on a busy machine: 20 ms slower at 1 h and 24 h, even at
# 48 h, 10 ms faster at 72 h, 25–35 ms faster at 7 d)
SEALED_FROM = timedelta(hours=72)


def _traffic_source(filters: Filters, sealed: bool = False) -> str:
    """The rollups that answer traffic for these filters: the audience ones unless a route is picked
    (``sealed``: with the sealed hours' counts, when the range has :data:`SEALED_FROM` of whole
    hours the hourly rollup answers)."""
    if filters.route:
        return "traffic"
    first, last = _whole_hours(filters)
    hourly = not any(getattr(filters, name) for name in _NOT_IN_TRAFFIC_HOUR)
    return "sealed" if sealed and hourly and last - first >= SEALED_FROM else "audience"


def traffic_totals(client: Client, filters: Filters) -> pl.DataFrame:
    """One row, from the rollups (whole minutes): ``page_views`` (PV), ``unique_visitors`` (UV:
    visitor ids with any event), ``sessions`` (session ids with any event), ``errors`` and
    ``events``. :func:`traffic_summary` answers the same from raw events, exact to the ms."""
    frame = _rollup_frame(client, TRAFFIC_TOTALS[_traffic_source(filters, sealed=True)], _traffic_parameters(filters), {
        "page_views": pl.UInt64, "unique_visitors": pl.UInt64, "sessions": pl.UInt64,
        "errors": pl.UInt64, "events": pl.UInt64,
    })
    return frame.fill_null(0)


def traffic_trend(client: Client, filters: Filters, bucket_minutes: int = 1) -> pl.DataFrame:
    """PV, UV and sessions per bucket of ``bucket_minutes``: ``time`` (bucket start, UTC),
    ``page_views``, ``visitors``, ``sessions`` (distinct within each bucket); empty buckets absent."""
    _check_bucket(bucket_minutes)
    return _rollup_frame(client, TRAFFIC_TREND[_traffic_source(filters)], _traffic_parameters(filters, bucket_minutes),
                         {"time": UTC_MS, "page_views": pl.UInt64, "visitors": pl.UInt64, "sessions": pl.UInt64})


EVENTS_BY_TYPE = """
SELECT
    """ + _TIME_BUCKET + """ AS time,
    type,
    sum(length(events)) AS counted
FROM (""" + _TRAFFIC_ROWS + """)
GROUP BY time, type
HAVING counted > 0
ORDER BY time, type
"""


def events_by_type(client: Client, filters: Filters, bucket_minutes: int = 1) -> pl.DataFrame:
    """Events per bucket of ``bucket_minutes`` and type, from the rollups: ``minute`` (bucket start,
    UTC), ``type``, ``events`` — :func:`events_per_minute`'s answer, in whole minutes."""
    _check_bucket(bucket_minutes)
    return _rollup_frame(client, EVENTS_BY_TYPE, _traffic_parameters(filters, bucket_minutes),
                         {"time": UTC_MS, "type": pl.String, "counted": pl.UInt64}
                         ).rename({"time": "minute", "counted": "events"})


# per page without the event type: whole hours from page_audience_hour (072), the edges from traffic_minute
_PAGE_ROWS = """
    SELECT path, if(type = 'page_view', length(events), 0) AS viewed, visitors
    FROM traffic_minute FINAL
    WHERE """ + _MINUTES_IN_RANGE + """
      AND NOT (minute >= {hours_start:DateTime64(3, 'UTC')} AND minute < {hours_end:DateTime64(3, 'UTC')})
    UNION ALL
    SELECT path, length(page_views) AS viewed, visitors
    FROM page_audience_hour FINAL
    WHERE project_id = {project_id:UInt32}
      AND hour >= {hours_start:DateTime64(3, 'UTC')}
      AND hour < {hours_end:DateTime64(3, 'UTC')}
      AND ({environment:String} = '' OR environment = {environment:String})
      AND ({release:String} = '' OR release = {release:String})
      AND ({route:String} = '' OR path LIKE {route:String})
"""
TOP_PAGES = """
SELECT
    path,
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS visitors
FROM (""" + _PAGE_ROWS + """)
GROUP BY path
HAVING page_views > 0
ORDER BY page_views DESC, path
LIMIT {limit:UInt32}
"""


def top_pages(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """The most viewed pages: ``path``, ``page_views``, ``visitors`` (with any event on the page)."""
    return _rollup_frame(client, TOP_PAGES, _traffic_parameters(filters, limit=limit),
                         {"path": pl.String, "page_views": pl.UInt64, "visitors": pl.UInt64})


# the visitors' dimensions from the sessions of the range, the routes from the hourly traffic
# (whole hours around it): both small, so the sidebar opens fast; no FINAL needed for a list
FILTER_OPTIONS = """
SELECT environment, release, route, device, browser, country
FROM
(
    SELECT
        topK({limit:UInt32})(toString(environment)) AS environment,
        topK({limit:UInt32})(toString(release)) AS release,
        topK({limit:UInt32})(toString(device)) AS device,
        topK({limit:UInt32})(toString(browser)) AS browser,
        topK({limit:UInt32})(toString(country)) AS country
    FROM sessions
    WHERE project_id = {project_id:UInt32}
      AND started >= {start:DateTime64(3, 'UTC')}
      AND started < {end:DateTime64(3, 'UTC')}
) AS visitors
CROSS JOIN
(
    SELECT topK({limit:UInt32})(path) AS route
    FROM traffic_hour
    WHERE project_id = {project_id:UInt32}
      AND hour >= toStartOfHour({start:DateTime64(3, 'UTC')})
      AND hour < {end:DateTime64(3, 'UTC')}
      AND type = 'page_view'
) AS routes
"""


def filter_options(client: Client, filters: Filters, limit: int = 200) -> dict[str, list[str]]:
    """The values each dimension filter can take in the range (whatever the dimension filters
    are): ``{"environment": [...], "release": [...], "route": [...], "device": [...],
    "browser": [...], "country": [...]}``, the most frequent first (up to ``limit``) — from the
    sessions that started in the range and the pages viewed in its hours; a missing country is
    :data:`UNKNOWN_COUNTRY`, other empty values are left out."""
    rows = client.query(FILTER_OPTIONS, parameters={**filters.parameters(), "limit": limit}).named_results()
    found = next(iter(rows), {})
    options: dict[str, list[str]] = {}
    for dimension in DIMENSION_NAMES:
        values = list(found.get(dimension) or [])
        if dimension == "country":
            values = [value or UNKNOWN_COUNTRY for value in values]
        options[dimension] = [value for value in values if value]
    return options


# ── sessions (rollup sessions): bounce, duration, entry and exit, acquisition ────────────
# A session is in the range when it started in it. The route filter matches its entry page.

_SESSIONS = """
(
    SELECT
        session_id,
        visitor_id,
        started,
        ended,
        length(page_views) AS pages,
        length(errors) AS error_events,
        finalizeAggregation(entry_page) AS entry,
        finalizeAggregation(exit_page) AS exit,
        finalizeAggregation(entry_referrer) AS entry_referrer,
        finalizeAggregation(entry_url) AS entry_url,
        -- (referrer_source, utm_source, utm_medium, utm_campaign) of the entry page view (074);
        -- '' as the source: the events predate the processor's traffic sources (040)
        finalizeAggregation(entry_traffic_source) AS traffic_source,
        tupleElement(traffic_source, 1) AS entry_source
    FROM sessions FINAL
    WHERE project_id = {project_id:UInt32}
      AND started >= {start:DateTime64(3, 'UTC')}
      AND started < {end:DateTime64(3, 'UTC')}
      AND ({environment:String} = '' OR environment = {environment:String})
      AND ({release:String} = '' OR release = {release:String})
      AND ({device:String} = '' OR device = {device:String})
      AND ({browser:String} = '' OR browser = {browser:String})
      AND ({country:String} = '' OR country = {country_code:String})
)
WHERE pages > 0 AND ({route:String} = '' OR entry LIKE {route:String})
"""

SESSION_SUMMARY = """
SELECT
    count() AS sessions,
    countIf(pages = 1) AS bounces,
    countIf(error_events > 0) AS with_errors,
    avg(pages) AS pages_per_session,
    quantileExactInclusive(0.5)(dateDiff('millisecond', started, ended)) / 1000 AS median_duration_s
FROM """ + _SESSIONS


def session_summary(client: Client, filters: Filters) -> pl.DataFrame:
    """One row about the sessions that started in the range (with a page view): ``sessions``,
    ``bounces`` (one page view), ``bounce_rate``, ``with_errors`` (met an error of any kind),
    ``error_rate`` (their share), ``pages_per_session`` and ``median_duration_s`` (first to last
    event). Rates and averages are null without sessions."""
    frame = _rollup_frame(client, SESSION_SUMMARY, filters.parameters(), {
        "sessions": pl.UInt64, "bounces": pl.UInt64, "with_errors": pl.UInt64,
        "pages_per_session": pl.Float64, "median_duration_s": pl.Float64,
    })
    none = pl.col("sessions") == 0
    return frame.with_columns(
        pl.when(none).then(None).otherwise(pl.col("bounces") / pl.col("sessions")).alias("bounce_rate"),
        pl.when(none).then(None).otherwise(pl.col("with_errors") / pl.col("sessions")).alias("error_rate"),
        pl.when(none).then(None).otherwise(pl.col("pages_per_session")).alias("pages_per_session"),
        pl.when(none).then(None).otherwise(pl.col("median_duration_s")).alias("median_duration_s"),
    ).select("sessions", "bounces", "bounce_rate", "with_errors", "error_rate", "pages_per_session",
             "median_duration_s")


_SESSIONS_BY = """
SELECT $key AS $name, count() AS sessions, countIf(pages = 1) / count() AS bounce_rate
FROM """ + _SESSIONS + """
GROUP BY $name
ORDER BY sessions DESC, $name
LIMIT {limit:UInt32}
"""


def _sessions_by(key: str, name: str) -> str:
    """Sessions and their bounce rate per value of ``key`` (an expression over :data:`_SESSIONS`'
    columns) named ``name``; both are this module's fixed fragments, never input."""
    return _SESSIONS_BY.replace("$key", key).replace("$name", name)


ENTRY_PAGES = _sessions_by("entry", "page")
EXIT_PAGES = _sessions_by("exit", "page")
# the processor's name for the entry page view's source (074_session_sources.sql); a session
# whose events predate referrer_source (040) shows its referrer's host, or direct without one
SOURCES = _sessions_by(
    f"if(entry_source != '', entry_source, if(entry_referrer = '', '{DIRECT}', domainWithoutWWW(entry_referrer)))",
    "source")

CAMPAIGNS = """
SELECT
    -- the processor's decoded tags; for sessions from before it named them, the entry URL's
    if(entry_source != '', tupleElement(traffic_source, 2),
       decodeURLFormComponent(extractURLParameter(entry_url, 'utm_source'))) AS source,
    if(entry_source != '', tupleElement(traffic_source, 3),
       decodeURLFormComponent(extractURLParameter(entry_url, 'utm_medium'))) AS medium,
    if(entry_source != '', tupleElement(traffic_source, 4),
       decodeURLFormComponent(extractURLParameter(entry_url, 'utm_campaign'))) AS campaign,
    count() AS sessions,
    countIf(pages = 1) / count() AS bounce_rate
FROM """ + _SESSIONS + """
  AND (source != '' OR medium != '' OR campaign != '')
GROUP BY source, medium, campaign
ORDER BY sessions DESC, source, medium, campaign
LIMIT {limit:UInt32}
"""
_PAGE_SESSIONS = {"page": pl.String, "sessions": pl.UInt64, "bounce_rate": pl.Float64}


def entry_pages(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Where sessions started: ``page`` (path of their first page view), ``sessions``, ``bounce_rate``."""
    return _rollup_frame(client, ENTRY_PAGES, {**filters.parameters(), "limit": limit}, _PAGE_SESSIONS)


def exit_pages(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Where sessions ended: ``page`` (path of their last page view), ``sessions``, ``bounce_rate``."""
    return _rollup_frame(client, EXIT_PAGES, {**filters.parameters(), "limit": limit}, _PAGE_SESSIONS)


def sources(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Where sessions came from: ``source`` (the entry page view's ``referrer_source``: a tagged
    source, a known name such as ``Google``, the referrer's host, or ``Direct / None``),
    ``sessions``, ``bounce_rate``."""
    return _rollup_frame(client, SOURCES, {**filters.parameters(), "limit": limit},
                         {"source": pl.String, "sessions": pl.UInt64, "bounce_rate": pl.Float64})


def campaigns(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Sessions by their entry page view's UTM tags (decoded, as the processor stores them):
    ``source``, ``medium``, ``campaign``, ``sessions``, ``bounce_rate``; sessions without any
    utm_ tag are left out."""
    return _rollup_frame(client, CAMPAIGNS, {**filters.parameters(), "limit": limit},
                         {"source": pl.String, "medium": pl.String, "campaign": pl.String,
                          "sessions": pl.UInt64, "bounce_rate": pl.Float64})


# ── behaviour (raw events) ───────────────────────────────────────────────────────────────

TIME_ON_PAGE = """
SELECT
    path,
    count() AS views,
    quantilesExactInclusive(0.5, 0.75)(duration_ms) AS durations,  -- one sort for both
    durations[1] / 1000 AS median_s,
    durations[2] / 1000 AS p75_s
FROM events FINAL
WHERE type = 'time_on_page'
  AND """ + _IN_RANGE + """
GROUP BY path
ORDER BY views DESC, path
LIMIT {limit:UInt32}
"""


def time_on_page(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """How long pages stay visible (time_on_page events): ``path``, ``views``, exact ``median_s`` and ``p75_s``."""
    return _frame(client, TIME_ON_PAGE, {**filters.parameters(), "limit": limit},
                  {"path": pl.String, "views": pl.UInt64, "median_s": pl.Float64, "p75_s": pl.Float64})


TOP_CLICKS = """
SELECT
    target,
    click_text AS text,
    click_href AS href,
    count() AS clicks,
    uniqExact(visitor_id) AS visitors
FROM events FINAL
WHERE type = 'click'
  AND """ + _IN_RANGE + """
GROUP BY target, text, href
ORDER BY clicks DESC, target, text, href
LIMIT {limit:UInt32}
"""


def top_clicks(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """The most clicked elements: ``target`` (CSS selector, else element id), the element's
    ``text`` and a link's ``href`` (so one nav bar's links are rows of their own), ``clicks``,
    ``visitors``."""
    return _frame(client, TOP_CLICKS, {**filters.parameters(), "limit": limit},
                  {"target": pl.String, "text": pl.String, "href": pl.String,
                   "clicks": pl.UInt64, "visitors": pl.UInt64})


FORM_SUBMITS = """
SELECT
    target AS form,
    count() AS submits,
    uniqExact(session_id) AS sessions,
    uniqExact(visitor_id) AS visitors
FROM events FINAL
WHERE type = 'form_submit'
  AND """ + _IN_RANGE + """
GROUP BY form
ORDER BY submits DESC, form
LIMIT {limit:UInt32}
"""


def form_submits(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Forms submitted: ``form`` (form id, else name), ``submits``, ``sessions``, ``visitors``."""
    return _frame(client, FORM_SUBMITS, {**filters.parameters(), "limit": limit},
                  {"form": pl.String, "submits": pl.UInt64, "sessions": pl.UInt64, "visitors": pl.UInt64})


# ── errors (rollup error_groups_minute; one group's events from raw) ─────────────────────
# A group is a fingerprint (events.fingerprint, 002_event_dimensions.sql); ``error_group`` is
# its hex form, the id alert rules use. Status comes from error_group_states (005).

ERROR_GROUPS = """
SELECT
    lower(hex(groups.fingerprint)) AS error_group,
    groups.fingerprint AS fingerprint,
    kind, error_type, message, events, visitors, first_seen, last_seen,
    multiIf(states.saved_status = 'resolved' AND last_seen > states.saved_at, 'regressed',
            states.saved_status = '', 'unresolved', states.saved_status) AS status
FROM
(
    SELECT
        fingerprint,
        any(toString(kind)) AS kind,
        any(error_type) AS error_type,
        any(message) AS message,
        sumIf(length(events), minute >= {start:DateTime64(3, 'UTC')}) AS events,
        length(groupUniqArrayArrayIf(visitors, minute >= {start:DateTime64(3, 'UTC')})) AS visitors,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen
    FROM error_groups_minute FINAL
    WHERE project_id = {project_id:UInt32}
      AND minute < {end:DateTime64(3, 'UTC')}
""" + DIMENSIONS + """
    GROUP BY fingerprint
    HAVING events > 0
) AS groups
LEFT JOIN
(
    SELECT fingerprint, toString(status) AS saved_status, updated_at AS saved_at
    FROM error_group_states FINAL
    WHERE project_id = {project_id:UInt32}
) AS states ON groups.fingerprint = states.fingerprint
WHERE {status:String} = '' OR status = {status:String}
ORDER BY events DESC, error_group
LIMIT {limit:UInt32}
"""

ERROR_GROUP_TREND = """
SELECT
    fingerprint,
    """ + _TIME_BUCKET + """ AS time,
    sum(length(events)) AS events
FROM error_groups_minute FINAL
WHERE has({fingerprints:Array(UInt64)}, fingerprint)
  AND """ + _MINUTES_IN_RANGE + """
GROUP BY fingerprint, time
"""
ERROR_STATUSES = ("unresolved", "resolved", "ignored", "regressed")


def error_groups(client: Client, filters: Filters, bucket_minutes: int = 60, status: str = "",
                 limit: int = 100) -> pl.DataFrame:
    """The error groups with events in the range, most events first: ``error_group`` (hex id),
    ``fingerprint``, ``kind``, ``error_type``, ``message`` (one event's), ``events`` and
    ``visitors`` in the range, ``first_seen`` and ``last_seen`` (over all the group's history
    up to the range's end, same dimensions), ``status`` (unresolved, resolved, ignored, or
    regressed: resolved but seen since) and ``trend``: events per bucket of ``bucket_minutes``
    across the range, for a sparkline. ``status`` set: only groups in that status."""
    _check_bucket(bucket_minutes)
    if status and status not in ERROR_STATUSES:
        raise ValueError(f"unknown error group status {status!r}; choose one of {', '.join(ERROR_STATUSES)}")
    groups = _rollup_frame(client, ERROR_GROUPS, {**filters.parameters(), "status": status, "limit": limit}, {
        "error_group": pl.String, "fingerprint": pl.UInt64, "kind": pl.String, "error_type": pl.String,
        "message": pl.String, "events": pl.UInt64, "visitors": pl.UInt64, "first_seen": UTC_MS,
        "last_seen": UTC_MS, "status": pl.String,
    })
    axis = _time_axis(filters, bucket_minutes)
    trend = _rollup_frame(client, ERROR_GROUP_TREND, {
        **filters.parameters(), "bucket_minutes": bucket_minutes, "fingerprints": groups["fingerprint"].to_list(),
    }, {"fingerprint": pl.UInt64, "time": UTC_MS, "events": pl.UInt64})
    position = {moment: index for index, moment in enumerate(axis)}
    series: dict[int, list[int]] = {fingerprint: [0] * len(axis) for fingerprint in groups["fingerprint"]}
    for fingerprint, moment, count in trend.iter_rows():
        series[fingerprint][position[moment]] = count
    return groups.with_columns(pl.Series("trend", [series[f] for f in groups["fingerprint"]],
                                         dtype=pl.List(pl.UInt64)))


# ── error group summaries (table error_groups, 050_error_groups.sql, 052_error_group_samples.sql) ─
# A group's whole history in one small read — no time range, no dimension filters: what the
# group is (culprit frame, releases it appeared in, people affected), for a detail view or a
# list of groups by recency; ``error_groups`` above answers a range with filters.

ERROR_GROUP_SUMMARIES = """
SELECT
    lower(hex(groups.fingerprint)) AS error_group,
    groups.fingerprint AS fingerprint,
    kind, error_type, message, culprit, first_seen, last_seen, events, visitors, users, releases,
    multiIf(states.saved_status = 'resolved' AND last_seen > states.saved_at, 'regressed',
            states.saved_status = '', 'unresolved', states.saved_status) AS status
FROM
(
    SELECT
        fingerprint,
        any(toString(kind)) AS kind,
        any(error_type) AS error_type,
        argMinMerge(message) AS message,
        argMaxMerge(culprit) AS culprit,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen,
        sum(length(events)) AS events,
        length(groupUniqArrayArray(visitors)) AS visitors,
        length(groupUniqArrayArray(users)) AS users,
        arraySort(groupUniqArrayArray(releases)) AS releases
    FROM error_groups FINAL
    WHERE project_id = {project_id:UInt32}
      AND (empty({fingerprints:Array(UInt64)}) OR has({fingerprints:Array(UInt64)}, fingerprint))
    GROUP BY fingerprint
) AS groups
LEFT JOIN
(
    SELECT fingerprint, toString(status) AS saved_status, updated_at AS saved_at
    FROM error_group_states FINAL
    WHERE project_id = {project_id:UInt32}
) AS states ON groups.fingerprint = states.fingerprint
WHERE {status:String} = '' OR status = {status:String}
ORDER BY last_seen DESC, error_group
LIMIT {limit:UInt32}
"""


def error_group_summaries(client: Client, project_id: int, fingerprints: Sequence[int] = (), status: str = "",
                          limit: int = 100) -> pl.DataFrame:
    """Error groups over their whole history, most recently seen first: ``error_group``,
    ``fingerprint``, ``kind``, ``error_type``, ``message`` (the first event's), ``culprit`` (the
    latest event's top in-app frame, original when a source map was uploaded:
    ``priceOf (/src/cart.js:4)``),
    ``first_seen``, ``last_seen``, ``events``, ``visitors``, ``users`` (signed-in users),
    ``releases`` (sorted) and ``status``. ``fingerprints``: only those groups; ``status``: only
    groups in it."""
    if status and status not in ERROR_STATUSES:
        raise ValueError(f"unknown error group status {status!r}; choose one of {', '.join(ERROR_STATUSES)}")
    return _rollup_frame(client, ERROR_GROUP_SUMMARIES, {
        "project_id": project_id, "fingerprints": list(fingerprints), "status": status, "limit": limit,
    }, {
        "error_group": pl.String, "fingerprint": pl.UInt64, "kind": pl.String, "error_type": pl.String,
        "message": pl.String, "culprit": pl.String, "first_seen": UTC_MS, "last_seen": UTC_MS,
        "events": pl.UInt64, "visitors": pl.UInt64, "users": pl.UInt64, "releases": pl.List(pl.String),
        "status": pl.String,
    })


ERROR_EVENTS = """
SELECT
    event_id, timestamp,
    toString(error_kind) AS kind, error_type, error_message AS message,
    toString(release) AS release, toString(environment) AS environment,
    toString(browser) AS browser, toString(browser_version) AS browser_version,
    toString(os) AS os, toString(os_version) AS os_version, toString(device) AS device, toString(country) AS country,
    path, url, session_id, visitor_id, user_id, data,
    toString(platform) AS platform, toString(level) AS level, logger, toString(server_name) AS server_name,
    transaction
FROM events FINAL
WHERE type = 'error'
  AND fingerprint = {fingerprint:UInt64}
  AND """ + _IN_RANGE + """
ORDER BY timestamp DESC, event_id
LIMIT {limit:UInt32}
"""


def error_events(client: Client, filters: Filters, fingerprint: int, limit: int = 20) -> pl.DataFrame:
    """One error group's latest events in the range: ``event_id``, ``timestamp``, ``kind``,
    ``error_type``, ``message``, ``release``, ``environment``, ``browser``, ``browser_version``,
    ``os``, ``os_version``, ``device``, ``country``, ``path``, ``url``, ``session_id``,
    ``visitor_id``, ``user_id``, ``data`` (the event's payload as JSON: stack, frames,
    breadcrumbs, request, a chain's ``exceptions``), and ``platform``, ``level``, ``logger``,
    ``server_name``, ``transaction`` (079_backend_errors.sql)."""
    schema: dict[str, pl.DataType] = {name: pl.String for name in (
        "event_id", "kind", "error_type", "message", "release", "environment", "browser", "browser_version", "os",
        "os_version", "device", "country", "path", "url", "session_id", "visitor_id", "user_id", "data",
        "platform", "level", "logger", "server_name", "transaction")}
    schema = {"event_id": pl.String, "timestamp": UTC_MS, **{k: v for k, v in schema.items() if k != "event_id"}}
    return _frame(client, ERROR_EVENTS, {**filters.parameters(), "fingerprint": fingerprint, "limit": limit}, schema)


ERROR_TAGS = """
SELECT tag_value.1 AS tag, tag_value.2 AS value, count() AS events
FROM events FINAL
ARRAY JOIN [('browser', toString(browser)), ('os', toString(os)), ('release', toString(release)),
            ('route', path), ('device', toString(device)), ('country', toString(country)),
            ('server', toString(server_name)), ('transaction', transaction)] AS tag_value
WHERE type = 'error'
  AND fingerprint = {fingerprint:UInt64}
  AND """ + _IN_RANGE + """
GROUP BY tag, value
ORDER BY tag, events DESC, value
"""


def error_tags(client: Client, filters: Filters, fingerprint: int) -> pl.DataFrame:
    """How one error group's events in the range spread over ``tag`` (browser, os, release, route,
    device, country, server, transaction): ``tag``, ``value`` (``""`` = unknown), ``events``, ``share`` of the group's events."""
    frame = _frame(client, ERROR_TAGS, {**filters.parameters(), "fingerprint": fingerprint},
                   {"tag": pl.String, "value": pl.String, "events": pl.UInt64})
    return frame.with_columns((pl.col("events") / pl.col("events").sum().over("tag")).alias("share"))


# ── API calls (rollup api_calls_minute) ──────────────────────────────────────────────────

# The API call rows of a range: the whole hours from api_calls_hour when it can answer (no
# route, device, browser or country filter; see _tiers), the other minutes from api_calls_minute.
_API_ROWS = """
    SELECT toString(method) AS method, endpoint, status, toString(failure) AS failure, bucket, calls, low, high
    FROM api_calls_minute FINAL
    WHERE """ + _MINUTES_IN_RANGE + """
      AND NOT (minute >= {hours_start:DateTime64(3, 'UTC')} AND minute < {hours_end:DateTime64(3, 'UTC')})
    UNION ALL
    SELECT toString(method) AS method, endpoint, status, toString(failure) AS failure, bucket, calls, low, high
    FROM api_calls_hour FINAL
    WHERE project_id = {project_id:UInt32}
      AND hour >= {hours_start:DateTime64(3, 'UTC')}
      AND hour < {hours_end:DateTime64(3, 'UTC')}
      AND ({environment:String} = '' OR environment = {environment:String})
      AND ({release:String} = '' OR release = {release:String})
"""
_NOT_IN_API_HOUR = ("route", "device", "browser", "country")

# latency and outcome in one read: per endpoint, status, failure and latency bucket
API_CALLS = """
SELECT method, endpoint, status, failure, bucket, sum(length(calls)) AS samples, min(low) AS low, max(high) AS high
FROM (""" + _API_ROWS + """)
GROUP BY method, endpoint, status, failure, bucket
"""

API_STATUSES = """
SELECT method, endpoint, status, failure, sum(length(calls)) AS calls
FROM (""" + _API_ROWS + """)
GROUP BY method, endpoint, status, failure
"""
_FAILED = (pl.col("status") == 0) | (pl.col("status") >= 400)


def api_endpoints(client: Client, filters: Filters, limit: int = 50) -> pl.DataFrame:
    """API calls by endpoint (method + path with ids as ``:id``), most called first: ``method``,
    ``endpoint``, ``calls``, ``failures`` (HTTP status ≥ 400 or no response), ``failure_rate``
    and latency ``p50``, ``p75``, ``p95`` in ms (within 1 %)."""
    histogram = _rollup_frame(client, API_CALLS, _api_parameters(filters), {
        "method": pl.String, "endpoint": pl.String, "status": pl.UInt16, "failure": pl.String, "bucket": pl.Int16,
        "samples": pl.UInt64, "low": pl.Float64, "high": pl.Float64})
    failures = histogram.group_by("method", "endpoint").agg(
        pl.col("samples").sum().alias("calls"), pl.col("samples").filter(_FAILED).sum().alias("failures"))
    latency = histogram_percentiles(histogram, ["method", "endpoint"])
    schema = {"method": pl.String, "endpoint": pl.String, "calls": pl.UInt64, "failures": pl.UInt64,
              "failure_rate": pl.Float64, "p50": pl.Float64, "p75": pl.Float64, "p95": pl.Float64}
    if failures.is_empty():
        return pl.DataFrame(schema=schema)
    return (failures.join(latency.drop("samples"), on=["method", "endpoint"], how="left")
            .with_columns((pl.col("failures") / pl.col("calls")).alias("failure_rate"))
            .sort(["calls", "method", "endpoint"], descending=[True, False, False]).head(limit)
            .select(list(schema)).cast(schema))


def api_failures(client: Client, filters: Filters, limit: int = 50) -> pl.DataFrame:
    """Failed API calls by endpoint and outcome, most first: ``method``, ``endpoint``, ``status``
    (0 = no response), ``failure`` (status, network, timeout, abort; may be ``""``), ``calls``."""
    statuses = _api_statuses(client, _api_parameters(filters))
    return (statuses.filter(_FAILED)
            .sort(["calls", "method", "endpoint", "status"], descending=[True, False, False, False]).head(limit))


def _api_parameters(filters: Filters) -> dict[str, Any]:
    return {**filters.parameters(), **_tiers(filters, None, _NOT_IN_API_HOUR)}


def _api_statuses(client: Client, parameters: dict[str, Any]) -> pl.DataFrame:
    return _rollup_frame(client, API_STATUSES, parameters, {
        "method": pl.String, "endpoint": pl.String, "status": pl.UInt16, "failure": pl.String, "calls": pl.UInt64})


# ── funnels (raw events, ClickHouse's windowFunnel) ──────────────────────────────────────


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One step of a funnel: a page view whose path matches ``match`` (``kind="page"``; ``*`` is
    a wildcard, as in route filters), or an event named ``match`` (``kind="event"``: a custom
    event's name, or an event type such as ``form_submit``), optionally only when the event's
    property ``property_name`` (in ``data.props``, else ``data``) equals ``property_value``."""

    kind: str
    match: str
    property_name: str = ""
    property_value: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("page", "event"):
            raise ValueError(f"a funnel step is a 'page' or an 'event', not {self.kind!r}")
        if not self.match:
            raise ValueError("a funnel step needs a page path (e.g. /checkout) or an event name (e.g. purchase)")

    @property
    def label(self) -> str:
        """How the step reads in a chart: ``/cart``, ``purchase``, ``add_to_cart (price = 9.9)``."""
        where = f" ({self.property_name} = {self.property_value})" if self.property_name else ""
        return f"{self.match}{where}"

    def parameters(self, index: int) -> dict[str, str]:
        match = like_pattern(self.match) if self.kind == "page" else self.match
        return {f"kind_{index}": self.kind, f"match_{index}": match,
                f"property_{index}": self.property_name, f"value_{index}": self.property_value}


FUNNEL_UNITS = {"session": "session_id", "visitor": "visitor_id"}
# what a funnel can be broken down by: what stays the same through a visit (not the route)
FUNNEL_BREAKDOWNS = tuple(name for name in BREAKDOWNS if name != "route")
MAX_FUNNEL_STEPS = 10
_FUNNEL_CONDITION = """(
    (({kind_N:String} = 'page' AND type = 'page_view' AND path LIKE {match_N:String})
     OR ({kind_N:String} = 'event' AND (type = {match_N:String} OR (type = 'custom' AND name = {match_N:String}))))
    AND ({property_N:String} = ''
         OR {value_N:String} IN (trim(BOTH '"' FROM JSONExtractRaw(data, 'props', {property_N:String})),
                                 trim(BOTH '"' FROM JSONExtractRaw(data, {property_N:String}))))
)"""
_FUNNEL = """
SELECT segment, level, count() AS units
FROM
(
    SELECT
        $unit AS unit,
        any($segment) AS segment,
        windowFunnel({window_ms:UInt64})(toUInt64(toUnixTimestamp64Milli(timestamp)), $conditions) AS level
    FROM events FINAL
    WHERE project_id = {project_id:UInt32}
      AND timestamp >= {start:DateTime64(3, 'UTC')}
      AND timestamp < {end:DateTime64(3, 'UTC')}
      AND ({environment:String} = '' OR environment = {environment:String})
      AND ({release:String} = '' OR release = {release:String})
      AND ({device:String} = '' OR device = {device:String})
      AND ({browser:String} = '' OR browser = {browser:String})
      AND ({country:String} = '' OR country = {country_code:String})
      AND ($any_condition)
    GROUP BY unit
)
WHERE level > 0
GROUP BY segment, level
"""


def funnel_sql(steps: int, unit: str = "session", breakdown: str = "") -> str:
    """The funnel query for ``steps`` steps counted per ``unit``, segmented by ``breakdown``
    (a key of :data:`BREAKDOWNS` or ``""``). Built from fixed fragments only: every value is a parameter."""
    if not 2 <= steps <= MAX_FUNNEL_STEPS:
        raise ValueError(f"a funnel has 2 to {MAX_FUNNEL_STEPS} steps, not {steps}")
    if unit not in FUNNEL_UNITS:
        raise ValueError(f"a funnel counts per {' or '.join(FUNNEL_UNITS)}, not {unit!r}")
    if breakdown and breakdown not in FUNNEL_BREAKDOWNS:
        raise ValueError(f"cannot break a funnel down by {breakdown!r}; choose one of {', '.join(FUNNEL_BREAKDOWNS)}")
    conditions = [_FUNNEL_CONDITION.replace("_N:", f"_{n}:") for n in range(1, steps + 1)]
    return (_FUNNEL.replace("$unit", FUNNEL_UNITS[unit])
            .replace("$segment", BREAKDOWNS[breakdown] if breakdown else "''")
            .replace("$conditions", ",\n".join(conditions))
            .replace("$any_condition", "\n OR ".join(conditions)))


def funnel(client: Client, filters: Filters, steps: Sequence[FunnelStep], window: timedelta,
           unit: str = "session", breakdown: str = "") -> pl.DataFrame:
    """How many sessions (or visitors) went through ``steps`` in order, each step within
    ``window`` of the first, in the range: per ``segment`` (the ``breakdown`` dimension's value,
    ``""`` without one) and ``step`` (1-based): ``label``, ``units`` that reached it,
    ``conversion`` (share of the first step's units), ``step_conversion`` (of the previous
    step's) and ``dropped`` (lost since the previous step).

    Counting follows ClickHouse's ``windowFunnel`` (default mode): a unit reaches step k if it
    has events matching steps 1..k in time order (equal times allowed) with step k at most
    ``window`` after step 1. The route filter does not apply (steps name their own pages)."""
    if window <= timedelta(0):
        raise ValueError(f"a funnel's conversion window must be positive, got {window}")
    sql = funnel_sql(len(steps), unit, breakdown)
    parameters = {**filters.parameters(), "window_ms": int(window / timedelta(milliseconds=1))}
    for index, step in enumerate(steps, start=1):
        parameters.update(step.parameters(index))
    reached = _frame(client, sql, parameters, {"segment": pl.String, "level": pl.UInt8, "units": pl.UInt64})
    segments = sorted(set(reached["segment"].to_list())) or ([""] if not breakdown else [])
    rows = []
    for segment in segments:
        levels = dict(reached.filter(pl.col("segment") == segment).select("level", "units").iter_rows())
        counts = [sum(units for level, units in levels.items() if level >= k) for k in range(1, len(steps) + 1)]
        for k, (step, units) in enumerate(zip(steps, counts), start=1):
            previous = counts[k - 2] if k > 1 else units
            rows.append((segment, k, step.label, units, units / counts[0] if counts[0] else None,
                         units / previous if previous else None, previous - units))
    return pl.DataFrame(rows, orient="row", schema={
        "segment": pl.String, "step": pl.UInt8, "label": pl.String, "units": pl.UInt64,
        "conversion": pl.Float64, "step_conversion": pl.Float64, "dropped": pl.UInt64})


# ── projects ─────────────────────────────────────────────────────────────────────────────


def projects(client: Client) -> pl.DataFrame:
    """Every project a viewer can pick: ``id``, ``name``, ordered by id."""
    rows = [(project.id, project.name) for project in list_projects(client)]
    return pl.DataFrame(rows, schema={"id": pl.UInt32, "name": pl.String}, orient="row")


# ── alerts (rollup api_calls_minute; the other alert metrics reuse the functions above) ──

API_CALL_TOTALS = """
SELECT
    sum(length(calls)) AS api_calls,
    sumIf(length(calls), status = 0 OR status >= 400) AS api_failures
FROM api_calls_minute FINAL
WHERE """ + _MINUTES_IN_RANGE


def api_call_totals(client: Client, filters: Filters) -> pl.DataFrame:
    """One row, from the rollup (whole minutes): ``api_calls`` and ``api_failures`` (HTTP status
    ≥ 400 or no response: network error, timeout) — :func:`api_endpoints` summed over every
    endpoint, as the API-failure-rate alert reads it."""
    return _rollup_frame(client, API_CALL_TOTALS, filters.parameters(),
                         {"api_calls": pl.UInt64, "api_failures": pl.UInt64}).fill_null(0)


# ── retention (raw events; the notebooks' cohorts) ───────────────────────────────────────

RETENTION_PERIODS = {"day": "toDate(timestamp)", "week": "toMonday(timestamp)"}
_RETENTION = """
SELECT cohort, dateDiff($unit, cohort, active) AS period, count() AS visitors
FROM
(
    SELECT visitor_id, min($period) AS cohort, groupUniqArray($period) AS periods
    FROM events FINAL
    WHERE project_id = {project_id:UInt32}
      AND timestamp >= {start:DateTime64(3, 'UTC')}
      AND timestamp < {end:DateTime64(3, 'UTC')}
      AND visitor_id != ''
""" + DIMENSIONS + """
    GROUP BY visitor_id
)
ARRAY JOIN periods AS active
GROUP BY cohort, period
ORDER BY cohort, period
"""


def visitor_retention(client: Client, filters: Filters, period: str = "day") -> pl.DataFrame:
    """Cohorts of visitors by the ``period`` (day or week, UTC) of their first event in the range,
    and how many came back: ``cohort`` (the period's first day), ``period`` (0 = the cohort's own,
    1 = the next, …), ``visitors`` active in it, ``cohort_size`` and ``retention`` (their share).
    Visitors seen before the range count from their first event inside it."""
    if period not in RETENTION_PERIODS:
        raise ValueError(f"retention is per {' or '.join(RETENTION_PERIODS)}, not {period!r}")
    sql = _RETENTION.replace("$period", RETENTION_PERIODS[period]).replace("$unit", f"'{period}'")
    frame = _frame(client, sql, filters.parameters(), {"cohort": pl.Date, "period": pl.UInt32, "visitors": pl.UInt64})
    sizes = frame.filter(pl.col("period") == 0).select("cohort", pl.col("visitors").alias("cohort_size"))
    return (frame.join(sizes, on="cohort", how="left")
            .with_columns((pl.col("visitors") / pl.col("cohort_size")).alias("retention"))
            .select("cohort", "period", "visitors", "cohort_size", "retention"))


# ── data quality (pipeline/quality/, migrations/030_quality.sql) ──────────────────────────

QUALITY_SAMPLE = """
SELECT
    project_id, toString(type) AS type,
    toUnixTimestamp64Milli(timestamp) AS timestamp, event_id, toUnixTimestamp64Milli(received_at) AS received_at,
    session_id, url, path, toString(browser) AS browser, toString(os) AS os, toString(device) AS device,
    toString(vital_name) AS vital_name, vital_value, toString(error_kind) AS error_kind, error_message,
    duration_ms, http_status
FROM events AS e FINAL
WHERE e.received_at >= {start:DateTime64(3, 'UTC')}  -- the column, not the epoch-ms alias
  AND e.received_at < {end:DateTime64(3, 'UTC')}
ORDER BY e.received_at DESC
LIMIT {limit:UInt64}
"""
_QUALITY_SAMPLE = {
    "project_id": pl.UInt32, "type": pl.String, "timestamp": pl.Int64, "event_id": pl.String,
    "received_at": pl.Int64, "session_id": pl.String, "url": pl.String, "path": pl.String,
    "browser": pl.String, "os": pl.String, "device": pl.String, "vital_name": pl.String,
    "vital_value": pl.Float64, "error_kind": pl.String, "error_message": pl.String,
    "duration_ms": pl.Float64, "http_status": pl.UInt16,
}


def quality_sample(client: Client, start: datetime, end: datetime, limit: int = 100_000) -> pl.DataFrame:
    """The newest ``limit`` events received in ``[start, end)``, all projects, with the columns the
    GX suites read (``timestamp`` / ``received_at`` as epoch milliseconds, like the processor's rows)."""
    return _frame(client, QUALITY_SAMPLE, {"start": _clickhouse_time(start), "end": _clickhouse_time(end),
                                           "limit": limit}, _QUALITY_SAMPLE)


QUALITY_PASS_RATES = """
SELECT
    toDateTime64(toStartOfInterval(run_at, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS bucket,
    toString(suite) AS suite, toString(expectation) AS expectation,
    count() AS checks, countIf(success) AS passed, passed / checks AS pass_rate,
    sum(unexpected_count) AS unexpected, sum(element_count) AS elements
FROM quality_results
WHERE run_at >= {start:DateTime64(3, 'UTC')} AND run_at < {end:DateTime64(3, 'UTC')}
GROUP BY bucket, suite, expectation
ORDER BY bucket, suite, expectation
"""


def quality_pass_rates(client: Client, start: datetime, end: datetime, bucket_minutes: int = 60) -> pl.DataFrame:
    """Per time bucket, suite and expectation: ``checks`` (batches checked), ``passed``, ``pass_rate``,
    and the ``unexpected`` values among ``elements`` checked."""
    _check_bucket(bucket_minutes)
    return _frame(client, QUALITY_PASS_RATES, {"start": _clickhouse_time(start), "end": _clickhouse_time(end),
                                               "bucket_minutes": bucket_minutes}, {
        "bucket": UTC_MS, "suite": pl.String, "expectation": pl.String, "checks": pl.UInt64,
        "passed": pl.UInt64, "pass_rate": pl.Float64, "unexpected": pl.UInt64, "elements": pl.UInt64})


QUALITY_FAILURES = """
SELECT run_at, toString(source) AS source, toString(suite) AS suite, suite_version, toString(expectation) AS expectation,
       toString(expectation_type) AS expectation_type, toString(column) AS column, row_condition,
       element_count, unexpected_count, unexpected_percent, observed_value, unexpected_sample, exception
FROM quality_results
WHERE NOT success AND run_at >= {start:DateTime64(3, 'UTC')} AND run_at < {end:DateTime64(3, 'UTC')}
ORDER BY run_at DESC, suite, expectation
LIMIT {limit:UInt64}
"""


def quality_failures(client: Client, start: datetime, end: datetime, limit: int = 50) -> pl.DataFrame:
    """The latest failing expectations, newest first, with up to 10 offending values each
    (``unexpected_sample``, JSON) or the aggregate seen (``observed_value``, JSON)."""
    return _frame(client, QUALITY_FAILURES, {"start": _clickhouse_time(start), "end": _clickhouse_time(end),
                                             "limit": limit}, {
        "run_at": UTC_MS, "source": pl.String, "suite": pl.String, "suite_version": pl.UInt32,
        "expectation": pl.String, "expectation_type": pl.String, "column": pl.String, "row_condition": pl.String,
        "element_count": pl.UInt64, "unexpected_count": pl.UInt64, "unexpected_percent": pl.Float64,
        "observed_value": pl.String, "unexpected_sample": pl.String, "exception": pl.String})


DEAD_LETTERS_BY_REASON = """
SELECT
    toDateTime64(toStartOfInterval(failed_at, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS bucket,
    toString(reason) AS reason, toString(step) AS step, count() AS drops
FROM dead_letters FINAL
WHERE failed_at >= {start:DateTime64(3, 'UTC')} AND failed_at < {end:DateTime64(3, 'UTC')}
  AND ({project_id:UInt32} = 0 OR project_id = {project_id:UInt32})
GROUP BY bucket, reason, step
ORDER BY bucket, drops DESC, reason
"""


def dead_letters_by_reason(client: Client, start: datetime, end: datetime, bucket_minutes: int = 60,
                           project_id: int = 0) -> pl.DataFrame:
    """DLQ volume: drops per time bucket (by ``failed_at``), ``reason`` and ``step``; a drop recorded
    twice counts once. ``project_id`` 0 = all projects (drops before the project was known have 0)."""
    _check_bucket(bucket_minutes)
    return _frame(client, DEAD_LETTERS_BY_REASON, {
        "start": _clickhouse_time(start), "end": _clickhouse_time(end), "bucket_minutes": bucket_minutes,
        "project_id": project_id}, {"bucket": UTC_MS, "reason": pl.String, "step": pl.String, "drops": pl.UInt64})


# ── refusals at the collector (075 refusals_minute, pipeline/collector/refusals.py) ────────

REFUSALS_BY_REASON = """
SELECT
    toDateTime64(refused.bucket, 3, 'UTC') AS bucket,
    refused.project_id AS project_id, names.name AS project,
    transport, reason, unit, refusals
FROM
(
    SELECT toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})) AS bucket, project_id,
           toString(transport) AS transport, toString(reason) AS reason, toString(unit) AS unit,
           sum(refusals) AS refusals
    FROM refusals_minute
    WHERE minute >= {start:DateTime64(3, 'UTC')} AND minute < {end:DateTime64(3, 'UTC')}
      AND ({project_id:UInt64} = 0 OR project_id = {project_id:UInt64})
    GROUP BY bucket, project_id, transport, reason, unit
) AS refused
LEFT JOIN (SELECT toUInt64(id) AS id, any(name) AS name FROM projects FINAL GROUP BY id) AS names
    ON names.id = refused.project_id
ORDER BY bucket, refusals DESC, reason, project_id
SETTINGS join_use_nulls = 0
"""


def refusals_by_reason(client: Client, start: datetime, end: datetime, bucket_minutes: int = 60,
                       project_id: int = 0) -> pl.DataFrame:
    """What the collector refused: per time bucket (by the refusal's minute), ``project_id`` (the URL's,
    also one that does not exist; 0 = none), ``project`` (its name, '' if unknown), ``transport``,
    ``reason``, ``unit`` (``request``: the whole request; ``event``: one event inside a batch) and
    ``refusals``. ``project_id`` 0 = all projects."""
    _check_bucket(bucket_minutes)
    return _frame(client, REFUSALS_BY_REASON, {
        "start": _clickhouse_time(start), "end": _clickhouse_time(end), "bucket_minutes": bucket_minutes,
        "project_id": project_id}, {"bucket": UTC_MS, "project_id": pl.UInt64, "project": pl.String,
                                    "transport": pl.String, "reason": pl.String, "unit": pl.String,
                                    "refusals": pl.UInt64})
