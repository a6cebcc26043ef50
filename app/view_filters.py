"""The filters every dashboard page shares — project, time range, and environment, release,
route, device, browser and country — and the warehouse client.

The entry point (``main.py``) draws them once in the sidebar; pages read the choice with
:func:`current`. All of them are kept in the URL's query string
(``?project=1&range=6h&device=mobile&route=/p/*``), so a view can be shared as a link.
Pages get data only through ``pipeline.queries``; nothing here renders event data
as markdown or HTML.

A link is input like any other: a parameter the page cannot use (``?range=5y``, an unknown
project, ``?group=' OR 1=1 --``) is named in one line (:func:`refuse_parameter`), dropped from
the URL, and the page goes on with its default — never a traceback, never a silent substitute.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

import streamlit as st
from clickhouse_connect.driver import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from pipeline import queries, settings
from pipeline.queries import WarehouseUnavailable, connect_reader
from time_ranges import (CUSTOM, RANGE_CHOICES, TIME_RANGES, TimeRange, custom_filters, custom_range,
                         parse_day)

DEFAULT_RANGE = "1h"
DEFAULT_PROJECT = "demo"
PROJECT_KEY, RANGE_KEY = "project", "range"
FROM_KEY, TO_KEY, COMPARE_KEY = "from", "to", "compare"  # ?range=custom&from=2026-11-01&to=2026-11-30
DEFAULT_CUSTOM_DAYS = 30  # a custom range starts as the last 30 days, today included


# the dimension filters, as labelled in the sidebar; each is its own URL parameter (?device=mobile)
DIMENSION_LABELS: dict[str, str] = {
    "environment": "Environment", "release": "Release", "route": "Route", "device": "Device",
    "browser": "Browser", "country": "Country",
}
OPTIONS_SPAN = timedelta(days=7)  # the filters offer the values seen in this long
MAX_FILTER_CHARS = 8192  # the longest value any dimension can hold (a URL's path; the contract's limit)
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Selection:
    """What the viewer chose in the sidebar."""

    project_id: int
    range_key: str
    dimensions: tuple[tuple[str, str], ...] = ()  # (name, value) of the dimension filters that are set
    days: tuple[date, date] | None = None  # a custom range's first and last day (range_key "custom")
    compare: bool = True  # show the change against the previous period of the same length

    @property
    def time_range(self) -> TimeRange:
        if self.range_key == CUSTOM:
            return custom_range(*self._days())
        return TIME_RANGES[self.range_key]

    @property
    def bucket_minutes(self) -> int:
        return self.time_range.bucket_minutes

    def filters(self, now: datetime | None = None) -> queries.Filters:
        """The query filters for this choice: the range in whole minutes up to the current one
        (each live refresh moves the window), or the custom days, with the dimension filters."""
        if self.range_key == CUSTOM:
            return custom_filters(self.project_id, *self._days(), now, **dict(self.dimensions))
        return queries.Filters.last_minutes(self.project_id, self.time_range.span, now, **dict(self.dimensions))

    def _days(self) -> tuple[date, date]:
        if self.days is None:
            raise ValueError("a custom range needs its first and last day")
        return self.days


def warehouse() -> Client:
    """The shared ClickHouse client for ``VIGIL_CLICKHOUSE_URL`` (one per address, across sessions),
    signed in as ``vigil_reader``: the dashboard reads, and writes only its own state tables."""
    config = settings.load()
    return _client(config.clickhouse_url, config.clickhouse_database)


@st.cache_resource(show_spinner=False)
def _client(url: str, database: str) -> Client:
    return connect_reader(replace(settings.load(), clickhouse_url=url, clickhouse_database=database))


@contextmanager
def warehouse_errors() -> Iterator[None]:
    """Show a failing warehouse as a message that says what to do, and stop the page there."""
    try:
        yield
    except WarehouseUnavailable as error:
        st.error(str(error), icon=":material/cloud_off:")
        st.stop()
    except ClickHouseError as error:
        st.error(f"The warehouse refused a query: {str(error).splitlines()[0]}. "
                 "Is the schema up to date? Run `vigil migrate`.", icon=":material/database:")
        st.stop()


def refuse_parameter(name: str, expected: str) -> None:
    """Say that the link's ``?name=`` is unusable and what it should be, then drop it from the URL
    (a bound widget then shows its default). The value itself is not repeated: it is markdown here."""
    st.error(f"The link's `{name}` parameter is not {expected}; showing the default instead.",
             icon=":material/link_off:")
    del st.query_params[name]
    st.session_state.pop(name, None)


def check_choice(name: str, choices: Collection[str], what: str, list_choices: bool = True) -> None:
    """Refuse ``?name=`` unless it is one of ``choices`` (a picker bound to the URL under ``name``);
    the message lists them unless they are people's own words (``list_choices=False``)."""
    value = st.query_params.get(name)
    if value is not None and value not in choices:
        refuse_parameter(name, f"{what}: use one of {', '.join(choices)}" if list_choices else what)


def _check_filter_values() -> None:
    for name in DIMENSION_LABELS:
        value = st.query_params.get(name, "")
        if len(value) > MAX_FILTER_CHARS or _CONTROL_CHARACTERS.search(value):
            refuse_parameter(name, f"a {DIMENSION_LABELS[name].lower()} (at most {MAX_FILTER_CHARS:,} characters, "
                                   "no control characters)")


