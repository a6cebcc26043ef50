"""Funnels: of the sessions (or visitors) that did step 1, how many went on to each next step
within the conversion window — per step conversion and drop-off, optionally broken down by
device, browser, country, release or connection. Funnels can be saved under a name.

Steps are written one per line (kept in the URL, so a funnel can be shared as a link):

    page /                          a page view whose path matches (* is a wildcard)
    page /p/*
    event add_to_cart               a custom event by name, or an event type (form_submit, …)
    event form_submit form_id=checkout    … whose property equals a value
"""

from __future__ import annotations

from datetime import timedelta

import plotly.graph_objects as go
import polars as pl
import streamlit as st

import comparison
import ui
import view_filters
from pipeline import queries
from pipeline.queries import FunnelStep
from pipeline.queries import dashboard_state

EXAMPLE_STEPS = "page /\npage /p/*\npage /cart\npage /checkout\nevent purchase"
# the pickers' options are also their URL values (?window=1+hour&unit=Visitors&funnel_breakdown=Device)
WINDOWS = {"5 minutes": 5, "30 minutes": 30, "1 hour": 60, "6 hours": 360, "1 day": 1440}
UNITS = {"Sessions": "session", "Visitors": "visitor"}
BREAKDOWNS = {"None": "", "Device": "device", "Browser": "browser", "Country": "country", "Release": "release",
              "Connection": "connection", "Environment": "environment"}
NEW_FUNNEL = ""


def parse_steps(text: str) -> list[FunnelStep]:
    """Steps from their text form (see the module's docstring); raises ValueError saying which line is wrong."""
    steps = []
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split()
        if not words:
            continue
        if words[0] not in ("page", "event") or len(words) not in (2, 3):
            raise ValueError(f"line {number}: write `page /path`, `event name` or `event name property=value`")
        property_name = property_value = ""
        if len(words) == 3:
            property_name, equals, property_value = words[2].partition("=")
            if not equals or not property_name:
                raise ValueError(f"line {number}: a property filter is written `property=value`")
        steps.append(FunnelStep(words[0], words[1], property_name, property_value))
    if not 2 <= len(steps) <= queries.MAX_FUNNEL_STEPS:
        raise ValueError(f"a funnel has 2 to {queries.MAX_FUNNEL_STEPS} steps; this one has {len(steps)}")
    return steps


def steps_text(steps: tuple[FunnelStep, ...]) -> str:
    return "\n".join(f"{s.kind} {s.match}" + (f" {s.property_name}={s.property_value}" if s.property_name else "")
                     for s in steps)


selection = view_filters.current()
assert selection is not None
client = view_filters.warehouse()
st.title("Funnels")

with view_filters.warehouse_errors():
    saved = dashboard_state.saved_funnels(client, selection.project_id)


def load_saved() -> None:
    """Picking a saved funnel fills the editor with its definition."""
    funnel = saved.get(st.session_state.get("funnel") or "")
    if funnel is not None:
        st.session_state["steps"] = steps_text(funnel.steps)
        st.session_state["window"] = next((label for label, minutes in WINDOWS.items()
                                           if minutes == funnel.window_minutes), "1 hour")
        st.session_state["unit"] = next(label for label, unit in UNITS.items() if unit == funnel.unit)


view_filters.check_choice("funnel", [NEW_FUNNEL, *saved], "the name of a funnel saved for this project",
                          list_choices=False)
view_filters.check_choice("window", WINDOWS, "a conversion window")
view_filters.check_choice("unit", UNITS, "a unit to count")
view_filters.check_choice("funnel_breakdown", BREAKDOWNS, "a breakdown")
definition_column, options_column = st.columns([3, 2])
with options_column:
    st.selectbox("Saved funnel", [NEW_FUNNEL, *saved], key="funnel", bind="query-params", on_change=load_saved,
                 format_func=lambda name: name or "New funnel")
    window_minutes = WINDOWS[st.selectbox("Conversion window", list(WINDOWS), index=2, key="window",
                                          bind="query-params", help="Every step must happen within this long of the first.")]
    unit_label = st.segmented_control("Count", list(UNITS), default="Sessions", required=True, key="unit",
                                      bind="query-params")
    unit = UNITS[unit_label]
    breakdown_label = st.selectbox("Break down by", list(BREAKDOWNS), key="funnel_breakdown", bind="query-params")
    breakdown = BREAKDOWNS[breakdown_label]
