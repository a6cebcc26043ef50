"""Overview: is the site healthy right now? Traffic, errors and Web Vitals for the chosen
range, each against the period before it, and events per minute — refreshed live."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import plotly.express as px
import polars as pl
import streamlit as st

import view_filters
from pipeline import settings, vitals
from pipeline.warehouse import queries

# Google's colours for the three ratings, with an icon so colour is never the only cue
RATING_BADGE: dict[str, tuple[str, str, str]] = {
    "good": ("green", ":material/check_circle:", "Good"),
    "needs-improvement": ("orange", ":material/warning:", "Needs improvement"),
    "poor": ("red", ":material/error:", "Poor"),
}
# one colour per event type, the same on every refresh
EVENT_TYPE_COLOURS = {
    "page_view": "#4C78A8", "web_vital": "#72B7B2", "resource": "#BAB0AC", "api_call": "#54A24B",
    "click": "#EECA3B", "form_submit": "#B279A2", "time_on_page": "#9D755D", "custom": "#FF9DA6",
    "identify": "#79706E", "error": "#E45756",
}
SECONDARY_VITALS = tuple(name for name in vitals.VITAL_NAMES if name != "LCP")

selection = view_filters.current()
assert selection is not None  # main.py stops before running a page without a project
refresh_s = settings.load().dashboard_refresh_s

st.title("Overview")


def count_metric(column, label: str, now: dict[str, Any], before: dict[str, Any], key: str,
                 more_is_better: bool = True) -> None:
    change = now[key] - before[key] if before["events"] else None
    column.metric(label, f"{now[key]:,}", delta=None if change is None else f"{change:+,}",
                  delta_color="normal" if more_is_better else "inverse", border=True,
                  help="Change against the previous period of the same length.")


def vital_metric(column, name: str, now: pl.DataFrame, before: pl.DataFrame) -> None:
    row = _vital_row(now, name)
    label = f"{name} p75"
    if row is None:
        column.metric(label, "—", border=True, help=f"No {name} measurements in this range.")
        return
    previous = _vital_row(before, name)
    delta = None
    if previous is not None:
        unitless = vitals.THRESHOLDS[name].unit == ""
        change = round(row["p75"] - previous["p75"], 2 if unitless else 0) + 0.0  # + 0.0: never "-0"
        delta = f"{change:+.2f}" if unitless else f"{change:+,.0f} ms"
    column.metric(label, vitals.format_value(name, row["p75"]), delta=delta, delta_color="inverse", border=True,
                  help=f"75th percentile of {row['samples']:,} measurements; lower is better.")
    colour, icon, text = RATING_BADGE[row["rating"]]
    column.badge(text, icon=icon, color=colour)


def _vital_row(frame: pl.DataFrame, name: str) -> dict[str, Any] | None:
    rows = frame.filter(pl.col("vital") == name)
    return rows.row(0, named=True) if rows.height else None


def events_chart(per_minute: pl.DataFrame, filters: queries.Filters, bucket_minutes: int) -> None:
    """Stacked bars of events per minute by type (averaged per bucket over long ranges)."""
    rate = per_minute.with_columns(pl.col("events") / bucket_minutes)
    figure = px.bar(
        rate, x="minute", y="events", color="type",
        color_discrete_map=EVENT_TYPE_COLOURS,
        category_orders={"type": [t for t in EVENT_TYPE_COLOURS if t in set(per_minute["type"].to_list())]},
    )
    figure.update_layout(barmode="stack", bargap=0.15, height=340, margin={"l": 0, "r": 0, "t": 8, "b": 0},
                         legend={"title": {"text": ""}, "orientation": "h", "y": -0.18},
                         xaxis_title=None,
                         yaxis_title="events per minute" + (f" ({bucket_minutes}-minute average)" if bucket_minutes > 1 else ""))
    figure.update_xaxes(range=[filters.start, filters.end])
    st.plotly_chart(figure, key="events_per_minute", config={"displaylogo": False})


@st.fragment(run_every=refresh_s)
def live_overview() -> None:
    filters = selection.filters()
    client = view_filters.warehouse()
    with view_filters.warehouse_errors():
        summary = queries.traffic_summary(client, filters).row(0, named=True)
        summary_before = queries.traffic_summary(client, filters.previous()).row(0, named=True)
        vitals_now = queries.vital_percentiles(client, filters)
        vitals_before = queries.vital_percentiles(client, filters.previous())
        per_minute = queries.events_per_minute(client, filters, selection.time_range.bucket_minutes)

    page_views, visitors, sessions, errors, lcp = st.columns(5)
    count_metric(page_views, "Page views", summary, summary_before, "page_views")
    count_metric(visitors, "Unique visitors", summary, summary_before, "unique_visitors")
    count_metric(sessions, "Sessions", summary, summary_before, "sessions")
    count_metric(errors, "Errors", summary, summary_before, "errors", more_is_better=False)
    vital_metric(lcp, "LCP", vitals_now, vitals_before)

    st.subheader("Events per minute")
    if per_minute.is_empty():
        st.info(f"No events in the {selection.time_range.label.lower()}. Send some with "
                "`vigil simulate`, or embed the SDK in a site.", icon=":material/hourglass_empty:")
    else:
        events_chart(per_minute, filters, selection.time_range.bucket_minutes)

    st.subheader("Web Vitals at the 75th percentile")
    for column, name in zip(st.columns(len(SECONDARY_VITALS)), SECONDARY_VITALS):
        vital_metric(column, name, vitals_now, vitals_before)

    st.caption(f"{selection.time_range.label} · changes against the period of the same length before it · "
               f"times in UTC · updated {datetime.now(timezone.utc):%H:%M:%S}, every {refresh_s:g} s")


live_overview()
