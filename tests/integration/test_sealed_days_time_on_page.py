"""Time on page from sealed days (100_time_on_page_days.sql) against the real engine: once
time_on_page_day_seal has summed a closed day's sealed hours of time_on_page_hour, time on page
over a range holding whole days reads those days from time_on_page_day, the edge hours from
time_on_page_hour and the open part raw — and answers exactly what the raw events answered before
any seal (the same histograms, so the same percentiles), with a release and a route filter the
tables answer and a browser filter they cannot. A replayed batch into a sealed day changes nothing;
a late view into it counts at once (the day is read hour by hour, its touched hour raw) and still
after the hour and the day are sealed again.

Sealing waits out the views' 60 s margin after the latest insert (seal_now) twice: ~2.5 minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipeline import queries
from pipeline.queries import Filters
from pipeline.queries.filters import clickhouse_time
from pipeline.warehouse.sealing import seal_now
from tests.support import sealed_days as days_of, shop_data
from tests.support.sealed_days import DAY, DAYS

pytestmark = pytest.mark.integration

PROJECT = 9445
NEIGHBOUR = 9446
RANGE = days_of.day_range(PROJECT)
COLUMNS = list(shop_data.COLUMNS)


def pages(client, **dimensions: str) -> list[dict]:
    return queries.time_on_page(client, Filters(PROJECT, RANGE.start, RANGE.end, **dimensions), 1000).to_dicts()


def answers(client) -> dict:
    return {"all": pages(client), "release": pages(client, release="shop@2.5.0", environment="production"),
            "route": pages(client, route="/p/*"),
            "safari": pages(client, browser="Safari")}  # no browser in the tables: raw


def sealed_days(client) -> list[datetime]:
    return days_of.sealed_days(client, RANGE, "time_on_page", "time_on_page_day")


def day_views(client, day: datetime, path: str) -> int:
    """The views of ``path`` that time_on_page_day's latest seal of ``day`` holds."""
    return int(client.command(
        "SELECT sum(views) FROM time_on_page_day WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')} "
        "AND path = {path:String} AND sealed_at = (SELECT max(sealed_at) FROM time_on_page_day "
        "WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')})",
        parameters={"project": PROJECT, "day": clickhouse_time(day), "path": path}))


def at(row: tuple) -> datetime:
    return datetime.fromtimestamp(row[COLUMNS.index("timestamp")] / 1000, timezone.utc)


@pytest.fixture(scope="module")
def client(clickhouse):
    return clickhouse.client()


def test_time_on_page_from_sealed_days_answers_what_the_raw_events_answer(client):
    made = shop_data.shop_events(PROJECT, 240, seed=61, start=RANGE.start, span=RANGE.end - RANGE.start).rows
    neighbour = shop_data.shop_events(NEIGHBOUR, 40, seed=62, start=DAY, span=timedelta(days=2)).rows
    shop_data.insert(client, made + neighbour)
    before = answers(client)
    assert sealed_days(client) == []  # just inserted: every hour raw
    assert sum(row["views"] for row in before["all"]) > 500
    assert before["release"] and before["route"] and before["safari"]

    seal_now(client)
    assert sealed_days(client) == DAYS
    assert answers(client) == before
    views = [row for row in made if row[COLUMNS.index("type")] == "time_on_page"]
    path = views[0][COLUMNS.index("path")]
    assert day_views(client, DAYS[0], path) == sum(
        1 for row in views if row[COLUMNS.index("path")] == path and DAYS[0] <= at(row) < DAYS[1])

    second = [row for row in views if DAYS[1] + timedelta(hours=1) <= at(row) < DAYS[1] + timedelta(hours=23)]
    shop_data.insert(client, second[:40])  # a replayed batch: the same event ids again
    assert sealed_days(client) == DAYS[:1]  # its hours touched: read hour by hour
    assert answers(client) == before

    late = list(second[0])  # the same view under a new event id
    late[COLUMNS.index("event_id")] = f"late-{late[COLUMNS.index('event_id')]}"
    shop_data.insert(client, [tuple(late)])
    path = late[COLUMNS.index("path")]

    def path_views(found: dict) -> int:
        return next(row["views"] for row in found["all"] if row["path"] == path)

    assert path_views(answers(client)) == path_views(before) + 1  # at once, before any seal
    seal_now(client)
    assert sealed_days(client) == DAYS
    after = answers(client)
    assert path_views(after) == path_views(before) + 1
    assert [row for row in after["all"] if row["path"] != path] == [row for row in before["all"] if row["path"] != path]
    # the day holds the late view: time_on_page_day's latest seal of the second day counts it
    assert day_views(client, DAYS[1], path) == 1 + sum(
        1 for row in views if row[COLUMNS.index("path")] == path and DAYS[1] <= at(row) < DAYS[1] + timedelta(days=1))

    # and the whole days are read from it, not from their hours: a row added to the first day's
    # latest seal (a path no event has) is in the answers the day table can give, not in the raw one
    client.command(
        "INSERT INTO time_on_page_day SELECT project_id, day, 'production', 'shop@2.5.0', '/p/only-in-the-day', 500, 7, "
        "2000, 3000, sealed_at FROM time_on_page_day WHERE project_id = {project:UInt32} AND "
        "day = {day:DateTime64(3, 'UTC')} ORDER BY sealed_at DESC LIMIT 1",
        parameters={"project": PROJECT, "day": clickhouse_time(DAYS[0])})
    read = {name: {row["path"]: row["views"] for row in rows} for name, rows in answers(client).items()}
    assert read["all"]["/p/only-in-the-day"] == read["release"]["/p/only-in-the-day"] == 7
    assert read["route"]["/p/only-in-the-day"] == 7 and "/p/only-in-the-day" not in read["safari"]
