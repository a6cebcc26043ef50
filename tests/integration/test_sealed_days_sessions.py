"""Sealed days of the sessions' answers (099_session_days.sql) against the real engine: once
session_day_seal has summed a closed day's sealed start hours of the sessions table, the session
breakdowns (entry, exit, source, campaign) and summary over a range holding whole days read those
days from session_day and the edge hours' sessions as before — and answer what the sessions
answered before any seal: the breakdowns exactly, the summary exactly but its median duration
(then read from the day's histogram, within 1 %); with a release filter session_day answers and a
browser and a route filter it cannot. A replayed batch into a sealed day changes nothing; a late
session in it counts at once (the day is read hour by hour) and still after it is sealed again; an
insert just past a day's end, which its last start hours' sessions are read from, reopens it too.

Sealing waits out the views' 60 s margin after the latest insert (seal_now) twice: ~2.5 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipeline import queries
from pipeline.queries import Filters
from pipeline.warehouse.sealing import seal_now
from tests.support import shop_data

pytestmark = pytest.mark.integration

PROJECT = 9455
NEIGHBOUR = 9456
# two whole days that closed long enough ago to be sealed, asked about with a few hours either side
DAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
DAYS = [DAY, DAY + timedelta(days=1)]
RANGE = Filters(PROJECT, DAY - timedelta(hours=2, minutes=30), DAY + timedelta(days=2, hours=2, minutes=30))
COLUMNS = list(shop_data.COLUMNS)
FILTERS = {"all": {}, "release": {"release": "shop@2.5.0", "environment": "production"},
           "safari": {"browser": "Safari"}, "home": {"route": "/"}}  # no browser nor route in session_day


def answers(client) -> dict:
    found = {}
    for name, dimensions in FILTERS.items():
        filters = Filters(PROJECT, RANGE.start, RANGE.end, **dimensions)
        found[name] = {"summary": queries.session_summary(client, filters).row(0, named=True),
                       **{part: rows.to_dicts() for part, rows in queries.session_breakdowns(client, filters, 1000).items()}}
    return found


def without_median(found: dict) -> dict:
    return {name: {**parts, "summary": {key: value for key, value in parts["summary"].items() if key != "median_duration_s"}}
            for name, parts in found.items()}


def assert_same(found: dict, expected: dict) -> None:
    """Equal but the median durations, which the day's histogram answers within 1 %."""
    assert without_median(found) == without_median(expected)
    for name in FILTERS:
        assert found[name]["summary"]["median_duration_s"] == pytest.approx(
            expected[name]["summary"]["median_duration_s"], rel=0.01), name


def session_days(client) -> list[datetime]:
    """The whole days of the range that session_day answers (rows/session_days)."""
    source = queries.pick_source(RANGE, "session")
    parameters = {"project_id": PROJECT, **source.parameters(), "day_table": "session_day"}
    rows = client.query(f"WITH {queries.sql('rows/session_days')} SELECT arrayJoin(arraySort(session_days.1)) AS day",
                        parameters=parameters)
    return [day.replace(tzinfo=timezone.utc) for (day,) in rows.result_rows]


def at(row: tuple) -> datetime:
    return datetime.fromtimestamp(row[COLUMNS.index("timestamp")] / 1000, timezone.utc)


def renamed(rows: list[tuple], tag: str) -> list[tuple]:
    """The same events of a new session (new event and session ids)."""
    changed = []
    for row in rows:
        row = list(row)
        for column in ("event_id", "session_id"):
            row[COLUMNS.index(column)] = f"{tag}-{row[COLUMNS.index(column)]}"
        changed.append(tuple(row))
    return changed


@pytest.fixture(scope="module")
def client(clickhouse):
    return clickhouse.client()


def test_session_answers_from_sealed_days_answer_what_the_sessions_answered(client):
    made = shop_data.shop_events(PROJECT, 400, seed=61, start=RANGE.start, span=RANGE.end - RANGE.start).rows
    neighbour = shop_data.shop_events(NEIGHBOUR, 40, seed=62, start=DAY, span=timedelta(days=2)).rows
    shop_data.insert(client, made + neighbour)
    before = answers(client)
    assert session_days(client) == []  # just inserted: every start hour raw
    assert before["all"]["summary"]["sessions"] > 300 and before["release"]["summary"]["sessions"] > 0
    assert before["safari"]["summary"]["sessions"] > 0 and before["home"]["summary"]["sessions"] > 0
    assert before["all"]["sources"] and before["all"]["campaigns"]

    seal_now(client)
    assert session_days(client) == DAYS
    assert_same(answers(client), before)
    # the days' sessions were summed into session_day: the days' marker rows count them
    summed = client.command("SELECT sum(sessions) FROM session_day FINAL WHERE project_id = {project:UInt32} "
                            "AND breakdown = '' AND day IN {days:Array(DateTime('UTC'))}",
                            parameters={"project": PROJECT, "days": DAYS})
    raw = client.command(
        "SELECT count() FROM (SELECT min(timestamp) AS started, countIf(type = 'page_view') AS pages FROM events FINAL "
        "WHERE project_id = {project:UInt32} GROUP BY session_id) WHERE pages > 0 AND started >= {day:DateTime64(3, 'UTC')} "
        "AND started < {day:DateTime64(3, 'UTC')} + toIntervalDay(2)", parameters={"project": PROJECT, "day": DAY})
    assert int(summed) == int(raw) > 100

    # a replayed batch of the second day's middle (the same event ids again): nothing changes
    middle = [row for row in made if DAYS[1] + timedelta(hours=4) <= at(row) < DAYS[1] + timedelta(hours=20)]
    shop_data.insert(client, middle[:120])
    assert session_days(client) == DAYS[:1]  # its hours touched: read hour by hour
    assert_same(answers(client), before)

    # a late session in the second day: counted at once, and still once the day is sealed again
    first = middle[0][COLUMNS.index("session_id")]
    late = renamed([row for row in made if row[COLUMNS.index("session_id")] == first], "late")
    shop_data.insert(client, late)
    now = answers(client)
    assert now["all"]["summary"]["sessions"] == before["all"]["summary"]["sessions"] + 1
    seal_now(client)
    assert session_days(client) == DAYS
    assert_same(answers(client), now)
    assert answers(client)["all"]["entry"] != before["all"]["entry"]

    # an insert just past the first day (its last start hours' sessions are read up to 2 h on)
    # reopens it; a session starting then counts at once
    past = renamed([row for row in made if DAYS[1] <= at(row) < DAYS[1] + timedelta(hours=1)
                    and row[COLUMNS.index("type")] == "page_view"][:1], "past")
    shop_data.insert(client, past)
    assert session_days(client) == []
    assert answers(client)["all"]["summary"]["sessions"] == now["all"]["summary"]["sessions"] + 1
