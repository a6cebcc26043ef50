"""What a rule sees: its metric measured over its window, on the warehouse's rollups.

:func:`observe` returns one :class:`Observation` per alert key — the empty key for rules over
a whole metric, one per error group for the per-group metrics — with the measured value
(None when there is nothing to judge: no samples, fewer than ``min_samples``, no page views
last week to compare with). The same :class:`Observation` comes from the processor's
streaming signals (:mod:`pipeline.alerts.signal_rules`), so the evaluator judges both alike.

Every number comes from the shared query layer (``pipeline.queries``), the same
functions the dashboards show, over the per-minute rollups: a window is the whole minutes
before the evaluation's minute (``[end - window, end)`` with ``end`` on a minute), so a
rule sees exactly what the Overview shows for those minutes. Percentiles are the rollups'
(within 1 % of exact); an error group is ``lower(hex(fingerprint))``, the Errors page's id,
and "resolved" is the status set there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import polars as pl
from clickhouse_connect.driver import Client

from pipeline import queries
from pipeline.queries import Filters
from pipeline.queries.alert_rules import Rule

WEEK = timedelta(days=7)
MAX_GROUPS = 500  # error groups one evaluation looks at (the ones with the most events)


@dataclass(frozen=True)
class Observation:
    """One measurement of a rule's metric: ``value`` at ``at`` for alert ``key``."""

    key: str
    value: float | None
    at: datetime
    samples: int = 0  # events / samples the value was computed from
    labels: dict[str, str] = field(default_factory=dict)  # what the key is, for people (error type, message)
    origin: str = "schedule"  # schedule (the warehouse, every minute) or signal (the processor's stream)


def window(rule: Rule, project_id: int, now: datetime) -> Filters:
    """The rule's window ending at the minute ``now`` is in (only complete minutes), with its filters."""
    end = now.replace(second=0, microsecond=0)
    return Filters(project_id, end - rule.window, end, environment=rule.environment, release=rule.release,
                   route=rule.route)


def observe(client: Client, rule: Rule, project_id: int, now: datetime) -> list[Observation]:
    """Measure ``rule`` on project ``project_id`` over its window ending at ``now`` (see :func:`window`)."""
    filters = window(rule, project_id, now)
    metric = rule.metric
    if metric in ("error_count", "error_rate"):
        totals = queries.traffic_totals(client, filters).row(0, named=True)
        if metric == "error_count":
            return [Observation("", float(totals["errors"]), now, totals["events"])]
        return [_rate(rule, totals["errors"], totals["events"], now)]
    if metric == "api_failure_rate":
        totals = queries.api_call_totals(client, filters).row(0, named=True)
        return [_rate(rule, totals["api_failures"], totals["api_calls"], now)]
    if metric == "vital_p75":
        summary = queries.vital_summary(client, filters).filter(pl.col("vital") == rule.vital)
        if summary.is_empty():
            return [Observation("", None, now)]
        row = summary.row(0, named=True)
        if row["samples"] < max(rule.min_samples, 1):
            return [Observation("", None, now, row["samples"])]
        return [Observation("", round(row["p75"], 4), now, row["samples"], {"rating": row["rating"]})]
    if metric == "page_view_drop":
        current = queries.traffic_totals(client, filters).row(0, named=True)["page_views"]
        before = queries.traffic_totals(client, Filters(
            project_id, filters.start - WEEK, filters.end - WEEK, environment=rule.environment,
            release=rule.release, route=rule.route)).row(0, named=True)["page_views"]
        if before == 0 or before < rule.min_samples:
            return [Observation("", None, now, before)]
        drop = (before - current) / before * 100.0
        return [Observation("", round(drop, 4), now, before,
                            {"page_views": str(current), "page_views_last_week": str(before)})]
    if metric in ("new_error_group", "regressed_error_group"):
        regressed = metric == "regressed_error_group"
        groups = queries.error_groups(client, filters, bucket_minutes=max(int(rule.window.total_seconds() // 60), 1),
                                      status="regressed" if regressed else "", limit=MAX_GROUPS)
        if not regressed:
            groups = groups.filter(pl.col("first_seen") >= filters.start)
        return [_group(row, now) for row in groups.iter_rows(named=True)]
    raise ValueError(f"rule {rule.id!r}: no measurement for metric {metric!r}")


def _rate(rule: Rule, part: int, whole: int, now: datetime) -> Observation:
    """``part`` of ``whole`` in percent; None when ``whole`` is 0 or below the rule's ``min_samples``."""
    if whole == 0 or whole < rule.min_samples:
        return Observation("", None, now, whole)
    return Observation("", round(part / whole * 100.0, 4), now, whole, {"count": str(part), "of": str(whole)})


def _group(row: dict, now: datetime) -> Observation:
    labels = {"error_group": row["error_group"], "kind": row["kind"], "type": row["error_type"],
              "message": row["message"][:300], "status": row["status"],
              "first_seen": f"{row['first_seen']:%Y-%m-%d %H:%M:%S} UTC",
              "last_seen": f"{row['last_seen']:%Y-%m-%d %H:%M:%S} UTC"}
    return Observation(row["error_group"], float(row["events"]), now, int(row["events"]), labels)
