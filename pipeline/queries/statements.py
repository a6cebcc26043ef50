"""The read model's SQL, loaded by name from ``sql/*.sql``, and the one way it is run.

Each answer is a file of plain ClickHouse SQL with ``{name:Type}`` parameters; nothing a user
typed is ever spliced into a statement. A part that several answers share — a dimension filter,
a rollup's rows of the range — is written once in its own file and named where it goes by a
comment line, which the loader replaces with that file's text at the same indentation::

    WHERE project_id = {project_id:UInt32}
      -- include: filter/release

``python -m pipeline.queries NAME`` prints a statement as it runs; the server gets it without
its whole-line comments, which it would only parse and drop (:func:`wire`).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import polars as pl
from clickhouse_connect.driver import Client

UTC_MS = pl.Datetime("ms", "UTC")
# a rollup key never spans two partitions (they are months of its minute), so FINAL needs not merge across them
ROLLUP_SETTINGS = {"do_not_merge_across_partitions_select_final": 1}
_INCLUDE = re.compile(r"^(?P<indent>[ \t]*)-- include: (?P<name>[\w/]+)[ \t]*$", re.MULTILINE)
_MAX_DEPTH = 6  # statement → rows → WITH constants → sealed hours → touched hours → filter
_COMMENT_LINE = re.compile(r"^[ \t]*--[^\n]*(?:\n|$)", re.MULTILINE)


# what a statement rendered without days has in place of its days' lookups: empty constants, so the
# sealed hours and raw minutes answer the whole range (a range without a whole UTC day; the lookups
# cost ~40 ms a query and find nothing there: tiers.holds_whole_day)
_WITHOUT_DAYS = {"rows/day_seals": "rows/no_day_seals", "rows/session_days": "rows/no_session_days"}


@cache
def sql(name: str, days: bool = True, leave_out: tuple[str, ...] = ()) -> str:
    """The statement ``sql/<name>.sql`` with its ``-- include:`` lines written out; without ``days``,
    the daily rollups' lookups (:data:`_WITHOUT_DAYS`) are empty constants; the parts named in
    ``leave_out`` are written as nothing (a funnel step's property, for a step without one)."""

    def source(part: str) -> str:
        if part in leave_out:
            return ""
        return _source(part if days else _WITHOUT_DAYS.get(part, part))

    return render(_source(name), source)


def render(text: str, source: Any, depth: int = 0) -> str:
    """``text`` with every ``-- include: NAME`` line replaced by ``source(NAME)``, rendered the same
    way and indented as the line was."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"includes nest deeper than {_MAX_DEPTH} levels (an include that includes itself?)")

    def written_out(match: re.Match[str]) -> str:
        part = render(source(match["name"]), source, depth + 1).strip("\n")
        return "\n".join(match["indent"] + line if line else line for line in part.split("\n"))

    return _INCLUDE.sub(written_out, text)


def _source(name: str) -> str:
    path = resources.files(__package__).joinpath("sql", f"{name}.sql")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no statement named {name!r}: expected the file pipeline/queries/sql/{name}.sql") from None


def frame(client: Client, name: str, parameters: dict[str, Any], schema: dict[str, Any],
          settings: dict[str, Any] | None = None, days: bool = True) -> pl.DataFrame:
    """Run the statement ``name`` (rendered with or without ``days``: :func:`sql`) and return its
    rows as a DataFrame with exactly ``schema``."""
    return run(client, sql(name, days), parameters, schema, settings)


def run(client: Client, statement: str, parameters: dict[str, Any], schema: dict[str, Any],
        settings: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run ``statement`` (the text of one of ours) and return its rows with exactly ``schema``."""
    table = client.query_arrow(wire(statement), parameters=parameters, settings=settings)
    answer = pl.from_arrow(table)
    assert isinstance(answer, pl.DataFrame)
    if answer.height == 0:
        return pl.DataFrame(schema=schema)
    return answer.select([pl.col(column).cast(dtype) for column, dtype in schema.items()])


@lru_cache(maxsize=512)
def wire(statement: str) -> str:
    """``statement`` as it is sent: without its whole-line comments (a line's trailing comment and
    anything inside a string stay)."""
    return _COMMENT_LINE.sub("", statement)


def rollup_frame(client: Client, name: str, parameters: dict[str, Any], schema: dict[str, Any],
                 days: bool = True) -> pl.DataFrame:
    """:func:`frame` for a statement over rollups (read with FINAL, never merging across partitions)."""
    return frame(client, name, parameters, schema, ROLLUP_SETTINGS, days)
