"""Web Vitals and page loads: percentiles and ratings per vital, over time, by dimension, and
what the SDK blamed.

The rollup answers (sealed days of web_vitals_day, 101, and sealed hours of web_vitals_hour, or of
their by-route tables when the route is asked for; the rest from events) cover whole minutes
with percentiles within :data:`~pipeline.queries.histograms.RELATIVE_ACCURACY`; so do what the SDK
blamed (vital_target_hour, 096), navigation timing and the slowest resources (sealed hours of
navigation_hour and resource_hour, 095), over the exact range. The p75 change reads the raw events,
exact (up to 24 hours: tiers.estimated).
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl
from clickhouse_connect.driver import Client

from pipeline.contract import vitals
from pipeline.queries.filters import Filters, check_bucket, clickhouse_time
from pipeline.queries.histograms import (GAMMA, KEYED_HISTOGRAM, ZERO_BUCKET, bucket_values, histogram_percentiles,
                                         ranked_percentiles, rated, rating_shares)
from pipeline.queries.statements import ROLLUP_SETTINGS, UTC_MS, frame, rollup_frame
from pipeline.queries.tiers import pick_source, reads_days

# what a breakdown can group by: the name people pick → the column of sql/rows/vitals.sql
BREAKDOWNS: dict[str, str] = {
    "route": "path", "device": "device", "browser": "browser", "country": "country",
    "release": "release", "connection": "connection_type", "environment": "environment",
}
# what else a Web Vitals histogram is grouped by: per vital, or not at all (one vital's: by its name);
# per time bucket is a statement of its own (vital_trend.sql)
_GROUPS = {"vital": "vital_name", "bucket": "vital_name", **BREAKDOWNS}
_HISTOGRAM_ROWS = {"bucket": pl.Int16, "rating": pl.String, "samples": pl.UInt64, "low": pl.Float64, "high": pl.Float64}
_SHARES = {"good": pl.Float64, "needs_improvement": pl.Float64, "poor": pl.Float64}
# the vitals the SDKs attribute, the only ones vital_target_hour keeps (096); the others' attribution reads raw
TARGET_VITALS = ("LCP", "INP", "CLS")
NAVIGATION_PHASES = ("redirect", "dns", "tcp", "tls", "request", "response", "dom", "load")
# each Web Vitals hourly table's daily table (101: summed from its sealed hours), read by the answers
# over the whole range (rows/vitals_by_day); the trend reads hours and minutes (rows/vitals)
DAY_TABLES = {"web_vitals_hour": "web_vitals_day", "web_vitals_route_hour": "web_vitals_route_day"}


def vital_percentiles(client: Client, filters: Filters) -> pl.DataFrame:
    """Per Web Vital measured in the range: ``vital``, ``samples``, ``p50``, ``p75``, ``p95``
    (ms; CLS unitless) and ``rating`` — the p75 rated against :mod:`pipeline.contract.vitals`' thresholds,
    the way Google assesses a page. Vitals nobody measured are absent."""
    answer = frame(client, "vital_percentiles", filters.parameters(), {
        "vital": pl.String, "samples": pl.UInt64, "p50": pl.Float64, "p75": pl.Float64, "p95": pl.Float64,
    })
    return rated(answer, vital_of="vital")


def _vital_histogram(client: Client, filters: Filters, vital: str, group: str, key_type: pl.DataType,
                     bucket_minutes: int | None = None) -> pl.DataFrame:
    source = pick_source(filters, "web_vitals", bucket_minutes, group)
    parameters = {**filters.parameters(), "vital": vital, **source.parameters()}
    if group == "time":
        parameters["bucket_minutes"] = bucket_minutes or 1
        return rollup_frame(client, "vital_trend", parameters, {"key": key_type, **_HISTOGRAM_ROWS})
    parameters["group"], parameters["day_table"] = _GROUPS[group], DAY_TABLES[source.hour_table]
    return rollup_frame(client, "vital_histogram", parameters, {"key": key_type, **_HISTOGRAM_ROWS},
                        days=reads_days(filters, source))


def vital_summary(client: Client, filters: Filters) -> pl.DataFrame:
    """Per Web Vital measured in the range, in :data:`pipeline.contract.vitals.VITAL_NAMES` order: ``vital``,
    ``samples``, ``p50``, ``p75``, ``p95``, ``rating`` (of the p75, as Google assesses a page) and
    the shares of samples rated ``good``, ``needs_improvement`` and ``poor`` (0–1). From the rollup:
    whole minutes, percentiles within 1 %."""
    histogram = _vital_histogram(client, filters, "", "vital", pl.String).rename({"key": "vital"})
    percentiles = histogram_percentiles(histogram, ["vital"])
    answer = rated(percentiles, vital_of="vital").join(rating_shares(histogram, ["vital"]), on="vital", how="left")
    order = {name: index for index, name in enumerate(vitals.VITAL_NAMES)}
    return (answer.with_columns(pl.col("vital").replace_strict(order, default=len(order)).alias("_order"))
            .sort("_order", "vital").drop("_order")
            .select("vital", "samples", "p50", "p75", "p95", "rating", *_SHARES))


def vital_p75_change(client: Client, filters: Filters) -> pl.DataFrame:
    """Per Web Vital measured in the range or the period of the same length before it: ``vital``,
    ``p75`` and ``p75_before`` (exact, from the raw events; null without samples) and ``change``
    (their difference; null unless both periods have samples).

    The change of two rollup percentiles would carry both their errors (up to 1 % each: +80 ms
    shown for a true +44 ms, or +0 ms when both fall in one histogram bucket); this one is exact.
    """
    parameters = {**filters.parameters(), "previous_start": clickhouse_time(filters.previous().start)}
    answer = frame(client, "vital_p75_change", parameters, {
        "vital": pl.String, "samples": pl.UInt64, "samples_before": pl.UInt64,
        "p75": pl.Float64, "p75_before": pl.Float64,
    }, ROLLUP_SETTINGS)  # events are partitioned by month too, and a replayed event keeps its timestamp
    return answer.select(
        "vital",
        pl.when(pl.col("samples") > 0).then(pl.col("p75")).alias("p75"),
        pl.when(pl.col("samples_before") > 0).then(pl.col("p75_before")).alias("p75_before"),
    ).with_columns((pl.col("p75") - pl.col("p75_before")).alias("change"))


def vital_p75_change_estimated(now: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """:func:`vital_p75_change`'s answer from two :func:`vital_summary` answers — this period's and the
    one before's, read from the hourly histograms — for ranges longer than 24 hours
    (:data:`~pipeline.queries.tiers.ESTIMATED_PAST`; each p75 within 1 %, so the change is an estimate). The raw answer sorts every
    measurement of both periods (990 ms at 30 days of 100M events); the page has this period's summary
    already and reads the previous one's from the rollups, which outlive the raw events."""
    return (now.select("vital", "p75").join(before.select("vital", pl.col("p75").alias("p75_before")),
                                            on="vital", how="full", coalesce=True)
            .with_columns((pl.col("p75") - pl.col("p75_before")).alias("change")))