with definition_column:
    if "steps" not in st.session_state and not st.query_params.get("steps"):
        chosen = saved.get(st.query_params.get("funnel", ""))
        st.session_state["steps"] = steps_text(chosen.steps) if chosen else EXAMPLE_STEPS
    text = st.text_area("Steps, one per line", key="steps", height=180, bind="query-params",
                        help="`page /path` (a page view; * is a wildcard), `event name` (a custom event or an event "
                             "type such as form_submit), optionally `property=value` after an event's name.")

try:
    steps = parse_steps(text)
except ValueError as error:
    st.error(f"These steps cannot be counted: {error}", icon=":material/edit_note:")
    st.stop()

filters = comparison.raw_part(selection.filters(), "Funnels")  # journeys are read from raw events
if filters is None:
    st.stop()
window = timedelta(minutes=window_minutes)
compared = selection.compare and comparison.raw_covers(filters.previous())
first_before = last_before = None
with view_filters.warehouse_errors():
    result = queries.funnel(client, filters, steps, window, unit=unit, breakdown=breakdown)
    if compared:
        before = queries.funnel(client, filters.previous(), steps, window, unit=unit).sort("step")["units"]
        first_before, last_before = (before[0], before[-1]) if len(before) else (0, 0)

unit_label = unit_label.lower()
if result.is_empty() or result["units"].max() == 0:
    ui.no_data(f"{unit_label} that did the first step")
else:
    whole = result.group_by("step", "label").agg(pl.col("units").sum()).sort("step")
    first, last = whole["units"][0], whole["units"][-1]
    entered, completed, converted = st.columns(3)
    entered.metric(f"Entered ({unit_label})", ui.count(first), border=True,
                   delta=comparison.count_delta(first, first_before))
    completed.metric("Completed", ui.count(last), border=True, delta=comparison.count_delta(last, last_before))
    converted.metric("Conversion", ui.percent(last / first if first else None), border=True,
                     delta=comparison.share_delta(last / first if first else None,
                                                  last_before / first_before if first_before else None),
                     help="Of those who did step 1, the share that did every step within the window.")
    if selection.compare and not compared:
        st.caption(f"No changes: the previous period starts before the raw events' {comparison.raw_days()} days "
                   "(`VIGIL_RETENTION_DAYS`).")

    figure = go.Figure()
    for segment in result["segment"].unique(maintain_order=True).to_list():
        part = result.filter(pl.col("segment") == segment).sort("step")
        labels = [f"{step}. {label}" for step, label in zip(part["step"], part["label"])]
        figure.add_trace(go.Bar(x=labels, y=part["units"].to_list(), name=segment or "(unknown)" if breakdown else
                                "Reached", text=[ui.percent(c, 0) for c in part["conversion"]], textposition="auto"))
        if not breakdown:
            figure.add_trace(go.Bar(x=labels, y=part["dropped"].to_list(), name="Dropped since the previous step",
                                    marker_color="#E45756", opacity=0.35))
    figure.update_layout(barmode="stack" if not breakdown else "group", yaxis_title=unit_label)
    ui.chart(ui.compact(figure, 360), "funnel_chart")

    ui.table(result.select(*(["segment"] if breakdown else []), "step", "label", "units", "conversion",
                           "step_conversion", "dropped"), "funnel_table", {
        "segment": st.column_config.TextColumn(breakdown_label),
        "label": st.column_config.TextColumn("Step"),
        "units": st.column_config.NumberColumn(unit_label.capitalize(), format="localized"),
        "conversion": ui.share_column("Conversion", help="Of the first step's"),
        "step_conversion": ui.share_column("From previous step"),
        "dropped": st.column_config.NumberColumn("Dropped", format="localized"),
    })
st.caption(f"{selection.time_range.label} · a {unit} counts at the deepest step it reached in order, each step "
           "within the window of its first step (ClickHouse windowFunnel) · the route filter does not apply here")

with st.expander("Save this funnel", icon=":material/save:"):
    name = st.text_input("Name", value=st.session_state.get("funnel") or "", key="funnel_name", max_chars=200)
    save, delete = st.columns(2)
    by = str(st.session_state.get("vigil_user") or "")
    if save.button("Save", icon=":material/save:", key="save_funnel"):
        try:
            definition = dashboard_state.FunnelDefinition(name, tuple(steps), window_minutes, unit)
        except ValueError as error:
            st.error(str(error))
        else:
            dashboard_state.save_funnel(client, selection.project_id, definition, by=by)
            st.success("Saved.", icon=":material/check:")
    if name in saved and delete.button("Delete", icon=":material/delete:", key="delete_funnel"):
        dashboard_state.delete_funnel(client, selection.project_id, name, by=by)
        st.success("Deleted.", icon=":material/check:")
