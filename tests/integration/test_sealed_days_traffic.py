"""Sealed traffic days (098_traffic_days.sql) against the real engine: once traffic_day_seal has
summed a closed day's sealed hours of traffic_hour, the most viewed pages over a range longer than
7 days (visitors estimated: top_pages_days) read those days' page views and visitor states from
traffic_day, the edge hours from traffic_hour and the open part raw — and answer exactly what the raw
events answered before any seal (uniqCombined64 is exact at these few visitors), with an environment
filter the day table answers, and a release and a browser filter it cannot (the hours, the raw
events). A replayed batch into a sealed day changes nothing; a late page view into it counts at once
(the day is read hour by hour, its touched hour raw) and still after the hour and the day are sealed
again.

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

pytestmark = pytest.mark.integration

PROJECT = 9435
NEIGHBOUR = 9436
# eight whole days that closed long enough ago to be sealed, asked about with a few hours either side:
# past 7 days, so the visitors are estimated and the days may answer
DAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=9)
DAYS = [DAY + timedelta(days=n) for n in range(8)]
RANGE = Filters(PROJECT, DAY - timedelta(hours=2, minutes=30), DAY + timedelta(days=8, hours=2, minutes=30))
COLUMNS = list(shop_data.COLUMNS)


def pages(client, **dimensions: str) -> list[dict]:
    return queries.top_pages(client, Filters(PROJECT, RANGE.start, RANGE.end, **dimensions), 1000).to_dicts()


def answers(client) -> dict:
    return {"all": pages(client), "environment": pages(client, environment="production"),
            "release": pages(client, release="shop@2.5.0"),  # no release in traffic_day: the hours
            "safari": pages(client, browser="Safari")}  # no browser in the tables: raw


def sealed_days(client) -> list[datetime]:
    """The whole days of the range that traffic_day answers (rows/sealed_days_of)."""
    return days_of.sealed_days(client, RANGE, "traffic", "traffic_day", per_route=True)


def day_views(client, day: datetime, path: str) -> int:
    """The page views of ``path`` on ``day`` in traffic_day's latest seal of that day."""
    return int(client.command(
        "SELECT sum(page_views) FROM traffic_day WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')} "
        "AND path = {path:String} AND sealed_at = (SELECT max(sealed_at) FROM traffic_day "
        "WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')})",
        parameters={"project": PROJECT, "day": clickhouse_time(day), "path": path}))


@pytest.fixture(scope="module")
def client(clickhouse):
    return clickhouse.client()


def test_top_pages_from_sealed_days_answer_what_the_raw_events_answer(client):
    assert queries.estimated(RANGE, "people")
    made = shop_data.shop_events(PROJECT, 400, seed=61, start=RANGE.start, span=RANGE.end - RANGE.start).rows
    neighbour = shop_data.shop_events(NEIGHBOUR, 40, seed=62, start=DAY, span=timedelta(days=2)).rows
    shop_data.insert(client, made + neighbour)
    before = answers(client)
    assert sealed_days(client) == []  # just inserted: every hour raw
    assert sum(row["page_views"] for row in before["all"]) > 1000
    assert before["environment"] == before["all"] and before["release"] and before["safari"]
    assert before["release"] != before["all"]

    seal_now(client)
    assert sealed_days(client) == DAYS
    assert answers(client) == before
    top = before["all"][0]["path"]
    assert day_views(client, DAYS[3], top) > 0  # the days were summed into traffic_day

    def on_second_day(row: tuple) -> bool:
        at = datetime.fromtimestamp(row[COLUMNS.index("timestamp")] / 1000, timezone.utc)
        return (row[COLUMNS.index("type")] == "page_view" and row[COLUMNS.index("path")] == top
                and DAYS[1] + timedelta(hours=1) <= at < DAYS[1] + timedelta(hours=23))

    second = [row for row in made if on_second_day(row)]
    shop_data.insert(client, second[:30])  # a replayed batch: the same event ids again
    assert sealed_days(client) == [day for day in DAYS if day != DAYS[1]]  # its hours touched: read hour by hour
    assert answers(client) == before

    late = list(second[0])  # a page view by someone new under a new event id
    late[COLUMNS.index("event_id")] = f"late-{late[COLUMNS.index('event_id')]}"
    late[COLUMNS.index("visitor_id")] = "v_late_visitor"
    shop_data.insert(client, [tuple(late)])

    def counted(found: dict) -> tuple[int, int]:
        row = next(row for row in found["all"] if row["path"] == top)
        return row["page_views"], row["visitors"]

    views, visitors = counted(before)
    assert counted(answers(client)) == (views + 1, visitors + 1)  # at once, before any seal
    viewed_that_day = day_views(client, DAYS[1], top)
    seal_now(client)
    assert sealed_days(client) == DAYS
    after = answers(client)
    assert counted(after) == (views + 1, visitors + 1)
    assert [row for row in after["all"] if row["path"] != top] == [row for row in before["all"] if row["path"] != top]
    assert day_views(client, DAYS[1], top) == viewed_that_day + 1  # the day's latest seal holds the late view
