"""Traffic: how many people come, where they land and leave, where they come from, and what
they do — PV/UV/sessions over time, top pages, entry and exit pages, sources (Google, a
newsletter's utm_source, direct …) and UTM campaigns, time on page, the most-clicked elements
and the forms submitted."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

import ui
import view_filters
from pipeline import queries

selection = view_filters.current()
assert selection is not None
filters = selection.filters()
client = view_filters.warehouse()

st.title("Traffic")
with view_filters.warehouse_errors():
    totals = queries.traffic_totals(client, filters).row(0, named=True)
    visits = queries.session_summary(client, filters).row(0, named=True)
    trend = queries.traffic_trend(client, filters, selection.bucket_minutes)

# who came, then how their visits went: six cards in one row cut "1 min 07 s" short at 1440 px
page_views, visitors, sessions = st.columns(3)
page_views.metric("Page views", ui.count(totals["page_views"]), border=True)
visitors.metric("Unique visitors", ui.count(totals["unique_visitors"]), border=True)
sessions.metric(ui.ACTIVE_SESSIONS, ui.count(totals["sessions"]), border=True, help=ui.ACTIVE_SESSIONS_HELP)
pages, duration, bounce = st.columns(3)
pages.metric("Pages per session", "—" if visits["pages_per_session"] is None else f"{visits['pages_per_session']:.2f}",
             border=True, help=ui.of_started_sessions(visits["sessions"], "page views per session."))
duration.metric("Median session", ui.seconds(visits["median_duration_s"]), border=True,
                help=ui.of_started_sessions(visits["sessions"], "the median time from first to last event."))
bounce.metric("Bounce rate", ui.percent(visits["bounce_rate"]), border=True,
              help=ui.of_started_sessions(visits["sessions"], "the share that saw one page only."))

st.subheader("Over time")
if trend.is_empty():
    ui.no_data("traffic")
else:
    figure = go.Figure()
    for column, name in (("page_views", "Page views"), ("visitors", "Visitors"), ("sessions", "Sessions")):
        figure.add_trace(go.Scatter(x=trend["time"].to_list(), y=trend[column].to_list(), name=name, mode="lines"))
    figure.update_xaxes(range=[filters.start, filters.end])
    figure.update_yaxes(title=f"per {selection.bucket_minutes} min", rangemode="tozero")
    ui.chart(ui.compact(figure), "traffic_trend")

with view_filters.warehouse_errors():
    top = queries.top_pages(client, filters)
    entries = queries.entry_pages(client, filters)
    exits = queries.exit_pages(client, filters)
    sources = queries.sources(client, filters)
    utm = queries.campaigns(client, filters)
    dwell = queries.time_on_page(client, filters)
    clicks = queries.top_clicks(client, filters)
    forms = queries.form_submits(client, filters)

COUNT = {"format": "localized"}
left, middle, right = st.columns(3)
with left:
    st.subheader("Top pages")
    ui.table(top, "top_pages", {"path": st.column_config.TextColumn("Page"),
                                "page_views": st.column_config.NumberColumn("Views", **COUNT),
                                "visitors": st.column_config.NumberColumn("Visitors", **COUNT)})
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

left, middle, right = st.columns(3)
with left:
    st.subheader("Time on page")
    ui.table(dwell, "time_on_page", {"path": st.column_config.TextColumn("Page"),
                                     "views": st.column_config.NumberColumn("Views", **COUNT),
                                     "median_s": st.column_config.NumberColumn("Median", format="%.0f s"),
                                     "p75_s": st.column_config.NumberColumn("p75", format="%.0f s")})
with middle:
    st.subheader("Most clicked")
    ui.table(clicks, "top_clicks", {"text": st.column_config.TextColumn("Text"),
                                    "target": st.column_config.TextColumn("Element"),
                                    "href": st.column_config.TextColumn("Link"),
                                    "clicks": st.column_config.NumberColumn("Clicks", **COUNT),
                                    "visitors": st.column_config.NumberColumn("Visitors", **COUNT)})
with right:
    st.subheader("Form submits")
    ui.table(forms, "form_submits", {"form": st.column_config.TextColumn("Form"),
                                     "submits": st.column_config.NumberColumn("Submits", **COUNT),
                                     "sessions": st.column_config.NumberColumn("Sessions", **COUNT),
                                     "visitors": st.column_config.NumberColumn("Visitors", **COUNT)})
st.caption(f"{selection.time_range.label} · PV/UV and pages from the rollups (whole minutes); sessions are those "
           "that started in the range, the route filter matching their entry page; time on page, clicks and forms "
           "from raw events")
