"""Errors: groups with their status and trend (one statement), a group's whole history (both from the sealed hours
of error_groups_hour, 092, and the raw events of every other hour: ``tiers.pick_source``), and one
group's events and tags (raw events).

A group is a fingerprint (events.fingerprint, 002_event_dimensions.sql); ``error_group`` is its
hex form, the id alert rules use. Status comes from error_group_states (005).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import polars as pl
from clickhouse_connect.driver import Client

from pipeline.queries.filters import Filters, check_bucket, time_axis
from pipeline.queries.statements import UTC_MS, frame, rollup_frame
from pipeline.queries.tiers import hourly, pick_source

ERROR_STATUSES = ("unresolved", "resolved", "ignored", "regressed")
FAMILY = "error_groups"
# a group's whole history is "before" this moment (rows/errors_before): past any event's timestamp
_AFTER_EVERY_EVENT = datetime(2200, 1, 1, tzinfo=timezone.utc)


def _check_status(status: str) -> None:
    if status and status not in ERROR_STATUSES:
        raise ValueError(f"unknown error group status {status!r}; choose one of {', '.join(ERROR_STATUSES)}")


def error_groups(client: Client, filters: Filters, bucket_minutes: int = 60, status: str = "",
                 limit: int = 100) -> pl.DataFrame:
    """The error groups with events in the range, most events first: ``error_group`` (hex id),
    ``fingerprint``, ``kind``, ``error_type``, ``message`` (its first event's), ``events`` and
    ``visitors`` in the range, ``first_seen`` and ``last_seen`` (over all the group's history
    up to the range's end, same dimensions), ``status`` (unresolved, resolved, ignored, or
    regressed: resolved but seen since) and ``trend``: events per bucket of ``bucket_minutes``
    across the range, for a sparkline. ``status`` set: only groups in that status."""
    check_bucket(bucket_minutes)
    _check_status(status)
    groups = rollup_frame(client, "error_groups", {
        **filters.parameters(), **pick_source(filters, FAMILY, bucket_minutes).parameters(),
        "bucket_minutes": bucket_minutes, "status": status, "limit": limit,
        "fingerprints": [], "history_sealed": hourly(filters, FAMILY)}, {
        "error_group": pl.String, "fingerprint": pl.UInt64, "kind": pl.String, "error_type": pl.String,
        "message": pl.String, "events": pl.UInt64, "visitors": pl.UInt64, "first_seen": UTC_MS,
        "last_seen": UTC_MS, "trend_times": pl.List(UTC_MS), "trend_events": pl.List(pl.UInt64), "status": pl.String,
    })
    position = {moment: index for index, moment in enumerate(time_axis(filters, bucket_minutes))}
    series = []
    for moments, counts in zip(groups["trend_times"], groups["trend_events"]):
        trend = [0] * len(position)
        for moment, count in zip(moments, counts):
            trend[position[moment]] = count
        series.append(trend)
    return groups.drop("trend_times", "trend_events").with_columns(pl.Series("trend", series, dtype=pl.List(pl.UInt64)))


def error_group_summaries(client: Client, project_id: int, fingerprints: Sequence[int] = (), status: str = "",
                          limit: int = 100) -> pl.DataFrame:
    """Error groups over their whole history, most recently seen first: ``error_group``,
    ``fingerprint``, ``kind``, ``error_type``, ``message`` (the first event's), ``culprit`` (the
    latest event's top in-app frame, original when a source map was uploaded:
    ``priceOf (/src/cart.js:4)``),
    ``first_seen``, ``last_seen``, ``events``, ``visitors``, ``users`` (signed-in users),
    ``releases`` (sorted) and ``status``. ``fingerprints``: only those groups; ``status``: only
    groups in it."""
    _check_status(status)
    whole_history = Filters(project_id, _AFTER_EVERY_EVENT, _AFTER_EVERY_EVENT + timedelta(minutes=1))
    return rollup_frame(client, "error_group_summaries", {
        **whole_history.parameters(), "history_sealed": True,
        "fingerprints": list(fingerprints), "status": status, "limit": limit,
    }, {
        "error_group": pl.String, "fingerprint": pl.UInt64, "kind": pl.String, "error_type": pl.String,
        "message": pl.String, "culprit": pl.String, "first_seen": UTC_MS, "last_seen": UTC_MS,
        "events": pl.UInt64, "visitors": pl.UInt64, "users": pl.UInt64, "releases": pl.List(pl.String),
        "status": pl.String,
    })


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
    return frame(client, "error_events", {**filters.parameters(), "fingerprint": fingerprint, "limit": limit}, schema)


def error_tags(client: Client, filters: Filters, fingerprint: int) -> pl.DataFrame:
    """How one error group's events in the range spread over ``tag`` (browser, os, release, route,
    device, country, server, transaction): ``tag``, ``value`` (``""`` = unknown), ``events``, ``share`` of the group's events."""
    answer = frame(client, "error_tags", {**filters.parameters(), "fingerprint": fingerprint},
                   {"tag": pl.String, "value": pl.String, "events": pl.UInt64})
    return answer.with_columns((pl.col("events") / pl.col("events").sum().over("tag")).alias("share"))
