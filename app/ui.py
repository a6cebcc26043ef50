"""How the pages show things: number formats, rating colours and badges, tables and chart defaults.

Values that come from event data (messages, URLs, selectors, user names) are shown through
``st.dataframe``, ``st.text``, ``st.code`` or Plotly — never through markdown or HTML.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from pipeline.queries import vitals

# Google's colours for the three ratings, with an icon so colour is never the only cue
RATING_BADGE: dict[str, tuple[str, str, str]] = {
    "good": ("green", ":material/check_circle:", "Good"),
    "needs-improvement": ("orange", ":material/warning:", "Needs improvement"),
    "poor": ("red", ":material/error:", "Poor"),
}
RATING_COLOURS = {"good": "#0CCE6B", "needs-improvement": "#FFA400", "poor": "#FF4E42"}
RATING_LABELS = {"good": "Good", "needs-improvement": "Needs improvement", "poor": "Poor"}
PLOTLY_CONFIG = {"displaylogo": False}
VITAL_TITLES = {
    "LCP": "Largest Contentful Paint", "INP": "Interaction to Next Paint", "CLS": "Cumulative Layout Shift",
    "FCP": "First Contentful Paint", "TTFB": "Time to First Byte", "LOAD": "Page load (loadEventEnd)",
    "TTI": "Time to interactive (domInteractive)",
}


# Two ways to count sessions, side by side on the Overview and Traffic pages: a card says which
ACTIVE_SESSIONS = "Active sessions"
ACTIVE_SESSIONS_HELP = ("Sessions with an event in the range, also those that started before it. Bounce rate, "
                        "error rate and the other per-session figures count only the sessions that started in it.")


def of_started_sessions(sessions: int, what: str) -> str:
    """A per-session figure's help text, naming the sessions it is over (those that started in the range)."""
    return f"Of the {sessions:,} sessions that started in the range (with a page view): {what}"


def count(value: int | None, estimated: bool = False) -> str:
    """A count as people read it (``12,345``); ``≈ 12,345`` when it is an estimate."""
    if value is None:
        return "—"
    return f"≈ {value:,}" if estimated else f"{value:,}"


# what a ≈ beside a count of people says (queries.exact_people: ranges longer than 7 days)
ESTIMATED_PEOPLE_HELP = "Over ranges longer than 7 days distinct people are estimated, within ±1 %."


def percent(share: float | None, digits: int = 1) -> str:
    return "—" if share is None else f"{share * 100:.{digits}f} %"


def seconds(value: float | None) -> str:
    """A duration people read at a glance: ``42 s``, ``3 min 05 s``."""
    if value is None:
        return "—"
    if value < 60:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


def vital_value(name: str, value: float | None) -> str:
    return "—" if value is None else vitals.format_value(name, value)


def vital_delta(name: str, change: float) -> str:
    """The change of a vital's value as a metric delta: ``-1,750 ms``, ``+0.02``."""
    unitless = vitals.THRESHOLDS[name].unit == ""
    change = round(change, 2 if unitless else 0) + 0.0  # + 0.0: never "-0"
    return f"{change:+.2f}" if unitless else f"{change:+,.0f} ms"


def rating_badge(container: Any, rating: str | None) -> None:
    if rating in RATING_BADGE:
        colour, icon, text = RATING_BADGE[rating]
        container.badge(text, icon=icon, color=colour)


def table(frame: pl.DataFrame, key: str, column_config: dict[str, Any] | None = None, height: int | None = None) -> None:
    """A read-only table; text cells are shown as text."""
    options: dict[str, Any] = {"hide_index": True, "key": key, "column_config": column_config or {}}
    if height is not None:
        options["height"] = height
    st.dataframe(frame, **options)


def share_column(label: str, help: str | None = None) -> Any:
    return st.column_config.ProgressColumn(label, min_value=0.0, max_value=1.0, format="percent", help=help)


def threshold_bands(figure: go.Figure, name: str, top: float) -> None:
    """Shade the good / needs-improvement / poor ranges of a vital behind a chart's y axis."""
    threshold = vitals.THRESHOLDS[name]
    for rating, low, high in (("good", 0, threshold.good), ("needs-improvement", threshold.good, threshold.poor),
                              ("poor", threshold.poor, max(top, threshold.poor * 1.2))):
        figure.add_hrect(y0=low, y1=high, fillcolor=RATING_COLOURS[rating], opacity=0.08, line_width=0, layer="below")


def compact(figure: go.Figure, height: int = 320) -> go.Figure:
    figure.update_layout(height=height, margin={"l": 0, "r": 0, "t": 8, "b": 0},
                         legend={"title": {"text": ""}, "orientation": "h", "y": -0.2})
    return figure


def chart(figure: go.Figure, key: str) -> None:
    st.plotly_chart(figure, key=key, config=PLOTLY_CONFIG)


def no_data(what: str) -> None:
    st.info(f"No {what} in this range with these filters.", icon=":material/hourglass_empty:")
