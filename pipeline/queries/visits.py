"""Sessions and what people did in them: bounce, duration, entry and exit pages, where they came
from, time on page, clicks and forms.

Session answers read ``session_day``'s sealed whole days (099), the ``sessions`` rollup for the
other start hours it has sealed and the raw events for the rest (091; a session is in the range
when it started in it; the route filter matches its entry page); time on page reads
time_on_page_day's sealed days (100), time_on_page_hour's other sealed hours and the raw events
(096, percentiles within 1 %), the most clicked elements click_hour's (094); forms read the raw
events, exact.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from clickhouse_connect.driver import Client

from pipeline.contract import DIRECT
from pipeline.queries.filters import Filters
from pipeline.queries.histograms import KEYED_HISTOGRAM, histogram_percentiles, ranked_percentiles
from pipeline.queries.statements import frame, rollup_frame
from pipeline.queries.tiers import estimated, pick_source, reads_days


def session_summary(client: Client, filters: Filters) -> pl.DataFrame:
    """One row about the sessions that started in the range (with a page view): ``sessions``,
    ``bounces`` (one page view), ``bounce_rate``, ``with_errors`` (met an error of any kind),
    ``error_rate`` (their share), ``pages_per_session`` and ``median_duration_s`` (first to last
    event). Rates and averages are null without sessions. When whole days sealed in session_day
    answer (099), the median is read from the durations' histogram (within 1 %), else it is exact."""
    parameters, days = _session_parameters(filters)
    answer = rollup_frame(client, "session_summary", parameters, {
        "duration_bucket": pl.Int16, "sessions": pl.UInt64, "bounces": pl.UInt64, "with_errors": pl.UInt64,
        "pages": pl.UInt64, "low": pl.Float64, "high": pl.Float64, "days": pl.UInt64,
        "median_duration_s": pl.Float64}, days=days)
    if answer.is_empty():
        return pl.DataFrame([[0, 0, None, 0, None, None, None]], orient="row", schema={
            "sessions": pl.UInt64, "bounces": pl.UInt64, "bounce_rate": pl.Float64, "with_errors": pl.UInt64,
            "error_rate": pl.Float64, "pages_per_session": pl.Float64, "median_duration_s": pl.Float64})
    median = answer["median_duration_s"][0]
    if answer["days"][0] > 0:
        buckets = answer.rename({"duration_bucket": "bucket", "sessions": "samples"})
        median = histogram_percentiles(buckets, [])["p50"][0] / 1000
    sessions = pl.col("sessions")
    return answer.select(sessions.sum(), pl.col("bounces").sum(), pl.col("with_errors").sum(), pl.col("pages").sum()).select(
        "sessions", "bounces", (pl.col("bounces") / sessions).alias("bounce_rate"), "with_errors",
        (pl.col("with_errors") / sessions).alias("error_rate"), (pl.col("pages") / sessions).alias("pages_per_session"),
        pl.lit(median, pl.Float64).alias("median_duration_s"))


def _session_parameters(filters: Filters) -> tuple[dict[str, Any], bool]:
    """The session statements' parameters: the filters', and the whole days session_day (099) may
    answer (none when a filter needs what it lacks: tiers.HOURLY_LACKS["session"]); and whether
    the statement is rendered with the days' lookups (:func:`~pipeline.queries.tiers.reads_days`)."""
    source = pick_source(filters, "session")
    return ({**filters.parameters(), "hours_start": source.hours_start, "hours_end": source.hours_end,
             "day_table": "session_day"}, reads_days(filters, source))