def vital_trend(client: Client, filters: Filters, vital: str, bucket_minutes: int = 1) -> pl.DataFrame:
    """One Web Vital over time: ``time`` (bucket start, UTC), ``samples``, ``p50``, ``p75``, ``p95``
    per bucket of ``bucket_minutes``; buckets without samples are absent."""
    check_bucket(bucket_minutes)
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
        bucket_values().alias("value"),
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
    answer = rated(percentiles, vital=vital).join(rating_shares(histogram, ["value"]), on="value", how="left")
    return (answer.sort(["samples", "value"], descending=[True, False]).head(limit)
            .select("value", "samples", "p50", "p75", "p95", "rating", *_SHARES))


def vital_attribution(client: Client, filters: Filters, vital: str, limit: int = 10) -> pl.DataFrame:
    """What the SDK blamed for a Web Vital — the LCP element, the INP interaction's target, the CLS
    source: ``target`` (a CSS selector; ``""`` when not attributed), ``samples``, ``p75`` and its
    ``rating``; the ``limit`` targets with the most samples. From vital_target_hour's sealed hours
    and the raw events (096; a vital not in :data:`TARGET_VITALS` from the raw events alone):
    percentiles within 1 %."""
    source = pick_source(filters, "vital_target")
    if vital not in TARGET_VITALS:
        source = replace(source, hours_end=source.hours_start)
    parameters = {**filters.parameters(), "vital": vital, "limit": limit, **source.parameters()}
    histogram = rollup_frame(client, "vital_attribution", parameters, {"key": pl.String, **KEYED_HISTOGRAM})
    return rated(ranked_percentiles(histogram, "target").select("target", "samples", "p75"), vital=vital)


