"""How a page shows a period against the one before it, and what it says when the raw events
no longer cover a range: metric deltas (counts, shares in percentage points), the previous
period as a faded line on a trend chart (shifted onto this period's time axis), and the
notice that a detail read from raw events covers only their retention (``VIGIL_RETENTION_DAYS``).
"""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from pipeline import queries, settings
from time_ranges import within_raw

PREVIOUS = "previous period"  # a faded trace's name suffix
PREVIOUS_OPACITY = 0.35


def count_delta(now: int | None, before: int | None) -> str | None:
    """A count's change (``+1,204``); None when either side is unknown."""
    if now is None or before is None:
        return None
    return f"{now - before:+,}"


def share_delta(now: float | None, before: float | None) -> str | None:
    """A share's change in percentage points (``-2.5 pp``); None when either side is unknown."""
    if now is None or before is None:
        return None
    return f"{(now - before) * 100 + 0.0:+.1f} pp"


def previous_line(figure: go.Figure, frame: pl.DataFrame, x: str, y: str, shift: timedelta, name: str,
                  colour: str | None = None) -> None:
    """Draw ``frame``'s ``y`` over ``x`` (the previous period) as a faded dotted line, moved ``shift``
    later so it lies under this period's; the hover names the previous period's own time."""
    if frame.is_empty():
        return
    times = frame[x].to_list()
    figure.add_trace(go.Scatter(
        x=[when + shift for when in times], y=frame[y].to_list(), name=f"{name} ({PREVIOUS})", mode="lines",
        opacity=PREVIOUS_OPACITY, line={"dash": "dot", "width": 1.5, **({"color": colour} if colour else {})},
        customdata=[f"{when:%Y-%m-%d %H:%M}" for when in times],
        hovertemplate=f"{name}, {PREVIOUS}: %{{y}} at %{{customdata}} UTC<extra></extra>"))


def raw_days() -> int:
    """How many days raw events are kept (``VIGIL_RETENTION_DAYS``; 0: forever)."""
    return settings.load().retention_days


def raw_part(filters: queries.Filters, what: str) -> queries.Filters | None:
    """``filters`` cut to the days raw events still cover, saying on the page when that is less than
    the range (``what`` is the detail, e.g. "Time on page"); None (also said) when none of it is."""
    days = raw_days()
    part = within_raw(filters, days)
    if part is None:
        st.info(f"{what} needs the raw events, which are kept {days} days (`VIGIL_RETENTION_DAYS`); "
                "this range is older than that.", icon=":material/history_toggle_off:")
    elif part.start != filters.start:
        st.caption(f"{what}: the last {days} days only (from {part.start:%Y-%m-%d %H:%M} UTC) — raw events are "
                   f"kept {days} days (`VIGIL_RETENTION_DAYS`); the rest of the range is in the rollups only.")
    return part


def detail_part(filters: queries.Filters, what: str, family: str) -> queries.Filters | None:
    """What a detail read from the hourly rollup ``family`` (``click``, ``time_on_page``, ``resource``,
    ``navigation``, ``vital_target``: ``pipeline.queries.tiers.HOURLY_LACKS``) can answer of ``filters``:
    all of it when that rollup has every dimension filtered by (its sealed hours outlive the raw events;
    said on the page when the range is older than them), else the part raw events still cover
    (:func:`raw_part`)."""
    if not queries.hourly(filters, family):
        return raw_part(filters, what)
    if not raw_covers(filters):
        st.caption(f"{what}: from the hourly rollups before the raw events' {raw_days()} days "
                   "(`VIGIL_RETENTION_DAYS`), whole hours.")
    return filters


def raw_covers(filters: queries.Filters) -> bool:
    """Whether raw events still cover all of ``filters`` (an exact answer over them is whole)."""
    return within_raw(filters, raw_days()) is filters
