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
