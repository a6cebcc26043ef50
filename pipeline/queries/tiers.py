"""Which rollup answers: the one place that picks a statement's source for given filters.

Raw events answer exactly and are named by their statements (``FROM events FINAL``); the
rollups answer the dashboards' hot paths. Each rollup family has an hourly table with few
dimensions: it answers the whole hours of a range when no filter or grouping needs a dimension
it lacks and the answer is per hour or coarser. The families sealed from the raw events (Web
Vitals and API calls: 090; traffic and audience: 091; error groups: 092) answer only the hours
sealed since their last insert (``Source.parameters`` names the hourly table), everything else
comes from the events. Traffic has three row sets:
the audience rows (no route filter), the same for long ranges (``sealed``: one statement since
091), or the per-page traffic rows (a route filter is set, or the answer is per route or type).
Web Vitals have a second hourly table with the route in its key (093, ``web_vitals_route_hour``):
it answers what needs the route, ``web_vitals_hour`` (fewer rows: no path) the rest. The
drill-downs into what the SDK blamed for a vital, time on page, resources and navigation timing
have hourly tables of their own (096: ``vital_target_hour``, ``time_on_page_hour``; 095:
``resource_hour``, ``navigation_hour``), the most clicked elements too (094: ``click_hour``).
Slowest resources and time on page also read whole sealed days summed from those hours (097:
``resource_day``; 100: ``time_on_page_day``), with the same dimensions as their hourly tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pipeline.queries.filters import Filters, clickhouse_time, whole_hours

# what each family's hourly rollup cannot filter or group by
HOURLY_LACKS: dict[str, tuple[str, ...]] = {
    "web_vitals": ("route", "device", "browser", "country", "connection"),
    "traffic": ("device", "browser", "country"),
    "api_calls": ("route", "device", "browser", "country"),
    "error_groups": ("route", "device", "browser", "country"),
    "click": ("device", "browser", "country"),  # click_hour (094) keeps the path
    "vital_target": ("route", "device", "browser", "country", "connection"),  # 096: what the SDK blamed
    "time_on_page": ("device", "browser", "country"),  # 096: per path
    "resource": ("route", "device", "browser", "country"),  # slowest resources (095)
    "navigation": ("route", "device", "browser", "country"),  # navigation timing (095)
    # the sessions' answers by day (099, session_day; the sessions table itself has every dimension,
    # and its entry page answers the route filter)
    "session": ("route", "device", "browser", "country"),
}
# the families with a second hourly table, <family>_route_hour, that has the route: what it lacks
ROUTE_HOURLY_LACKS: dict[str, tuple[str, ...]] = {
    "web_vitals": ("device", "browser", "country", "connection"),
}
# what each family's daily table (summed from its sealed hours) cannot filter by, for the families
# whose readers take whole days from one: traffic_day (098) has no release, so its states are half
# as many to merge; the dimensions of HOURLY_LACKS already leave no whole hours, so none for a day
DAILY_LACKS: dict[str, tuple[str, ...]] = {
    "traffic": ("release", "device", "browser", "country"),
}
# From how many whole hours on totals read the sealed counts: the seal's bookkeeping (which hours
# are sealed, two more reads) costs ~20 ms, the event sets it spares ~0.3 ms per hour (on
# bench/warehouse.py's 10M events, A/B on a busy machine: 20 ms slower at 1 h and 24 h, even at
# 48 h, 10 ms faster at 72 h, 25–35 ms faster at 7 d)
SEALED_FROM = timedelta(hours=72)
# Past how long a range estimates a figure that is costly to answer exactly (the pages mark such
# figures with ≈). Measured at 100M events over 30 days (docs/clickhouse.md):
# - "people", distinct visitors and sessions: the union of the hours' sets up to 7 days,
#   uniqCombined64 over the same sets beyond (exact below ~1,000 people, within ±1 % above; a month's
#   1.26M visitors and 2.2M sessions 0.4–0.6 % off, 17–50 ms a set against 80–110 ms exact) — as
#   Plausible counts visitors with ClickHouse's uniq at every range;
# - "p75_change", a Web Vital's p75 against the previous period's: both periods' raw measurements
#   sorted up to 24 hours (120–180 ms), the difference of their p75 from the hourly histograms (each
#   within 1 %) beyond (the raw sort: 0.9 s at 7 days, 1.0 s at 30).
ESTIMATED_PAST: dict[str, timedelta] = {"people": timedelta(days=7), "p75_change": timedelta(hours=24)}


@dataclass(frozen=True, slots=True)
class Source:
    """Where an answer's rows come from: ``rows`` names the traffic row set (``audience``,
    ``sealed`` or ``traffic``; ``""`` for the other families), the whole hours
    ``[hours_start, hours_end)`` the hourly rollup may answer (an empty span when it answers none;
    of those, the sealed ones: ``sql/rows/sealed_hours_of.sql``) and the hourly table whose seals
    answer them (the traffic family's audience rows read ``audience_hour``, its per-route rows
    ``traffic_hour``)."""

    rows: str
    hours_start: str
    hours_end: str
    hour_table: str

    def parameters(self) -> dict[str, Any]:
        return {"hours_start": self.hours_start, "hours_end": self.hours_end, "hour_table": self.hour_table}


def estimated(filters: Filters, figure: str) -> bool:
    """Whether ``figure`` (a key of :data:`ESTIMATED_PAST`: ``people``, the statements'
    ``exact_people`` parameter being the opposite, or ``p75_change``) is estimated over the range."""
    if figure not in ESTIMATED_PAST:
        raise ValueError(f"no estimated figure {figure!r}; choose one of {', '.join(ESTIMATED_PAST)}")
    return filters.span > ESTIMATED_PAST[figure]


def holds_whole_day(filters: Filters) -> bool:
    """Whether the range holds a whole UTC day, which a daily rollup (097-101) could answer; a range
    without one (24 hours and less, as a rule) need not pay for looking days up."""
    first = filters.start.replace(hour=0, minute=0, second=0, microsecond=0)
    if first < filters.start:
        first += timedelta(days=1)
    return first + timedelta(days=1) <= filters.end


def reads_days(filters: Filters, source: Source) -> bool:
    """Whether a statement over ``source`` is rendered with its daily table's lookups
    (``statements.sql(name, days=...)``): only when the range holds a whole UTC day
    (:func:`holds_whole_day`) and the hourly rollup answers it (``source`` has whole hours); else
    the lookups would find nothing and cost ~40 ms a query (24 h on 100M events)."""
    return source.hours_start != source.hours_end and holds_whole_day(filters)


def hourly(filters: Filters, family: str) -> bool:
    """Whether the hourly rollup of ``family`` (a key of :data:`HOURLY_LACKS`) has every dimension
    ``filters`` filter by: then its sealed hours answer the range's whole hours, also those older
    than the raw events' retention (the rollups keep theirs)."""
    if family not in HOURLY_LACKS:
        raise ValueError(f"no rollup family {family!r}; choose one of {', '.join(HOURLY_LACKS)}")
    return not any(name in HOURLY_LACKS[family] for name in filters.dimensions())


