"""Traffic: how many people come, where they land and leave, where they come from, and what
they do — PV/UV/sessions over time, top pages, entry and exit pages, sources (Google, a
newsletter's utm_source, direct …) and UTM campaigns, time on page, the most-clicked elements
and the forms submitted. With the sidebar's comparison on, each headline number shows its change
against the period of the same length before, and the trend the previous period as faded lines.
Time on page and clicks come from their sealed hours, which outlive the raw events (unless a filter
needs a dimension those lack); form submits come from raw events, so on ranges older than their
retention they cover the last ``VIGIL_RETENTION_DAYS`` only, and the page says so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st

import comparison
import ui
import view_filters
from pipeline import queries

selection = view_filters.current()
assert selection is not None
filters = selection.filters()
client = view_filters.warehouse()

TREND_LINES = (("page_views", "Page views", "#636EFA"), ("visitors", "Visitors", "#EF553B"),
               ("sessions", "Sessions", "#00CC96"))

st.title("Traffic")
previous = filters.previous()
totals_before: dict[str, Any] | None = None
visits_before: dict[str, Any] | None = None
with view_filters.warehouse_errors():
    totals = queries.traffic_totals(client, filters).row(0, named=True)
    visits = queries.session_summary(client, filters).row(0, named=True)
    trend = queries.traffic_trend(client, filters, selection.bucket_minutes)
    if selection.compare:
        totals_before = queries.traffic_totals(client, previous).row(0, named=True)
        visits_before = queries.session_summary(client, previous).row(0, named=True)
        trend_before = queries.traffic_trend(client, previous, selection.bucket_minutes)


def count_change(key: str) -> str | None:
    """A traffic count's change against the previous period (none without one, or with no events in it)."""
    if totals_before is None or not totals_before["events"]:
        return None
    return comparison.count_delta(totals[key], totals_before[key])


def visit_change(key: str, show: Callable[[float], str]) -> str | None:
    """A per-session figure's change, shown with ``show``; a share's in percentage points."""
    if visits_before is None or visits[key] is None or visits_before[key] is None:
        return None
    if key == "bounce_rate":
        return comparison.share_delta(visits[key], visits_before[key])
    return show(visits[key] - visits_before[key])


# who came, then how their visits went: six cards in one row cut "1 min 07 s" short at 1440 px
page_views, visitors, sessions = st.columns(3)
page_views.metric("Page views", ui.count(totals["page_views"]), border=True, delta=count_change("page_views"))
estimated = queries.estimated(filters, "people")  # distinct people over long ranges: ≈
visitors.metric("Unique visitors", ui.count(totals["unique_visitors"], estimated), border=True,
                help=ui.ESTIMATED_PEOPLE_HELP if estimated else None, delta=count_change("unique_visitors"))
sessions.metric(ui.ACTIVE_SESSIONS, ui.count(totals["sessions"], estimated), border=True,
                help=f"{ui.ACTIVE_SESSIONS_HELP} {ui.ESTIMATED_PEOPLE_HELP}" if estimated else ui.ACTIVE_SESSIONS_HELP,
                delta=count_change("sessions"))
pages, duration, bounce = st.columns(3)
pages.metric("Pages per session", "—" if visits["pages_per_session"] is None else f"{visits['pages_per_session']:.2f}",
             border=True, help=ui.of_started_sessions(visits["sessions"], "page views per session."),
             delta=visit_change("pages_per_session", lambda change: f"{change + 0.0:+.2f}"))
duration.metric("Median session", ui.seconds(visits["median_duration_s"]), border=True,
                help=ui.of_started_sessions(visits["sessions"], "the median time from first to last event."),
                delta=visit_change("median_duration_s", lambda change: f"{round(change) + 0:+d} s"))
bounce.metric("Bounce rate", ui.percent(visits["bounce_rate"]), border=True, delta_color="inverse",
              help=ui.of_started_sessions(visits["sessions"], "the share that saw one page only."),
              delta=visit_change("bounce_rate", str))

st.subheader("Over time")
if trend.is_empty():
    ui.no_data("traffic")
else:
    figure = go.Figure()
    for column, name, colour in TREND_LINES:
        figure.add_trace(go.Scatter(x=trend["time"].to_list(), y=trend[column].to_list(), name=name, mode="lines",
                                    line={"color": colour}))
    if selection.compare:
        for column, name, colour in TREND_LINES:
            comparison.previous_line(figure, trend_before, "time", column, filters.span, name, colour)
    figure.update_xaxes(range=[filters.start, filters.end])
    figure.update_yaxes(title=f"per {selection.bucket_minutes} min", rangemode="tozero")
    ui.chart(ui.compact(figure), "traffic_trend")

