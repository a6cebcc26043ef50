"""The read model's statements as files: every one loads by name, its includes are written out
where they stand, the dimension filter is written once, and the package ships the files."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest

from pipeline import queries
from pipeline.queries import statements
from pipeline.queries.conversion import funnel_sql

ROOT = Path(__file__).resolve().parents[2]
SQL = ROOT / "pipeline" / "queries" / "sql"
NAMES = sorted(str(path.relative_to(SQL).with_suffix("")) for path in SQL.rglob("*.sql"))


def test_an_include_is_written_out_at_the_lines_indentation():
    parts = {"outer": "SELECT 1\nFROM t\nWHERE a\n    -- include: inner\nORDER BY a\n",
             "inner": "AND b\n-- include: leaf\n", "leaf": "AND c\n\nAND d\n"}
    assert statements.render(parts["outer"], parts.__getitem__) == (
        "SELECT 1\nFROM t\nWHERE a\n    AND b\n    AND c\n\n    AND d\nORDER BY a\n")


def test_an_include_of_itself_is_refused():
    with pytest.raises(ValueError, match="nest deeper"):
        statements.render("-- include: loop", {"loop": "-- include: loop"}.__getitem__)


def test_an_unknown_statement_says_which_file_it_expected():
    with pytest.raises(ValueError, match="pipeline/queries/sql/no_such_answer.sql"):
        statements.sql("no_such_answer")


@pytest.mark.parametrize("name", NAMES)
def test_every_statement_loads_whole(name):
    """Nothing left to substitute but ClickHouse's own {name:Type} parameters."""
    text = statements.sql(name)
    assert "-- include:" not in text
    assert "$" not in text
    assert all(re.fullmatch(r"\w+:[\w(), ']+", placeholder) for placeholder in re.findall(r"\{([^{}]*)\}", text))


def test_the_dimension_filter_is_written_once():
    """Each dimension's predicate appears in exactly one file; statements name that file."""
    predicates = {"environment = {environment:String}", "release = {release:String}", "path LIKE {route:String}",
                  "device = {device:String}", "browser = {browser:String}", "country = {country_code:String}"}
    for predicate in predicates:
        holders = [name for name in NAMES if predicate in (SQL / f"{name}.sql").read_text()]
        assert len(holders) == 1, (predicate, holders)
    # and every statement over the raw events with a range applies all six
    for name in ("top_clicks", "traffic_summary", "error_tags", "vital_attribution"):
        assert all(predicate in statements.sql(name) for predicate in predicates), name


def test_a_funnel_has_one_condition_per_step():
    text = funnel_sql(3, "visitor", "device")
    assert [int(n) for n in re.findall(r"\{kind_(\d+):String\} = 'page'", text)] == [1, 2, 3, 1, 2, 3]
    assert "-- each step" not in text and "_N:" not in text


def test_a_funnel_reads_the_events_json_only_for_the_steps_with_a_property():
    """Naming ``data`` makes the statement read every matching event's JSON (a third of a month's
    funnel): only a step with a property names it, in both of its places."""
    assert "data" not in statements.wire(funnel_sql(3))
    text = statements.wire(funnel_sql(3, with_property=[False, True]))
    assert re.findall(r"\{property_(\d+):String\} = ''", text) == ["2", "2"]
    assert "JSONExtractRaw(data" in text and "property_1" not in text and "property_3" not in text
    assert all("-- a step with a property" not in funnel_sql(2, with_property=has) for has in ([True, True], []))
    with pytest.raises(ValueError, match="3 steps' properties for a funnel of 2"):
        funnel_sql(2, with_property=[True, False, True])


def test_the_package_ships_every_statement():
    """pyproject's package data covers each .sql file (a wheel would otherwise lack it)."""
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = globs["pipeline.queries"]
    missing = [name for name in NAMES if not any(fnmatch(f"sql/{name}.sql", pattern) and
                                                 f"sql/{name}.sql".count("/") == pattern.count("/")
                                                 for pattern in shipped)]
    assert not missing
    assert queries.sql("top_clicks").startswith("-- The most clicked elements")


def test_the_server_gets_a_statement_without_its_whole_line_comments():
    statement = "-- what it answers\nSELECT a, -- kept: a trailing comment\n    '-- kept: in a string'\n  -- why\nFROM t\n"
    assert statements.wire(statement) == "SELECT a, -- kept: a trailing comment\n    '-- kept: in a string'\nFROM t\n"
    for name in ("top_clicks", "error_groups", "vital_histogram"):
        sent = statements.wire(queries.sql(name))
        assert not any(line.lstrip().startswith("--") for line in sent.splitlines())


SEALED_READERS = ("traffic_totals_audience", "traffic_trend_audience", "traffic_totals_traffic", "top_pages",
                  "events_by_type", "vital_histogram", "vital_trend", "api_calls", "api_statuses", "api_call_totals",
                  "rows/error_rows",
                  "top_clicks", "slowest_resources")