def sidebar() -> Selection | None:
    """Draw the project and time-range pickers; None (and a hint) when there is no project yet."""
    with warehouse_errors():
        projects = queries.projects(warehouse())
    if projects.is_empty():
        st.sidebar.info("No projects yet. Create one with `vigil project create NAME`, "
                        "or run `vigil up` for a demo project with simulated traffic.")
        return None
    ids = projects["id"].to_list()
    names = dict(zip(ids, projects["name"].to_list()))
    # ?project=<id> picks the project; otherwise the demo project, otherwise the first one
    requested = st.query_params.get(PROJECT_KEY, "")
    default = next((i for i, project_id in enumerate(ids) if names[project_id] == DEFAULT_PROJECT), 0)
    if requested.isdigit() and int(requested) in ids:
        default = ids.index(int(requested))
    elif requested:
        refuse_parameter(PROJECT_KEY, "the id of a project here (see `vigil project list`)")
    project_id = st.sidebar.selectbox("Project", ids, index=default, key=PROJECT_KEY,
                                      format_func=lambda option: f"{names[option]} · #{option}")
    st.query_params[PROJECT_KEY] = str(project_id)
    _check_filter_values()
    time_controls()
    dimension_filters(int(project_id))
    return current()


def time_controls() -> None:
    """The range picker (with the custom range's two days when it is chosen) and the comparison
    toggle, all bound to the URL; a link's unusable value is named and replaced by the default."""
    check_choice(RANGE_KEY, RANGE_CHOICES, "a time range")
    today = datetime.now(timezone.utc).date()
    earliest = _earliest_day(today)
    for name in (FROM_KEY, TO_KEY):
        _check_day(name, earliest, today)
    check_choice(COMPARE_KEY, ("true", "false"), "a comparison switch")
    choice = st.sidebar.segmented_control("Time range", list(RANGE_CHOICES), default=DEFAULT_RANGE, required=True,
                                          key=RANGE_KEY, bind="query-params",
                                          help="Events whose own timestamp is in this range; custom: whole UTC days.")
    if choice == CUSTOM:
        first, last = st.sidebar.columns(2)
        first.date_input("From", today - timedelta(days=DEFAULT_CUSTOM_DAYS - 1), min_value=earliest,
                         max_value=today, key=FROM_KEY, bind="query-params", format="YYYY-MM-DD",
                         help="The first day, UTC.")
        last.date_input("To", today, min_value=earliest, max_value=today, key=TO_KEY, bind="query-params",
                        format="YYYY-MM-DD", help="The last day, UTC (included).")
        days = _custom_days()
        if days is not None and days[0] > days[1]:
            st.sidebar.warning(f"The range's first day ({days[0]}) is after its last ({days[1]}): "
                               "showing the days between them.", icon=":material/swap_horiz:")
    st.sidebar.toggle("Compare with the previous period", value=True, key=COMPARE_KEY, bind="query-params",
                      help="Show each number's change against the period of the same length just before, "
                           "and the previous period as a faded line on trend charts.")


def _earliest_day(today: date) -> date:
    """The first day a custom range can start on: as far back as the rollups are kept."""
    days = settings.load().rollup_retention_days
    return today - timedelta(days=days - 1) if days > 0 else date(2000, 1, 1)


def _check_day(name: str, earliest: date, today: date) -> None:
    value = st.query_params.get(name)
    if value is None:
        return
    try:
        day = parse_day(value)
    except ValueError:
        day = None
    if day is None or not earliest <= day <= today:
        refuse_parameter(name, f"a day from {earliest} to {today} as YYYY-MM-DD (the rollups' retention)")


def _custom_days() -> tuple[date, date] | None:
    first, last = st.session_state.get(FROM_KEY), st.session_state.get(TO_KEY)
    if not isinstance(first, date) or not isinstance(last, date):
        return None
    return first, last


@st.cache_data(ttl=60, show_spinner=False)
def _filter_options(project_id: int, minute: datetime) -> dict[str, list[str]]:
    """The values each dimension had in the last week (cached per project for a minute)."""
    return queries.filter_options(warehouse(), queries.Filters.last_minutes(project_id, OPTIONS_SPAN, minute))


def dimension_filters(project_id: int) -> None:
    """A picker per dimension (``All`` = no filter), bound to the URL. Route also takes a pattern
    typed in (``/p/*``); a value a shared link names is offered even if this week has none."""
    minute = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    with warehouse_errors():
        options = _filter_options(project_id, minute)
    active = [name for name in DIMENSION_LABELS if st.session_state.get(name) or st.query_params.get(name)]
    with st.sidebar.expander("Filters", icon=":material/filter_list:", expanded=bool(active)):
        for name, label in DIMENSION_LABELS.items():
            values = list(options.get(name, []))
            requested = st.session_state.get(name) or st.query_params.get(name, "")
            if requested and requested not in values:
                values.insert(0, requested)
            st.selectbox(label, ["", *values], key=name, bind="query-params",
                         format_func=_option_label, accept_new_options=name == "route",
                         help="A path, or a pattern with * (e.g. /p/*)." if name == "route" else None)


def _option_label(value: str) -> str:
    # only the default gets a label: a bound widget's URL carries the shown text, which must be the value
    return value or "All"


def current() -> Selection | None:
    """The sidebar's choice in this run (None when there is nothing to choose from)."""
    project_id = st.session_state.get(PROJECT_KEY)
    if project_id is None:
        return None
    dimensions = tuple((name, str(st.session_state[name])) for name in DIMENSION_LABELS if st.session_state.get(name))
    range_key = st.session_state.get(RANGE_KEY) or DEFAULT_RANGE
    days = _custom_days() if range_key == CUSTOM else None
    if days is not None:
        days = (min(days), max(days))
    elif range_key == CUSTOM:
        range_key = DEFAULT_RANGE
    return Selection(int(project_id), range_key, dimensions, days, bool(st.session_state.get(COMPARE_KEY, True)))
