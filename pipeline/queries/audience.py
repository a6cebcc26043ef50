"""Traffic: events, page views, visitors and sessions of a range, and the filters' choices.

Raw answers (:func:`events_per_minute`, :func:`traffic_summary`) are exact to the millisecond;
rollup answers (the rest) cover whole minutes: sealed hours from the hourly rollups (plain counts
and visitor/session sets, recomputed from the raw events), every other minute from the raw events.
"""

from __future__ import annotations

import polars as pl
from clickhouse_connect.driver import Client

from pipeline.warehouse.projects import list_projects
from pipeline.queries.filters import DIMENSION_NAMES, UNKNOWN_COUNTRY, Filters, check_bucket
from pipeline.queries.statements import ROLLUP_SETTINGS, UTC_MS, frame, rollup_frame, sql, wire
from pipeline.queries.tiers import daily, estimated, pick_source

_TOTALS = {"page_views": pl.UInt64, "unique_visitors": pl.UInt64, "sessions": pl.UInt64,
           "errors": pl.UInt64, "events": pl.UInt64}


def events_per_minute(client: Client, filters: Filters, bucket_minutes: int = 1) -> pl.DataFrame:
    """Events per minute and type: ``minute`` (UTC), ``type``, ``events``; minutes without events are absent.

    Over long ranges, ``bucket_minutes`` > 1 counts per bucket of that many minutes instead
    (``minute`` is then the bucket's first minute, ``events`` the bucket's count), so a week
    is 168 hourly bars rather than 10,080 one-minute ones.
    """
    check_bucket(bucket_minutes)
    return frame(client, "events_per_minute", {**filters.parameters(), "bucket_minutes": bucket_minutes},
                 {"minute": UTC_MS, "type": pl.String, "events": pl.UInt64})


def traffic_summary(client: Client, filters: Filters) -> pl.DataFrame:
    """One row: ``page_views`` (PV), ``unique_visitors`` (UV, distinct visitor ids with any event),
    ``sessions`` (distinct session ids), ``errors`` (error events of every kind) and ``events``."""
    return frame(client, "traffic_summary", filters.parameters(), _TOTALS)


def traffic_totals(client: Client, filters: Filters) -> pl.DataFrame:
    """One row, from the rollups (whole minutes): ``page_views`` (PV), ``unique_visitors`` (UV:
    visitor ids with any event), ``sessions`` (session ids with any event), ``errors`` and
    ``events``. :func:`traffic_summary` answers the same from raw events, exact to the ms. Visitors
    and sessions over ranges longer than 7 days are estimates (:func:`~pipeline.queries.tiers.estimated`)."""
    source = pick_source(filters, "traffic", sealed=True)
    parameters = {**filters.parameters(), "bucket_minutes": 1, "exact_people": not estimated(filters, "people"),
                  **source.parameters()}
    # since 091 a sealed audience hour holds plain counts, so the sealed rows are the audience rows
    rows = "audience" if source.rows == "sealed" else source.rows
    return rollup_frame(client, f"traffic_totals_{rows}", parameters, _TOTALS).fill_null(0)


def traffic_trend(client: Client, filters: Filters, bucket_minutes: int = 1) -> pl.DataFrame:
    """PV, UV and sessions per bucket of ``bucket_minutes``: ``time`` (bucket start, UTC),
    ``page_views``, ``visitors``, ``sessions`` (distinct within each bucket; estimated over ranges
    longer than 7 days: :func:`~pipeline.queries.tiers.estimated`); empty buckets absent."""
    check_bucket(bucket_minutes)
    source = pick_source(filters, "traffic", bucket_minutes)
    parameters = {**filters.parameters(), "bucket_minutes": bucket_minutes,
                  "exact_people": not estimated(filters, "people"), **source.parameters()}
    return rollup_frame(client, f"traffic_trend_{source.rows}", parameters,
                        {"time": UTC_MS, "page_views": pl.UInt64, "visitors": pl.UInt64, "sessions": pl.UInt64})


def events_by_type(client: Client, filters: Filters, bucket_minutes: int = 1) -> pl.DataFrame:
    """Events per bucket of ``bucket_minutes`` and type, from the rollups: ``minute`` (bucket start,
    UTC), ``type``, ``events`` — :func:`events_per_minute`'s answer, in whole minutes."""
    check_bucket(bucket_minutes)
    parameters = {**filters.parameters(), "bucket_minutes": bucket_minutes,
                  **pick_source(filters, "traffic", bucket_minutes, per_route=True).parameters()}
    return rollup_frame(client, "events_by_type", parameters,
                        {"time": UTC_MS, "type": pl.String, "counted": pl.UInt64}
                        ).rename({"time": "minute", "counted": "events"})


def top_pages(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """The most viewed pages: ``path``, ``page_views``, ``visitors`` (with any event on the page;
    estimated over ranges longer than 7 days: :func:`~pipeline.queries.tiers.estimated`, then the
    whole days sealed in traffic_day (098) answer as uniqCombined64 states unless a filter needs the
    hours: :func:`~pipeline.queries.tiers.daily`)."""
    exact = not estimated(filters, "people")
    parameters = {**filters.parameters(), "limit": limit, "exact_people": exact,
                  **pick_source(filters, "traffic", per_route=True).parameters()}
    name = "top_pages"
    if not exact and daily(filters, "traffic"):
        name, parameters["day_table"] = "top_pages_days", "traffic_day"
    return rollup_frame(client, name, parameters, {"path": pl.String, "page_views": pl.UInt64, "visitors": pl.UInt64})


def filter_options(client: Client, filters: Filters, limit: int = 200) -> dict[str, list[str]]:
    """The values each dimension filter can take in the range (whatever the dimension filters
    are): ``{"environment": [...], "release": [...], "route": [...], "device": [...],
    "browser": [...], "country": [...]}``, the most frequent first (up to ``limit``) — from the
    sessions that started in the range and the pages viewed in its hours; a missing country is
    :data:`UNKNOWN_COUNTRY`, other empty values are left out."""
    unfiltered = Filters(filters.project_id, filters.start, filters.end)  # whatever the filters are
    # rows/sessions reads every start hour (099's days lack the dimensions): rendered without the days' lookups
    no_days = {"hours_start": unfiltered.parameters()["start"], "hours_end": unfiltered.parameters()["start"],
               "day_table": "session_day"}
    rows = client.query(wire(sql("filter_options", days=False)),
                        parameters={**unfiltered.parameters(), "limit": limit, **no_days},
                        settings=ROLLUP_SETTINGS).named_results()
    found = next(iter(rows), {})
    options: dict[str, list[str]] = {}
    for dimension in DIMENSION_NAMES:
        values = list(found.get(dimension) or [])
        if dimension == "country":
            values = [value or UNKNOWN_COUNTRY for value in values]
        options[dimension] = [value for value in values if value]
    return options


def projects(client: Client) -> pl.DataFrame:
    """Every project a viewer can pick: ``id``, ``name``, ordered by id."""
    rows = [(project.id, project.name) for project in list_projects(client)]
    return pl.DataFrame(rows, schema={"id": pl.UInt32, "name": pl.String}, orient="row")
