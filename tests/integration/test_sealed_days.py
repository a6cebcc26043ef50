"""Sealed days (097_resource_days.sql) against the real engine: once resource_day_seal has summed a
closed day's sealed hours of resource_hour, the slowest resources over a range holding whole days
read those days from resource_day, the edge hours from resource_hour and the open part raw — and
answer exactly what the raw events answered before any seal, with a release filter the tables
answer and a browser filter they cannot. A replayed batch into a sealed day changes nothing; a late
resource load into it counts at once (the day is read hour by hour, its touched hour raw) and still
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

PROJECT = 9411
NEIGHBOUR = 9412
RANGE = days_of.day_range(PROJECT)
COLUMNS = list(shop_data.COLUMNS)


def resources(client, **dimensions: str) -> list[dict]:
    return queries.slowest_resources(client, Filters(PROJECT, RANGE.start, RANGE.end, **dimensions), 1000).to_dicts()


def answers(client) -> dict:
    return {"all": resources(client), "release": resources(client, release="shop@2.5.0", environment="production"),
            "safari": resources(client, browser="Safari")}  # no browser in the tables: raw


def sealed_days(client) -> list[datetime]:
    return days_of.sealed_days(client, RANGE, "resource", "resource_day")


@pytest.fixture(scope="module")
def client(clickhouse):
    return clickhouse.client()


def test_resources_from_sealed_days_answer_what_the_raw_events_answer(client):
    made = shop_data.shop_events(PROJECT, 240, seed=51, start=RANGE.start, span=RANGE.end - RANGE.start).rows
    neighbour = shop_data.shop_events(NEIGHBOUR, 40, seed=52, start=DAY, span=timedelta(days=2)).rows
    shop_data.insert(client, made + neighbour)
    before = answers(client)
    assert sealed_days(client) == []  # just inserted: every hour raw
    assert sum(row["loads"] for row in before["all"]) > 1000 and before["release"] and before["safari"]

    seal_now(client)
    assert sealed_days(client) == DAYS
    assert answers(client) == before

    def on_second_day(row: tuple) -> bool:
        at = datetime.fromtimestamp(row[COLUMNS.index("timestamp")] / 1000, timezone.utc)
        return row[COLUMNS.index("type")] == "resource" and DAYS[1] + timedelta(hours=1) <= at < DAYS[1] + timedelta(hours=23)

    second = [row for row in made if on_second_day(row)]
    shop_data.insert(client, second[:80])  # a replayed batch: the same event ids again
    assert sealed_days(client) == DAYS[:1]  # its hours touched: read hour by hour
    assert answers(client) == before

    late = list(second[0])  # the same load under a new event id
    late[COLUMNS.index("event_id")] = f"late-{late[COLUMNS.index('event_id')]}"
    shop_data.insert(client, [tuple(late)])
    url = late[COLUMNS.index("http_url")]

    def loads(found: dict) -> int:
        return next(row["loads"] for row in found["all"] if row["resource"] == url)

    assert loads(answers(client)) == loads(before) + 1  # at once, before any seal
    seal_now(client)
    assert sealed_days(client) == DAYS
    after = answers(client)
    assert loads(after) == loads(before) + 1
    assert [row for row in after["all"] if row["resource"] != url] == [row for row in before["all"] if row["resource"] != url]
    # the day holds the late load: resource_day's latest seal of the second day counts it
    counted = client.command(
        "SELECT sum(loads) FROM resource_day WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')} "
        "AND resource = {url:String} AND measure = 'duration' AND sealed_at = (SELECT max(sealed_at) "
        "FROM resource_day WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')})",
        parameters={"project": PROJECT, "day": clickhouse_time(DAYS[1]), "url": url})
    assert int(counted) == 1 + sum(1 for row in made if row[COLUMNS.index("http_url")] == url and DAYS[1] <= datetime.fromtimestamp(
        row[COLUMNS.index("timestamp")] / 1000, timezone.utc) < DAYS[1] + timedelta(days=1))
