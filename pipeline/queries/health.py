"""The pipeline's own health: data quality checks (pipeline/quality/, 030_quality.sql), the
dead-letter queue, and what the collector refused (075 refusals_minute). All projects unless one
is asked for; times are when it happened, not the events' own."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from clickhouse_connect.driver import Client

from pipeline.queries.filters import check_bucket, clickhouse_time
from pipeline.queries.statements import UTC_MS, frame

_SAMPLE_COLUMNS = {
    "project_id": pl.UInt32, "type": pl.String, "timestamp": pl.Int64, "event_id": pl.String,
    "received_at": pl.Int64, "session_id": pl.String, "url": pl.String, "path": pl.String,
    "browser": pl.String, "os": pl.String, "device": pl.String, "vital_name": pl.String,
    "vital_value": pl.Float64, "error_kind": pl.String, "error_message": pl.String,
    "duration_ms": pl.Float64, "http_status": pl.UInt16,
}


def quality_sample(client: Client, start: datetime, end: datetime, limit: int = 100_000) -> pl.DataFrame:
    """The newest ``limit`` events received in ``[start, end)``, all projects, with the columns the
    GX suites read (``timestamp`` / ``received_at`` as epoch milliseconds, like the processor's rows)."""
    return frame(client, "quality_sample", {"start": clickhouse_time(start), "end": clickhouse_time(end),
                                           "limit": limit}, _SAMPLE_COLUMNS)


def quality_pass_rates(client: Client, start: datetime, end: datetime, bucket_minutes: int = 60) -> pl.DataFrame:
    """Per time bucket, suite and expectation: ``checks`` (batches checked), ``passed``, ``pass_rate``,
    and the ``unexpected`` values among ``elements`` checked."""
    check_bucket(bucket_minutes)
    return frame(client, "quality_pass_rates", {"start": clickhouse_time(start), "end": clickhouse_time(end),
                                               "bucket_minutes": bucket_minutes}, {
        "bucket": UTC_MS, "suite": pl.String, "expectation": pl.String, "checks": pl.UInt64,
        "passed": pl.UInt64, "pass_rate": pl.Float64, "unexpected": pl.UInt64, "elements": pl.UInt64})


def quality_failures(client: Client, start: datetime, end: datetime, limit: int = 50) -> pl.DataFrame:
    """The latest failing expectations, newest first, with up to 10 offending values each
    (``unexpected_sample``, JSON) or the aggregate seen (``observed_value``, JSON)."""
    return frame(client, "quality_failures", {"start": clickhouse_time(start), "end": clickhouse_time(end),
                                             "limit": limit}, {
        "run_at": UTC_MS, "source": pl.String, "suite": pl.String, "suite_version": pl.UInt32,
        "expectation": pl.String, "expectation_type": pl.String, "column": pl.String, "row_condition": pl.String,
        "element_count": pl.UInt64, "unexpected_count": pl.UInt64, "unexpected_percent": pl.Float64,
        "observed_value": pl.String, "unexpected_sample": pl.String, "exception": pl.String})


def dead_letters_by_reason(client: Client, start: datetime, end: datetime, bucket_minutes: int = 60,
                           project_id: int = 0) -> pl.DataFrame:
    """DLQ volume: drops per time bucket (by ``failed_at``), ``reason`` and ``step``; a drop recorded
    twice counts once. ``project_id`` 0 = all projects (drops before the project was known have 0)."""
    check_bucket(bucket_minutes)
    return frame(client, "dead_letters_by_reason", {
        "start": clickhouse_time(start), "end": clickhouse_time(end), "bucket_minutes": bucket_minutes,
        "project_id": project_id}, {"bucket": UTC_MS, "reason": pl.String, "step": pl.String, "drops": pl.UInt64})


def refusals_by_reason(client: Client, start: datetime, end: datetime, bucket_minutes: int = 60,
                       project_id: int = 0) -> pl.DataFrame:
    """What the collector refused: per time bucket (by the refusal's minute), ``project_id`` (the URL's,
    also one that does not exist; 0 = none), ``project`` (its name, '' if unknown), ``transport``,
    ``reason``, ``unit`` (``request``: the whole request; ``event``: one event inside a batch) and
    ``refusals``. ``project_id`` 0 = all projects."""
    check_bucket(bucket_minutes)
    return frame(client, "refusals_by_reason", {
        "start": clickhouse_time(start), "end": clickhouse_time(end), "bucket_minutes": bucket_minutes,
        "project_id": project_id}, {"bucket": UTC_MS, "project_id": pl.UInt64, "project": pl.String,
                                    "transport": pl.String, "reason": pl.String, "unit": pl.String,
                                    "refusals": pl.UInt64})
