"""Overview: is the site healthy right now? Traffic, bounce and error rates, and every Web
Vital's p75 rated good / needs improvement / poor — each against the period before it — and
events per minute (the previous period's as a faded line), refreshed live. From the rollups, so
it stays fast on any range — except the Web Vitals' changes: the difference of two rollup
percentiles carries both their errors, so it is taken between both periods' exact p75 over the
raw measurements, in one pass, and left out when the raw events no longer cover both periods.
The comparison follows the sidebar's toggle (``?compare=false`` turns it off)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import plotly.express as px
import polars as pl
import streamlit as st

import comparison
import ui
import view_filters
from pipeline import queries, settings
from pipeline.queries import vitals

# one colour per event type, the same on every refresh
EVENT_TYPE_COLOURS = {
    "page_view": "#4C78A8", "web_vital": "#72B7B2", "resource": "#BAB0AC", "api_call": "#54A24B",
    "click": "#EECA3B", "form_submit": "#B279A2", "time_on_page": "#9D755D", "custom": "#FF9DA6",
    "identify": "#79706E", "error": "#E45756",
}

selection = view_filters.current()
assert selection is not None  # main.py stops before running a page without a project
refresh_s = settings.load().dashboard_refresh_s

st.title("Overview")


def count_metric(column: Any, label: str, now: dict[str, Any], before: dict[str, Any] | None, key: str,
                 more_is_better: bool = True, help: str = "", estimated: bool = False) -> None:
    change = comparison.count_delta(now[key], before[key]) if before and before["events"] else None
    help = help or "Change against the previous period of the same length."
    column.metric(label, ui.count(now[key], estimated), delta=change,
                  delta_color="normal" if more_is_better else "inverse", border=True,
                  help=f"{help} {ui.ESTIMATED_PEOPLE_HELP}" if estimated else help)


def rate_metric(column: Any, label: str, now: dict[str, Any], before: dict[str, Any] | None, key: str,
                help: str) -> None:
    """A share (bounce rate, error rate); its change in percentage points. Lower is better."""
    delta = comparison.share_delta(now[key], before[key]) if before else None
    column.metric(label, ui.percent(now[key]), delta=delta, delta_color="inverse", border=True, help=help)


def vital_metric(column: Any, name: str, now: pl.DataFrame, changes: pl.DataFrame) -> None:
    row = _vital_row(now, name)
    label = f"{name} p75"
    if row is None:
        column.metric(label, "—", border=True, help=f"No {name} measurements in this range.")
        return
    exact = _vital_row(changes, name)
    change = exact["change"] if exact is not None else None
    column.metric(label, vitals.format_value(name, row["p75"]), border=True, delta_color="inverse",
                  delta=None if change is None else ui.vital_delta(name, change),
                  help=f"{ui.VITAL_TITLES[name]}: 75th percentile of {row['samples']:,} measurements (within 1 %); "
                       f"lower is better. {ui.percent(row['good'], 0)} of them good. The change is exact: the "
                       "difference between this period's and the previous one's exact 75th percentiles.")
    ui.rating_badge(column, row["rating"])


def _vital_row(frame: pl.DataFrame, name: str) -> dict[str, Any] | None:
    rows = frame.filter(pl.col("vital") == name)
    return rows.row(0, named=True) if rows.height else None


def events_chart(per_minute: pl.DataFrame, filters: queries.Filters, bucket_minutes: int,
                 before: pl.DataFrame | None) -> None:
    """Stacked bars of events per minute by type (averaged per bucket over long ranges); with the
    previous period's events per minute (all types) as a faded line over them."""
    rate = per_minute.with_columns(pl.col("events") / bucket_minutes)
    present = set(per_minute["type"].to_list())
    figure = px.bar(
        rate, x="minute", y="events", color="type",
        color_discrete_map=EVENT_TYPE_COLOURS,
        category_orders={"type": [t for t in EVENT_TYPE_COLOURS if t in present] + sorted(present - set(EVENT_TYPE_COLOURS))},
    )
    if before is not None:
        total = before.group_by("minute").agg(pl.col("events").sum() / bucket_minutes).sort("minute")
        comparison.previous_line(figure, total, "minute", "events", filters.span, "all events", "#555555")
    figure.update_layout(barmode="stack", bargap=0.15, xaxis_title=None,
                         yaxis_title="events per minute" + (f" ({bucket_minutes}-minute average)" if bucket_minutes > 1 else ""))
    figure.update_xaxes(range=[filters.start, filters.end])
    ui.chart(ui.compact(figure, 340), "events_per_minute")