def session_breakdowns(client: Client, filters: Filters, limit: int = 20) -> dict[str, pl.DataFrame]:
    """Where the range's sessions started, ended and came from, in one read of them (the Traffic
    page shows all four; four reads cost 1.6× one at 30 days of 100M events): ``entry`` and ``exit``
    (:func:`entry_pages`, :func:`exit_pages`), ``sources`` (:func:`sources`) and ``campaigns``
    (:func:`campaigns`), each its ``limit`` most frequent values."""
    parameters, days = _session_parameters(filters)
    rows = rollup_frame(client, "session_breakdowns", {**parameters, "direct": DIRECT, "limit": limit}, {
        "breakdown": pl.String, "entry": pl.String, "exit": pl.String, "source": pl.String,
        "utm_source": pl.String, "utm_medium": pl.String, "utm_campaign": pl.String,
        "sessions": pl.UInt64, "bounce_rate": pl.Float64}, days=days)

    def part(breakdown: str, *columns: pl.Expr) -> pl.DataFrame:
        return rows.filter(pl.col("breakdown") == breakdown).select(*columns, "sessions", "bounce_rate")

    return {"entry": part("entry", pl.col("entry").alias("page")),
            "exit": part("exit", pl.col("exit").alias("page")),
            "sources": part("source", pl.col("source")),
            "campaigns": part("campaign", pl.col("utm_source").alias("source"), pl.col("utm_medium").alias("medium"),
                              pl.col("utm_campaign").alias("campaign"))}


def entry_pages(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Where sessions started: ``page`` (path of their first page view), ``sessions``, ``bounce_rate``."""
    return session_breakdowns(client, filters, limit)["entry"]


def exit_pages(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Where sessions ended: ``page`` (path of their last page view), ``sessions``, ``bounce_rate``."""
    return session_breakdowns(client, filters, limit)["exit"]


def sources(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Where sessions came from: ``source`` (the entry page view's ``referrer_source``: a tagged
    source, a known name such as ``Google``, the referrer's host, or ``Direct / None``),
    ``sessions``, ``bounce_rate``."""
    return session_breakdowns(client, filters, limit)["sources"]


def campaigns(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Sessions by their entry page view's UTM tags (decoded, as the processor stores them):
    ``source``, ``medium``, ``campaign``, ``sessions``, ``bounce_rate``; sessions without any
    utm_ tag are left out."""
    return session_breakdowns(client, filters, limit)["campaigns"]


def time_on_page(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """How long pages stay visible (time_on_page events): ``path``, ``views``, ``median_s`` and
    ``p75_s``; the ``limit`` paths with the most views. From time_on_page_day's sealed days (100),
    time_on_page_hour's other sealed hours and the raw events (096): percentiles within 1 %."""
    source = pick_source(filters, "time_on_page")
    parameters = {**filters.parameters(), "limit": limit, **source.parameters(), "day_table": "time_on_page_day"}
    histogram = rollup_frame(client, "time_on_page", parameters, {"key": pl.String, **KEYED_HISTOGRAM},
                             days=reads_days(filters, source))
    return ranked_percentiles(histogram, "path").select(
        "path", pl.col("samples").alias("views"), (pl.col("p50") / 1000).alias("median_s"),
        (pl.col("p75") / 1000).alias("p75_s"))


def top_clicks(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """The most clicked elements: ``target`` (CSS selector, else element id), the element's
    ``text`` and a link's ``href`` (so one nav bar's links are rows of their own), ``clicks``,
    ``visitors`` (distinct visitor hashes; estimated over ranges longer than 7 days:
    :func:`~pipeline.queries.tiers.estimated`); the sealed hours of ``click_hour`` (094) and the
    raw clicks of the rest of the range (``tiers.pick_source``)."""
    parameters = {**filters.parameters(), "limit": limit, "exact_people": not estimated(filters, "people"),
                  **pick_source(filters, "click").parameters()}
    return rollup_frame(client, "top_clicks", parameters,
                        {"target": pl.String, "text": pl.String, "href": pl.String,
                         "clicks": pl.UInt64, "visitors": pl.UInt64})


def form_submits(client: Client, filters: Filters, limit: int = 20) -> pl.DataFrame:
    """Forms submitted: ``form`` (form id, else name), ``submits``, ``sessions``, ``visitors``."""
    return frame(client, "form_submits", {**filters.parameters(), "limit": limit},
                 {"form": pl.String, "submits": pl.UInt64, "sessions": pl.UInt64, "visitors": pl.UInt64})