with view_filters.warehouse_errors():
    top = queries.top_pages(client, filters)
    breakdowns = queries.session_breakdowns(client, filters)  # entry and exit pages, sources, campaigns: one read
    entries, exits, sources, utm = (breakdowns[key] for key in ("entry", "exit", "sources", "campaigns"))

COUNT = {"format": "localized"}
left, middle, right = st.columns(3)
with left:
    st.subheader("Top pages")
    ui.table(top, "top_pages", {"path": st.column_config.TextColumn("Page"),
                                "page_views": st.column_config.NumberColumn("Views", **COUNT),
                                "visitors": st.column_config.NumberColumn(
                                    "Visitors", help=ui.ESTIMATED_PEOPLE_HELP if estimated else None, **COUNT)})
with middle:
    st.subheader("Entry pages")
    ui.table(entries, "entry_pages", {"page": st.column_config.TextColumn("Page"),
                                      "sessions": st.column_config.NumberColumn("Sessions", **COUNT),
                                      "bounce_rate": ui.share_column("Bounce rate")})
with right:
    st.subheader("Exit pages")
    ui.table(exits, "exit_pages", {"page": st.column_config.TextColumn("Page"),
                                   "sessions": st.column_config.NumberColumn("Exits", **COUNT),
                                   "bounce_rate": ui.share_column("Bounce rate")})

left, right = st.columns(2)
with left:
    st.subheader("Sources")
    ui.table(sources, "sources", {"source": st.column_config.TextColumn("Source"),
                                  "sessions": st.column_config.NumberColumn("Sessions", **COUNT),
                                  "bounce_rate": ui.share_column("Bounce rate")})
with right:
    st.subheader("Campaigns (UTM)")
    if utm.is_empty():
        ui.no_data("sessions with utm_ tags")
    else:
        ui.table(utm, "campaigns", {"source": st.column_config.TextColumn("Source"),
                                    "medium": st.column_config.TextColumn("Medium"),
                                    "campaign": st.column_config.TextColumn("Campaign"),
                                    "sessions": st.column_config.NumberColumn("Sessions", **COUNT),
                                    "bounce_rate": ui.share_column("Bounce rate")})

# time on page and clicks from their sealed hours (and raw the rest), form submits from raw events only
dwell_part = comparison.detail_part(filters, "Time on page", "time_on_page")
clicks_part = comparison.detail_part(filters, "Most clicked", "click")
forms_part = comparison.raw_part(filters, "Form submits")
with view_filters.warehouse_errors():
    dwell = None if dwell_part is None else queries.time_on_page(client, dwell_part)
    clicks = None if clicks_part is None else queries.top_clicks(client, clicks_part)
    forms = None if forms_part is None else queries.form_submits(client, forms_part)
left, middle, right = st.columns(3)
with left:
    st.subheader("Time on page")
    if dwell is not None:
        ui.table(dwell, "time_on_page", {"path": st.column_config.TextColumn("Page"),
                                         "views": st.column_config.NumberColumn("Views", **COUNT),
                                         "median_s": st.column_config.NumberColumn("Median", format="%.0f s"),
                                         "p75_s": st.column_config.NumberColumn("p75", format="%.0f s")})
with middle:
    st.subheader("Most clicked")
    if clicks is not None:
        clickers = ui.ESTIMATED_PEOPLE_HELP if queries.estimated(clicks_part, "people") else None  # past 7 days
        ui.table(clicks, "top_clicks", {"text": st.column_config.TextColumn("Text"),
                                        "target": st.column_config.TextColumn("Element"),
                                        "href": st.column_config.TextColumn("Link"),
                                        "clicks": st.column_config.NumberColumn("Clicks", **COUNT),
                                        "visitors": st.column_config.NumberColumn("Visitors", help=clickers, **COUNT)})
with right:
    st.subheader("Form submits")
    if forms is not None:
        ui.table(forms, "form_submits", {"form": st.column_config.TextColumn("Form"),
                                         "submits": st.column_config.NumberColumn("Submits", **COUNT),
                                         "sessions": st.column_config.NumberColumn("Sessions", **COUNT),
                                         "visitors": st.column_config.NumberColumn("Visitors", **COUNT)})
st.caption(f"{selection.time_range.label} · PV/UV and pages from the rollups (whole minutes); sessions are those "
           "that started in the range, the route filter matching their entry page; time on page and clicks from "
           "sealed hours and raw events; forms from raw events")
