"""API calls seen by the SDK (sealed hours in api_calls_hour, the rest from events): volume, failures and
latency per endpoint."""

from __future__ import annotations

from typing import Any

import polars as pl
from clickhouse_connect.driver import Client

from pipeline.queries.filters import Filters
from pipeline.queries.histograms import histogram_percentiles
from pipeline.queries.statements import rollup_frame
from pipeline.queries.tiers import pick_source

_FAILED = (pl.col("status") == 0) | (pl.col("status") >= 400)


def _parameters(filters: Filters) -> dict[str, Any]:
    return {**filters.parameters(), **pick_source(filters, "api_calls").parameters()}


def api_endpoints(client: Client, filters: Filters, limit: int = 50) -> pl.DataFrame:
    """API calls by endpoint (method + path with ids as ``:id``), most called first: ``method``,
    ``endpoint``, ``calls``, ``failures`` (HTTP status ≥ 400 or no response), ``failure_rate``
    and latency ``p50``, ``p75``, ``p95`` in ms (within 1 %)."""
    histogram = rollup_frame(client, "api_calls", _parameters(filters), {
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
    statuses = rollup_frame(client, "api_statuses", _parameters(filters), {
        "method": pl.String, "endpoint": pl.String, "status": pl.UInt16, "failure": pl.String, "calls": pl.UInt64})
    return (statuses.filter(_FAILED)
            .sort(["calls", "method", "endpoint", "status"], descending=[True, False, False, False]).head(limit))


def api_call_totals(client: Client, filters: Filters) -> pl.DataFrame:
    """One row, from the rollup (whole minutes): ``api_calls`` and ``api_failures`` (HTTP status
    ≥ 400 or no response: network error, timeout) — :func:`api_endpoints` summed over every
    endpoint, as the API-failure-rate alert reads it."""
    return rollup_frame(client, "api_call_totals", _parameters(filters),
                        {"api_calls": pl.UInt64, "api_failures": pl.UInt64}).fill_null(0)