def navigation_timing(client: Client, filters: Filters) -> pl.DataFrame:
    """Where a page load's time goes (Navigation Timing, from the LOAD measurements' breakdown):
    per ``phase`` in load order (redirect, dns, tcp, tls, request, response, dom, load) its
    ``samples``, exact ``mean`` ms, ``p75`` ms (percentiles within 1 %) and ``offset``: the sum of
    the means before it, so the phases draw as a waterfall of the average page load. Sealed hours
    from navigation_hour (095), the rest from the raw events."""
    source = pick_source(filters, "navigation")
    histogram = rollup_frame(client, "navigation_timing", {**filters.parameters(), **source.parameters()}, {
        "phase": pl.String, "bucket": pl.Int16, "samples": pl.UInt64, "total": pl.Float64,
        "low": pl.Float64, "high": pl.Float64})
    means = histogram.group_by("phase").agg((pl.col("total").sum() / pl.col("samples").sum()).alias("mean"))
    answer = (histogram_percentiles(histogram, ["phase"]).join(means, on="phase")
              .select("phase", "samples", "mean", "p75"))
    order = {name: index for index, name in enumerate(NAVIGATION_PHASES)}
    answer = (answer.with_columns(pl.col("phase").replace_strict(order, default=len(order)).alias("_order"))
              .sort("_order", "phase").drop("_order"))
    return answer.with_columns((pl.col("mean").cum_sum() - pl.col("mean")).alias("offset"))


def slowest_resources(client: Client, filters: Filters, limit: int = 15, min_loads: int = 1) -> pl.DataFrame:
    """The resources (scripts, styles, images, fonts) slowest to load at the 75th percentile:
    ``resource`` (URL), ``initiator``, ``loads``, ``p50`` and ``p75`` ms and the median
    ``transfer_size`` in bytes (percentiles within 1 %); those loaded fewer than ``min_loads`` times
    are left out. Sealed days from resource_day (097), the other sealed hours from resource_hour (095),
    the rest from the raw events."""
    source = pick_source(filters, "resource")
    parameters = {**filters.parameters(), **source.parameters(), "day_table": "resource_day"}
    histogram = rollup_frame(client, "slowest_resources", parameters, {
        "resource": pl.String, "initiator": pl.String, "measure": pl.String, "bucket": pl.Int16,
        "samples": pl.UInt64, "low": pl.Float64, "high": pl.Float64}, days=reads_days(filters, source))
    durations = histogram_percentiles(histogram.filter(pl.col("measure") == "duration"), ["resource"])
    sizes = histogram_percentiles(histogram.filter(pl.col("measure") == "transfer_size"), ["resource"])
    initiators = histogram.group_by("resource").agg(pl.col("initiator").min())
    return (durations.filter(pl.col("samples") >= min_loads)
            .join(initiators, on="resource", how="left")
            .join(sizes.select("resource", pl.col("p50").floor().cast(pl.UInt64).alias("transfer_size")),
                  on="resource", how="left")
            .sort(["p75", "resource"], descending=[True, False]).head(limit)
            .select("resource", "initiator", pl.col("samples").alias("loads"), "p50", "p75", "transfer_size"))
