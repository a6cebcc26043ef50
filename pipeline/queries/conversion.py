"""Journeys: funnels (ClickHouse's windowFunnel over the raw events) and visitor retention cohorts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import polars as pl
from clickhouse_connect.driver import Client

from pipeline.queries.filters import Filters, like_pattern
from pipeline.queries.performance import BREAKDOWNS
from pipeline.queries.statements import frame, run, sql

FUNNEL_UNITS = {"session": "session_id", "visitor": "visitor_id"}
# what a funnel can be broken down by: what stays the same through a visit (not the route)
FUNNEL_BREAKDOWNS = tuple(name for name in BREAKDOWNS if name != "route")
MAX_FUNNEL_STEPS = 10
RETENTION_PERIODS = ("day", "week")
# funnel.sql's places for the steps: funnel_step.sql once per step, joined by "," or "OR"
_EACH_STEP = re.compile(r"^(?P<indent>[ \t]*)-- each step: funnel_step, joined by (?P<joint>,|OR)[ \t]*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One step of a funnel: a page view whose path matches ``match`` (``kind="page"``; ``*`` is
    a wildcard, as in route filters), or an event named ``match`` (``kind="event"``: a custom
    event's name, or an event type such as ``form_submit``), optionally only when the event's
    property ``property_name`` (in ``data.props``, else ``data``) equals ``property_value``."""

    kind: str
    match: str
    property_name: str = ""
    property_value: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("page", "event"):
            raise ValueError(f"a funnel step is a 'page' or an 'event', not {self.kind!r}")
        if not self.match:
            raise ValueError("a funnel step needs a page path (e.g. /checkout) or an event name (e.g. purchase)")

    @property
    def label(self) -> str:
        """How the step reads in a chart: ``/cart``, ``purchase``, ``add_to_cart (price = 9.9)``."""
        where = f" ({self.property_name} = {self.property_value})" if self.property_name else ""
        return f"{self.match}{where}"

    def parameters(self, index: int) -> dict[str, str]:
        match = like_pattern(self.match) if self.kind == "page" else self.match
        return {f"kind_{index}": self.kind, f"match_{index}": match,
                f"property_{index}": self.property_name, f"value_{index}": self.property_value}


def funnel_sql(steps: int, unit: str = "session", breakdown: str = "", with_property: Sequence[bool] = ()) -> str:
    """The funnel statement for ``steps`` steps: funnel.sql with funnel_step.sql written out once per
    step (its ``_N`` parameters numbered), with funnel_step_property.sql in the steps whose
    ``with_property`` is true (the others need not read the events' JSON). ``unit`` and ``breakdown``
    are checked here and passed as parameters (:func:`funnel`)."""
    if not 2 <= steps <= MAX_FUNNEL_STEPS:
        raise ValueError(f"a funnel has 2 to {MAX_FUNNEL_STEPS} steps, not {steps}")
    if unit not in FUNNEL_UNITS:
        raise ValueError(f"a funnel counts per {' or '.join(FUNNEL_UNITS)}, not {unit!r}")
    if breakdown and breakdown not in FUNNEL_BREAKDOWNS:
        raise ValueError(f"cannot break a funnel down by {breakdown!r}; choose one of {', '.join(FUNNEL_BREAKDOWNS)}")
    if len(with_property) > steps:
        raise ValueError(f"{len(with_property)} steps' properties for a funnel of {steps} steps")
    forms = {True: sql("funnel_step").strip("\n"),
             False: sql("funnel_step", leave_out=("funnel_step_property",)).strip("\n")}
    chosen = [forms[has] for has in [*map(bool, with_property), *[False] * (steps - len(with_property))]]

    def written_out(match: re.Match[str]) -> str:
        conditions = [chosen[n - 1].replace("_N:", f"_{n}:") for n in range(1, steps + 1)]
        joint = ",\n" if match["joint"] == "," else "\nOR "
        text = joint.join(conditions)
        return "\n".join(match["indent"] + line if line else line for line in text.split("\n"))

    return _EACH_STEP.sub(written_out, sql("funnel"))


def funnel(client: Client, filters: Filters, steps: Sequence[FunnelStep], window: timedelta,
           unit: str = "session", breakdown: str = "") -> pl.DataFrame:
    """How many sessions (or visitors) went through ``steps`` in order, each step within
    ``window`` of the first, in the range: per ``segment`` (the ``breakdown`` dimension's value,
    ``""`` without one) and ``step`` (1-based): ``label``, ``units`` that reached it,
    ``conversion`` (share of the first step's units), ``step_conversion`` (of the previous
    step's) and ``dropped`` (lost since the previous step).

    Counting follows ClickHouse's ``windowFunnel`` (default mode): a unit reaches step k if it
    has events matching steps 1..k in time order (equal times allowed) with step k at most
    ``window`` after step 1. The route filter does not apply (steps name their own pages)."""
    if window <= timedelta(0):
        raise ValueError(f"a funnel's conversion window must be positive, got {window}")
    statement = funnel_sql(len(steps), unit, breakdown, [bool(step.property_name) for step in steps])
    parameters = {**filters.parameters(), "window_ms": int(window / timedelta(milliseconds=1)),
                  "unit": FUNNEL_UNITS[unit], "segment": BREAKDOWNS[breakdown] if breakdown else "no_breakdown"}
    for index, step in enumerate(steps, start=1):
        parameters.update(step.parameters(index))
    reached = run(client, statement, parameters, {"segment": pl.String, "level": pl.UInt8, "units": pl.UInt64})
    segments = sorted(set(reached["segment"].to_list())) or ([""] if not breakdown else [])
    rows = []
    for segment in segments:
        levels = dict(reached.filter(pl.col("segment") == segment).select("level", "units").iter_rows())
        counts = [sum(units for level, units in levels.items() if level >= k) for k in range(1, len(steps) + 1)]
        for k, (step, units) in enumerate(zip(steps, counts), start=1):
            previous = counts[k - 2] if k > 1 else units
            rows.append((segment, k, step.label, units, units / counts[0] if counts[0] else None,
                         units / previous if previous else None, previous - units))
    return pl.DataFrame(rows, orient="row", schema={
        "segment": pl.String, "step": pl.UInt8, "label": pl.String, "units": pl.UInt64,
        "conversion": pl.Float64, "step_conversion": pl.Float64, "dropped": pl.UInt64})


def visitor_retention(client: Client, filters: Filters, period: str = "day") -> pl.DataFrame:
    """Cohorts of visitors by the ``period`` (day or week, UTC) of their first event in the range,
    and how many came back: ``cohort`` (the period's first day), ``period`` (0 = the cohort's own,
    1 = the next, …), ``visitors`` active in it, ``cohort_size`` and ``retention`` (their share).
    Visitors seen before the range count from their first event inside it."""
    if period not in RETENTION_PERIODS:
        raise ValueError(f"retention is per {' or '.join(RETENTION_PERIODS)}, not {period!r}")
    cohorts = frame(client, "visitor_retention", {**filters.parameters(), "period": period},
                    {"cohort": pl.Date, "period": pl.UInt32, "visitors": pl.UInt64})
    sizes = cohorts.filter(pl.col("period") == 0).select("cohort", pl.col("visitors").alias("cohort_size"))
    return (cohorts.join(sizes, on="cohort", how="left")
            .with_columns((pl.col("visitors") / pl.col("cohort_size")).alias("retention"))
            .select("cohort", "period", "visitors", "cohort_size", "retention"))
