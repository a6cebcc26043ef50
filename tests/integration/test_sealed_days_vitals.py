"""Web Vitals from sealed days (101_web_vitals_days.sql) against the real engine: once the day seals
have summed a closed day's sealed hours of web_vitals_route_hour and web_vitals_hour, the breakdown
by route and the summary over a range holding whole days read those days from web_vitals_route_day
and web_vitals_day, the edge hours from the hourly tables and the open part raw — and answer exactly
what the raw events answered before any seal, with a release and environment filter the tables
answer and a browser filter and device breakdown they cannot. A replayed batch into a sealed day
changes nothing; a late measurement into it counts at once (the day is read hour by hour, its touched
hour raw) and still after the hour and the day are sealed again.

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

PROJECT = 9511
NEIGHBOUR = 9512
# two whole days that closed long enough ago to be sealed, asked about with a few hours either side
DAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
DAYS = [DAY, DAY + timedelta(days=1)]
RANGE = Filters(PROJECT, DAY - timedelta(hours=2, minutes=30), DAY + timedelta(days=2, hours=2, minutes=30))
COLUMNS = list(shop_data.COLUMNS)
# each hourly table the Web Vitals answers read, and the daily table summed from its sealed hours
DAY_TABLES = {"web_vitals_route_hour": "web_vitals_route_day", "web_vitals_hour": "web_vitals_day"}


def filtered(**dimensions: str) -> Filters:
    return Filters(PROJECT, RANGE.start, RANGE.end, **dimensions)


def answers(client) -> dict:
    return {
        "routes": queries.vital_breakdown(client, RANGE, "LCP", "route", 1000).to_dicts(),
        "routes_release": queries.vital_breakdown(client, filtered(release="shop@2.5.0", environment="production"),
                                                  "INP", "route", 1000).to_dicts(),
        "summary": queries.vital_summary(client, RANGE).to_dicts(),
        "summary_route": queries.vital_summary(client, filtered(route="/p/*")).to_dicts(),
        "releases": queries.vital_breakdown(client, RANGE, "CLS", "release").to_dicts(),
        "routes_safari": queries.vital_breakdown(client, filtered(browser="Safari"), "LCP", "route").to_dicts(),  # raw
        "devices": queries.vital_breakdown(client, RANGE, "LCP", "device").to_dicts(),  # no device in the tables: raw
    }


def sealed_days(client, hour_table: str) -> list[datetime]:
    """The whole days of the range that hour_table's daily table answers (rows/sealed_days_of)."""
    return days_of.sealed_days(client, RANGE, "web_vitals", DAY_TABLES[hour_table])


def every_sealed_days(client) -> dict[str, list[datetime]]:
    return {table: sealed_days(client, table) for table in DAY_TABLES}


@pytest.fixture(scope="module")
def client(clickhouse):
    return clickhouse.client()


def test_web_vitals_from_sealed_days_answer_what_the_raw_events_answer(client):
    made = shop_data.shop_events(PROJECT, 240, seed=61, start=RANGE.start, span=RANGE.end - RANGE.start).rows
    neighbour = shop_data.shop_events(NEIGHBOUR, 40, seed=62, start=DAY, span=timedelta(days=2)).rows
    shop_data.insert(client, made + neighbour)
    before = answers(client)
    assert every_sealed_days(client) == {table: [] for table in DAY_TABLES}  # just inserted: every hour raw
    assert sum(row["samples"] for row in before["routes"]) > 200 and len(before["routes"]) > 3
    assert all(before[name] for name in before), [name for name in before if not before[name]]

    seal_now(client)
    assert every_sealed_days(client) == {table: DAYS for table in DAY_TABLES}
    for day_table in DAY_TABLES.values():  # the whole days are read from the day tables' rows
        assert int(client.command(f"SELECT count() FROM {day_table} WHERE project_id = {PROJECT} AND samples > 0")) > 0
    assert answers(client) == before

    def on_second_day(row: tuple) -> bool:
        at = datetime.fromtimestamp(row[COLUMNS.index("timestamp")] / 1000, timezone.utc)
        return (row[COLUMNS.index("type")] == "web_vital" and row[COLUMNS.index("vital_name")] == "LCP"
                and DAYS[1] + timedelta(hours=1) <= at < DAYS[1] + timedelta(hours=23))

    second = [row for row in made if on_second_day(row)]
    shop_data.insert(client, second[:40])  # a replayed batch: the same event ids again
    assert every_sealed_days(client) == {table: DAYS[:1] for table in DAY_TABLES}  # its hours touched: by hour
    assert answers(client) == before

    late = list(second[0])  # the same measurement under a new event id
    late[COLUMNS.index("event_id")] = f"late-{late[COLUMNS.index('event_id')]}"
    shop_data.insert(client, [tuple(late)])
    path = late[COLUMNS.index("path")]

    def samples(found: dict, answer: str = "routes") -> int:
        return next(row["samples"] for row in found[answer] if row["value"] == path)

    def lcp(found: dict) -> int:
        return next(row["samples"] for row in found["summary"] if row["vital"] == "LCP")

    assert samples(answers(client)) == samples(before) + 1  # at once, before any seal
    assert lcp(answers(client)) == lcp(before) + 1
    seal_now(client)
    assert every_sealed_days(client) == {table: DAYS for table in DAY_TABLES}
    after = answers(client)
    assert samples(after) == samples(before) + 1 and lcp(after) == lcp(before) + 1
    assert [row for row in after["routes"] if row["value"] != path] == [
        row for row in before["routes"] if row["value"] != path]
    # the day holds the late measurement: web_vitals_route_day's latest seal of the second day counts it
    counted = client.command(
        "SELECT sum(samples) FROM web_vitals_route_day WHERE project_id = {project:UInt32} "
        "AND day = {day:DateTime64(3, 'UTC')} AND vital_name = 'LCP' AND path = {path:String} "
        "AND sealed_at = (SELECT max(sealed_at) FROM web_vitals_route_day WHERE project_id = {project:UInt32} "
        "AND day = {day:DateTime64(3, 'UTC')})",
        parameters={"project": PROJECT, "day": clickhouse_time(DAYS[1]), "path": path})

    def measured_that_day(row: tuple) -> bool:
        at = datetime.fromtimestamp(row[COLUMNS.index("timestamp")] / 1000, timezone.utc)
        return (row[COLUMNS.index("type")] == "web_vital" and row[COLUMNS.index("vital_name")] == "LCP"
                and row[COLUMNS.index("path")] == path and DAYS[1] <= at < DAYS[1] + timedelta(days=1))

    assert int(counted) == 1 + sum(1 for row in made if measured_that_day(row))