@st.fragment(run_every=refresh_s)
def live_overview() -> None:
    filters = selection.filters()
    previous = filters.previous()
    client = view_filters.warehouse()
    with view_filters.warehouse_errors():
        traffic = queries.traffic_totals(client, filters).row(0, named=True)
        sessions = queries.session_summary(client, filters).row(0, named=True)
        vitals_now = queries.vital_summary(client, filters)
        per_minute = queries.events_by_type(client, filters, selection.bucket_minutes)
        traffic_before = sessions_before = per_minute_before = None
        vital_changes = pl.DataFrame({"vital": [], "change": []}, schema={"vital": pl.String, "change": pl.Float64})
        exact_changes = selection.compare and comparison.raw_covers(previous)
        if selection.compare:
            traffic_before = queries.traffic_totals(client, previous).row(0, named=True)
            sessions_before = queries.session_summary(client, previous).row(0, named=True)
            per_minute_before = queries.events_by_type(client, previous, selection.bucket_minutes)
        if exact_changes:
            vital_changes = queries.vital_p75_change(client, filters)

    page_views, visitors, visits, bounce, error_rate, errors = st.columns(6)
    count_metric(page_views, "Page views", traffic, traffic_before, "page_views")
    estimated = not queries.exact_people(filters)
    count_metric(visitors, "Unique visitors", traffic, traffic_before, "unique_visitors", estimated=estimated)
    count_metric(visits, ui.ACTIVE_SESSIONS, traffic, traffic_before, "sessions", estimated=estimated,
                 help=f"{ui.ACTIVE_SESSIONS_HELP} Change against the previous period of the same length.")
    rate_metric(bounce, "Bounce rate", sessions, sessions_before, "bounce_rate", ui.of_started_sessions(
        sessions["sessions"], "the share that saw one page only; change in percentage points."))
    rate_metric(error_rate, "Error rate", sessions, sessions_before, "error_rate", ui.of_started_sessions(
        sessions["sessions"], "the share that met an error (JS, promise, resource or API); change in percentage points."))
    count_metric(errors, "Errors", traffic, traffic_before, "errors", more_is_better=False)

    st.subheader("Web Vitals at the 75th percentile")
    core, more = vitals.VITAL_NAMES[:4], vitals.VITAL_NAMES[4:]  # LCP, INP, CLS, FCP · TTFB, LOAD, TTI
    for row in (core, more):
        for column, name in zip(st.columns(4), row):
            vital_metric(column, name, vitals_now, vital_changes)
    if selection.compare and not exact_changes:
        st.caption(f"No p75 changes: they are exact over the raw measurements, which are kept "
                   f"{comparison.raw_days()} days (`VIGIL_RETENTION_DAYS`), and the previous period starts before that.")

    st.subheader("Events per minute")
    if per_minute.is_empty():
        st.info(f"No events in the {selection.time_range.label.lower()}. Send some with "
                "`vigil simulate`, or embed the SDK in a site.", icon=":material/hourglass_empty:")
    else:
        events_chart(per_minute, filters, selection.bucket_minutes, per_minute_before)

    compared = " · changes against the period of the same length before it" if selection.compare else ""
    st.caption(f"{selection.time_range.label}{compared} · whole minutes, UTC · "
               f"updated {datetime.now(timezone.utc):%H:%M:%S}, every {refresh_s:g} s")


live_overview()