def test_a_family_s_sealed_hours_are_found_one_way_and_matched_in_a_set():
    """One file says which hours an hourly table answers (rows/sealed_hours_of, for every family);
    each statement looks them up once (one scalar, the same text in each UNION ALL branch) and
    matches an hourly row to its seal, and a raw event to the hours not sealed, in a set: has()
    over the array scans it for every row (1.3 s for 30 days of web_vitals_hour at 3M events), and
    FINAL is not needed once one seal's rows are picked."""
    lookups = [name for name in NAMES if "max(sealed_at) AS sealed_at" in (SQL / f"{name}.sql").read_text()]
    # error groups' history: the sealed hours wholly before a range; sessions: by start hour, ±2 h touched
    # resource_day (097): the days a daily table answers
    assert lookups == ["rows/sealed_days_of", "rows/sealed_hours_before", "rows/sealed_hours_of",
                       "rows/sealed_session_hours"]
    for name in SEALED_READERS:
        text = statements.wire(statements.sql(name))
        lookups = re.findall(r"\(\s*SELECT groupArray\(\(hour, sealed_at\)\).*?\) AS sealed_hours", text, re.DOTALL)
        assert len({" ".join(lookup.split()) for lookup in lookups}) == 1, name  # the server caches it by its AST
        assert text.count("(hour, sealed_at) IN (SELECT arrayJoin(sealed_hours))") == 1, name
        assert text.count("toStartOfHour(timestamp) IN (SELECT arrayJoin(live_hours))") == 1, name
        assert "has(sealed_hours, (hour" not in text and "has((SELECT groupArray(hour)" not in text, name
        assert "has(live_hours" not in text, name
        assert not re.search(r"FROM \w+_hour FINAL", text), name


@pytest.mark.parametrize("name", ["slowest_resources", "vital_histogram", "time_on_page", "top_pages_days"])
def test_sealed_days_are_found_once_and_matched_in_a_set(name):
    """The answers over whole sealed days (097, 098, 100, 101) read them from their daily table: one
    lookup of the days and hours, once at the statement's top (each copy would run again, ~10-25 ms),
    a day row matched to its seal in a set, and the hours of those days neither read from the
    hourly table nor from the raw events."""
    text = statements.wire(statements.sql(name))
    lookups = re.findall(r"\(\s*SELECT groupArray\(\(day, sealed_at\)\).*?\) AS sealed_days", text, re.DOTALL)
    assert len(lookups) == 1
    assert text.lstrip().startswith("WITH")
    assert text.count("IN (SELECT arrayJoin(sealed_days))") == 1
    assert text.count("NOT has(sealed_days.1, toStartOfDay(h))") == 1  # open_hours: the hours outside them


def test_sealed_sessions_are_the_rows_of_their_start_hour_s_latest_seal():
    """The sessions of a sealed start hour are those of its latest seal, matched in a set of the
    one lookup (rows/sealed_session_seals, once at the statement's top: each copy runs again) — not
    FINAL, which would also keep a session that an older seal put in that hour and the newer one did not."""
    for name in ("session_summary", "session_breakdowns", "filter_options"):
        text = statements.wire(statements.sql(name))
        assert text.count("(hour, sealed_at) IN (SELECT arrayJoin(sealed_start_hours))") == 1, name
        lookups = re.findall(r"\(\s*SELECT groupArray\(\(hour, sealed_at\)\).*?\) AS sealed_start_hours", text, re.DOTALL)
        assert len(lookups) == 1, name
        assert "FROM sessions FINAL" not in text, name


@pytest.mark.parametrize(("start", "end", "holds"), [
    ("2026-12-06 10:17", "2026-12-07 10:17", False),  # the last 24 hours: no midnight-to-midnight day
    ("2026-12-06 00:00", "2026-12-07 00:00", True),   # one day exactly
    ("2026-12-05 23:59", "2026-12-07 00:00", True),
    ("2026-12-06 00:01", "2026-12-07 23:59", False),
    ("2026-11-30 10:17", "2026-12-07 10:17", True),   # 7 days: six whole ones
])
def test_a_range_reads_days_only_when_it_holds_a_whole_one(start, end, holds):
    """Looking the days up costs ~40 ms a query (24 h on 100M events): a range without a whole UTC
    day, or with a filter the hourly rollup lacks (no whole hours, so no days), is answered by the
    statement rendered without days."""
    from datetime import datetime, timezone

    from pipeline.queries import Filters
    from pipeline.queries.tiers import holds_whole_day, pick_source, reads_days

    def at(text: str) -> datetime:
        return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)

    filters = Filters(1, at(start), at(end))
    assert holds_whole_day(filters) is holds
    for family in ("web_vitals", "resource", "time_on_page", "session"):
        assert reads_days(filters, pick_source(filters, family)) is holds, family
        on_a_device = Filters(1, at(start), at(end), device="mobile")
        assert reads_days(on_a_device, pick_source(on_a_device, family)) is False, family


# the one lookup of a daily table's seals (rows/sealed_days_of), in every statement that reads days
_DAY_LOOKUP = re.compile(r"SELECT day, max\(sealed_at\) AS sealed_at\s+FROM \{day_table:Identifier\}")


def test_a_statement_rendered_without_days_looks_no_day_up():
    """Every statement that can read days renders without their lookups — empty constants of the same
    names and types in their place — and is otherwise the same statement."""
    reading_days = [name for name in NAMES if "/" not in name and _DAY_LOOKUP.search(statements.sql(name))]
    assert {"vital_histogram", "time_on_page", "slowest_resources", "top_pages_days", "session_summary",
            "session_breakdowns", "filter_options"} <= set(reading_days)
    for name in reading_days:
        with_days, without = statements.sql(name), statements.sql(name, days=False)
        assert not _DAY_LOOKUP.search(without), name
        constant = "sealed_days" if "AS sealed_days" in with_days else "session_days"
        assert f"CAST([], 'Array(Tuple(DateTime(\\'UTC\\'), DateTime64(3, \\'UTC\\')))') AS {constant}" in without, name
        # nothing else differs: the statement's text around its lookup is the same
        assert with_days.split(f"AS {constant}", 1)[1] == without.split(f"AS {constant}", 1)[1], name