def daily(filters: Filters, family: str) -> bool:
    """Whether the daily table of ``family`` (a key of :data:`DAILY_LACKS`) has every dimension
    ``filters`` filter by, so its sealed days may answer the range's whole days."""
    if family not in DAILY_LACKS:
        raise ValueError(f"no daily rollup of {family!r}; choose one of {', '.join(DAILY_LACKS)}")
    return not any(name in DAILY_LACKS[family] for name in filters.dimensions())


def pick_source(filters: Filters, family: str, bucket_minutes: int | None = None, group: str = "",
                sealed: bool = False, per_route: bool = False) -> Source:
    """The source of an answer over the rollup ``family`` (a key of :data:`HOURLY_LACKS`) for
    ``filters``, per bucket of ``bucket_minutes`` (``None``: one answer for the range), grouped
    by ``group`` (a dimension name or ``""``); ``sealed``: traffic totals may read sealed counts;
    ``per_route``: the answer reads the traffic rows (``rows/traffic``) whatever the filters."""
    has_dimensions = hourly(filters, family)
    lacks, table = HOURLY_LACKS[family], f"{family}_hour"
    if family in ROUTE_HOURLY_LACKS and (filters.route or group == "route"):
        lacks, table = ROUTE_HOURLY_LACKS[family], f"{family}_route_hour"
        has_dimensions = not any(name in lacks for name in filters.dimensions())
    first, last = whole_hours(filters)
    usable = (first < last and has_dimensions and group not in lacks
              and (bucket_minutes is None or bucket_minutes % 60 == 0))
    if not usable:
        first = last = filters.start
    rows = ""
    if family == "traffic":
        rows = "traffic" if filters.route or per_route else "audience"
        if rows == "audience":
            table = "audience_hour"
            if sealed and has_dimensions and last - first >= SEALED_FROM:
                rows = "sealed"
    return Source(rows, clickhouse_time(first), clickhouse_time(last), table)
