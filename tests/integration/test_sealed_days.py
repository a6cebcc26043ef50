"""Sealed days (097_resource_days.sql to 101_web_vitals_days.sql) against the real engine: once a
family's day seal has summed a closed day's sealed hours, its answers over a range holding whole
days read those days from its daily table, the edge hours from its hourly table (the sessions: the
edge start hours' sessions as before) and the open part raw — and answer what the raw events
answered before any seal:

- resources (097): the slowest resources from resource_day, with a release filter the tables
  answer and a browser filter they cannot;
- traffic (098): the most viewed pages over a range longer than 7 days (visitors estimated:
  top_pages_days) from traffic_day's page views and visitor states (uniqCombined64 is exact at
  these few visitors), with an environment filter the day table answers and a release and a
  browser filter it cannot (the hours, the raw events);
- sessions (099): the session breakdowns (entry, exit, source, campaign) and summary from
  session_day — the breakdowns exactly, the summary exactly but its median duration (then read
  from the day's histogram, within 1 %) — with a release filter session_day answers and a browser
  and a route filter it cannot; an insert just past a day's end, which its last start hours'
  sessions are read from, reopens it;
- time on page (100): from time_on_page_day (the same histograms, so the same percentiles), with a
  release and a route filter the tables answer and a browser filter they cannot; the whole days
  are read from the day table, not their hours (a row added to it is in the answers);
- Web Vitals (101): the breakdown by route and the summary from web_vitals_route_day and
  web_vitals_day, with a release and environment filter the tables answer and a browser filter
  and device breakdown they cannot.

For every family a replayed batch into a sealed day changes nothing; a late event into it counts
at once (the day is read hour by hour, its touched hour raw) and still after the hour and the day
are sealed again, and the daily table's latest seal of the day holds it.

Sealing waits out the views' 60 s margin after the latest insert
(:func:`pipeline.warehouse.sealing.seal_now`), so the module seals only twice for all five
families, in two module-scoped phases that read everything the tests assert on (as
test_sealed_hours.py): :func:`shop` inserts every family's events, reads every family's answers and
sealed days, seals and reads them again; :func:`late` inserts every family's replayed batch and
reads, inserts every family's late events and reads at once, seals again and reads. Each family
keeps its own projects, so no family's events change another's answers. What a family checks
after the last seal without another seal (the sessions' reopened day, the row added to
time_on_page_day) its own test does. The module takes about 3 minutes (the five modules it
replaces, each sealing twice on its own: about 11).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import NamedTuple

import pytest

from pipeline import queries
from pipeline.queries import Filters
from pipeline.queries.filters import clickhouse_time
from pipeline.warehouse.sealing import seal_now
from tests.support import sealed_days as days_of, shop_data
from tests.support.sealed_days import DAY, DAYS

pytestmark = pytest.mark.integration

COLUMNS = list(shop_data.COLUMNS)


def value(row: tuple, name: str):
    """One column of an ``events`` row."""
    return row[COLUMNS.index(name)]


def at(row: tuple) -> datetime:
    return datetime.fromtimestamp(value(row, "timestamp") / 1000, timezone.utc)


def anew(row: tuple, **changes) -> tuple:
    """``row`` under a new event id (``late-…``), with some other columns changed."""
    values = list(row)
    values[COLUMNS.index("event_id")] = f"late-{value(row, 'event_id')}"
    for name, changed in changes.items():
        values[COLUMNS.index(name)] = changed
    return tuple(values)


# resources (097) ----------------------------------------------------------------------------------

RESOURCE_PROJECT = 9411
RESOURCE_NEIGHBOUR = 9412
RESOURCE_RANGE = days_of.day_range(RESOURCE_PROJECT)


def resource_answers(client) -> dict:
    def resources(**dimensions: str) -> list[dict]:
        filters = Filters(RESOURCE_PROJECT, RESOURCE_RANGE.start, RESOURCE_RANGE.end, **dimensions)
        return queries.slowest_resources(client, filters, 1000).to_dicts()

    return {"all": resources(), "release": resources(release="shop@2.5.0", environment="production"),
            "safari": resources(browser="Safari")}  # no browser in the tables: raw


def resource_days(client) -> list[datetime]:
    return days_of.sealed_days(client, RESOURCE_RANGE, "resource", "resource_day")


def resource_day_loads(client, day: datetime, url: str) -> int:
    """The loads of ``url`` (its duration) in resource_day's latest seal of ``day``."""
    return int(client.command(
        "SELECT sum(loads) FROM resource_day WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')} "
        "AND resource = {url:String} AND measure = 'duration' AND sealed_at = (SELECT max(sealed_at) "
        "FROM resource_day WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')})",
        parameters={"project": RESOURCE_PROJECT, "day": clickhouse_time(day), "url": url}))


def resource_loads_on_second_day(made: list[tuple]) -> list[tuple]:
    """The resource loads of the second day's middle, where the replay and the late load go."""
    return [row for row in made if value(row, "type") == "resource"
            and DAYS[1] + timedelta(hours=1) <= at(row) < DAYS[1] + timedelta(hours=23)]


# traffic (098) ------------------------------------------------------------------------------------

TRAFFIC_PROJECT = 9435
TRAFFIC_NEIGHBOUR = 9436
# eight whole days that closed long enough ago to be sealed, asked about with a few hours either side:
# past 7 days, so the visitors are estimated and the days may answer
TRAFFIC_DAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=9)
TRAFFIC_DAYS = [TRAFFIC_DAY + timedelta(days=n) for n in range(8)]
TRAFFIC_RANGE = Filters(TRAFFIC_PROJECT, TRAFFIC_DAY - timedelta(hours=2, minutes=30),
                        TRAFFIC_DAY + timedelta(days=8, hours=2, minutes=30))


def traffic_answers(client) -> dict:
    def pages(**dimensions: str) -> list[dict]:
        filters = Filters(TRAFFIC_PROJECT, TRAFFIC_RANGE.start, TRAFFIC_RANGE.end, **dimensions)
        return queries.top_pages(client, filters, 1000).to_dicts()

    return {"all": pages(), "environment": pages(environment="production"),
            "release": pages(release="shop@2.5.0"),  # no release in traffic_day: the hours
            "safari": pages(browser="Safari")}  # no browser in the tables: raw


def traffic_days(client) -> list[datetime]:
    """The whole days of the range that traffic_day answers (rows/sealed_days_of)."""
    return days_of.sealed_days(client, TRAFFIC_RANGE, "traffic", "traffic_day", per_route=True)


def traffic_day_views(client, day: datetime, path: str) -> int:
    """The page views of ``path`` on ``day`` in traffic_day's latest seal of that day."""
    return int(client.command(
        "SELECT sum(page_views) FROM traffic_day WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')} "
        "AND path = {path:String} AND sealed_at = (SELECT max(sealed_at) FROM traffic_day "
        "WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')})",
        parameters={"project": TRAFFIC_PROJECT, "day": clickhouse_time(day), "path": path}))


def top_page(shop: dict) -> str:
    """The most viewed page before any seal, whose second day the replay and the late view go into."""
    return shop["live"]["traffic"]["answers"]["all"][0]["path"]


def top_page_views_on_second_day(made: list[tuple], top: str) -> list[tuple]:
    return [row for row in made if value(row, "type") == "page_view" and value(row, "path") == top
            and TRAFFIC_DAYS[1] + timedelta(hours=1) <= at(row) < TRAFFIC_DAYS[1] + timedelta(hours=23)]


# sessions (099) -----------------------------------------------------------------------------------

SESSION_PROJECT = 9455
SESSION_NEIGHBOUR = 9456
SESSION_RANGE = days_of.day_range(SESSION_PROJECT)
SESSION_FILTERS = {"all": {}, "release": {"release": "shop@2.5.0", "environment": "production"},
                   "safari": {"browser": "Safari"}, "home": {"route": "/"}}  # no browser nor route in session_day


def session_answers(client) -> dict:
    found = {}
    for name, dimensions in SESSION_FILTERS.items():
        filters = Filters(SESSION_PROJECT, SESSION_RANGE.start, SESSION_RANGE.end, **dimensions)
        found[name] = {"summary": queries.session_summary(client, filters).row(0, named=True),
                       **{part: rows.to_dicts() for part, rows in queries.session_breakdowns(client, filters, 1000).items()}}
    return found


def session_days(client) -> list[datetime]:
    return days_of.session_days(client, SESSION_RANGE)


def without_median(found: dict) -> dict:
    return {name: {**parts, "summary": {key: figure for key, figure in parts["summary"].items() if key != "median_duration_s"}}
            for name, parts in found.items()}


def assert_same_sessions(found: dict, expected: dict) -> None:
    """Equal but the median durations, which the day's histogram answers within 1 %."""
    assert without_median(found) == without_median(expected)
    for name in SESSION_FILTERS:
        assert found[name]["summary"]["median_duration_s"] == pytest.approx(
            expected[name]["summary"]["median_duration_s"], rel=0.01), name


def sessions_summed_and_started(client) -> tuple[int, int]:
    """The sessions session_day's marker rows count over the two days, and the sessions (with a page
    view) the raw events started in them."""
    summed = client.command("SELECT sum(sessions) FROM session_day FINAL WHERE project_id = {project:UInt32} "
                            "AND breakdown = '' AND day IN {days:Array(DateTime('UTC'))}",
                            parameters={"project": SESSION_PROJECT, "days": DAYS})
    raw = client.command(
        "SELECT count() FROM (SELECT min(timestamp) AS started, countIf(type = 'page_view') AS pages FROM events FINAL "
        "WHERE project_id = {project:UInt32} GROUP BY session_id) WHERE pages > 0 AND started >= {day:DateTime64(3, 'UTC')} "
        "AND started < {day:DateTime64(3, 'UTC')} + toIntervalDay(2)", parameters={"project": SESSION_PROJECT, "day": DAY})
    return int(summed), int(raw)


def renamed(rows: list[tuple], tag: str) -> list[tuple]:
    """The same events of a new session (new event and session ids)."""
    changed = []
    for row in rows:
        row = list(row)
        for column in ("event_id", "session_id"):
            row[COLUMNS.index(column)] = f"{tag}-{row[COLUMNS.index(column)]}"
        changed.append(tuple(row))
    return changed


def second_day_middle(made: list[tuple]) -> list[tuple]:
    """The events of the second day's middle, far from both its ends' sessions: the replay and the
    late session go there."""
    return [row for row in made if DAYS[1] + timedelta(hours=4) <= at(row) < DAYS[1] + timedelta(hours=20)]


# time on page (100) -------------------------------------------------------------------------------

TIME_ON_PAGE_PROJECT = 9445
TIME_ON_PAGE_NEIGHBOUR = 9446
TIME_ON_PAGE_RANGE = days_of.day_range(TIME_ON_PAGE_PROJECT)


def time_on_page_answers(client) -> dict:
    def pages(**dimensions: str) -> list[dict]:
        filters = Filters(TIME_ON_PAGE_PROJECT, TIME_ON_PAGE_RANGE.start, TIME_ON_PAGE_RANGE.end, **dimensions)
        return queries.time_on_page(client, filters, 1000).to_dicts()

    return {"all": pages(), "release": pages(release="shop@2.5.0", environment="production"),
            "route": pages(route="/p/*"),
            "safari": pages(browser="Safari")}  # no browser in the tables: raw


def time_on_page_days(client) -> list[datetime]:
    return days_of.sealed_days(client, TIME_ON_PAGE_RANGE, "time_on_page", "time_on_page_day")


def time_on_page_day_views(client, day: datetime, path: str) -> int:
    """The views of ``path`` that time_on_page_day's latest seal of ``day`` holds."""
    return int(client.command(
        "SELECT sum(views) FROM time_on_page_day WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')} "
        "AND path = {path:String} AND sealed_at = (SELECT max(sealed_at) FROM time_on_page_day "
        "WHERE project_id = {project:UInt32} AND day = {day:DateTime64(3, 'UTC')})",
        parameters={"project": TIME_ON_PAGE_PROJECT, "day": clickhouse_time(day), "path": path}))


def page_views_timed(made: list[tuple]) -> list[tuple]:
    return [row for row in made if value(row, "type") == "time_on_page"]


def timed_views_on_second_day(made: list[tuple]) -> list[tuple]:
    return [row for row in page_views_timed(made) if DAYS[1] + timedelta(hours=1) <= at(row) < DAYS[1] + timedelta(hours=23)]


# Web Vitals (101) ---------------------------------------------------------------------------------

VITALS_PROJECT = 9511
VITALS_NEIGHBOUR = 9512
VITALS_RANGE = days_of.day_range(VITALS_PROJECT)
# each hourly table the Web Vitals answers read, and the daily table summed from its sealed hours
VITALS_DAY_TABLES = {"web_vitals_route_hour": "web_vitals_route_day", "web_vitals_hour": "web_vitals_day"}


def vitals_filtered(**dimensions: str) -> Filters:
    return Filters(VITALS_PROJECT, VITALS_RANGE.start, VITALS_RANGE.end, **dimensions)


def vitals_answers(client) -> dict:
    return {
        "routes": queries.vital_breakdown(client, VITALS_RANGE, "LCP", "route", 1000).to_dicts(),
        "routes_release": queries.vital_breakdown(client, vitals_filtered(release="shop@2.5.0", environment="production"),
                                                  "INP", "route", 1000).to_dicts(),
        "summary": queries.vital_summary(client, VITALS_RANGE).to_dicts(),
        "summary_route": queries.vital_summary(client, vitals_filtered(route="/p/*")).to_dicts(),
        "releases": queries.vital_breakdown(client, VITALS_RANGE, "CLS", "release").to_dicts(),
        "routes_safari": queries.vital_breakdown(client, vitals_filtered(browser="Safari"), "LCP", "route").to_dicts(),  # raw
        "devices": queries.vital_breakdown(client, VITALS_RANGE, "LCP", "device").to_dicts(),  # no device in the tables: raw
    }


def vitals_days(client) -> dict[str, list[datetime]]:
    """For each hourly table, the whole days of the range its daily table answers (rows/sealed_days_of)."""
    return {table: days_of.sealed_days(client, VITALS_RANGE, "web_vitals", day_table)
            for table, day_table in VITALS_DAY_TABLES.items()}


def vitals_day_rows(client) -> dict[str, int]:
    """Each daily table's rows of the project with samples: the whole days are read from these."""
    return {day_table: int(client.command(f"SELECT count() FROM {day_table} WHERE project_id = {{project:UInt32}} "
                                          "AND samples > 0", parameters={"project": VITALS_PROJECT}))
            for day_table in VITALS_DAY_TABLES.values()}  # names from VITALS_DAY_TABLES, not input


def vitals_day_lcp_samples(client, day: datetime, path: str) -> int:
    """The LCP samples of ``path`` in web_vitals_route_day's latest seal of ``day``."""
    return int(client.command(
        "SELECT sum(samples) FROM web_vitals_route_day WHERE project_id = {project:UInt32} "
        "AND day = {day:DateTime64(3, 'UTC')} AND vital_name = 'LCP' AND path = {path:String} "
        "AND sealed_at = (SELECT max(sealed_at) FROM web_vitals_route_day WHERE project_id = {project:UInt32} "
        "AND day = {day:DateTime64(3, 'UTC')})",
        parameters={"project": VITALS_PROJECT, "day": clickhouse_time(day), "path": path}))


def lcp_on_second_day(made: list[tuple]) -> list[tuple]:
    return [row for row in made if value(row, "type") == "web_vital" and value(row, "vital_name") == "LCP"
            and DAYS[1] + timedelta(hours=1) <= at(row) < DAYS[1] + timedelta(hours=23)]


# the two phases -----------------------------------------------------------------------------------

class Shop(NamedTuple):
    """A family's own shop: ``sessions`` sessions (``seed``) over its range, and a neighbour's 40
    sessions (``seed`` + 1) over its first two days, which must not leak into the family's answers."""
    project: int
    sessions: int
    seed: int
    range: Filters
    neighbour: int
    first_day: datetime


SHOPS = {"resources": Shop(RESOURCE_PROJECT, 240, 51, RESOURCE_RANGE, RESOURCE_NEIGHBOUR, DAY),
         "traffic": Shop(TRAFFIC_PROJECT, 400, 61, TRAFFIC_RANGE, TRAFFIC_NEIGHBOUR, TRAFFIC_DAY),
         "sessions": Shop(SESSION_PROJECT, 400, 61, SESSION_RANGE, SESSION_NEIGHBOUR, DAY),
         "time_on_page": Shop(TIME_ON_PAGE_PROJECT, 240, 61, TIME_ON_PAGE_RANGE, TIME_ON_PAGE_NEIGHBOUR, DAY),
         "vitals": Shop(VITALS_PROJECT, 240, 61, VITALS_RANGE, VITALS_NEIGHBOUR, DAY)}


def read_everything(client) -> dict:
    """Every family's answers and the days its daily tables answer."""
    return {"resources": {"answers": resource_answers(client), "days": resource_days(client)},
            "traffic": {"answers": traffic_answers(client), "days": traffic_days(client)},
            "sessions": {"answers": session_answers(client), "days": session_days(client)},
            "time_on_page": {"answers": time_on_page_answers(client), "days": time_on_page_days(client)},
            "vitals": {"answers": vitals_answers(client), "days": vitals_days(client)}}


@pytest.fixture(scope="module")
def client(clickhouse):
    return clickhouse.client()


@pytest.fixture(scope="module")
def shop(client):
    """Phase one: every family's events (all made before any is inserted, so the live reads follow
    the inserts closely), every answer read live before any seal, then the first seal, every answer
    again and what the daily tables hold."""
    made, neighbours = {}, []
    for family, shop_of in SHOPS.items():
        made[family] = shop_data.shop_events(shop_of.project, shop_of.sessions, seed=shop_of.seed,
                                             start=shop_of.range.start, span=shop_of.range.end - shop_of.range.start).rows
        neighbours += shop_data.shop_events(shop_of.neighbour, 40, seed=shop_of.seed + 1, start=shop_of.first_day,
                                            span=timedelta(days=2)).rows
    for rows in made.values():
        shop_data.insert(client, rows)
    shop_data.insert(client, neighbours)
    live = read_everything(client)

    seal_now(client)
    sealed = read_everything(client)
    top = live["traffic"]["answers"]["all"][0]["path"]
    timed_path = value(page_views_timed(made["time_on_page"])[0], "path")
    in_day_tables = {"traffic": traffic_day_views(client, TRAFFIC_DAYS[3], top),
                     "sessions": sessions_summed_and_started(client),
                     "time_on_page": time_on_page_day_views(client, DAYS[0], timed_path),
                     "vitals": vitals_day_rows(client)}
    return {"rows": made, "live": live, "sealed": sealed, "in_day_tables": in_day_tables}


def replays(shop: dict) -> dict[str, list[tuple]]:
    """Each family's replayed batch into its sealed second day: the same event ids again."""
    made = shop["rows"]
    return {"resources": resource_loads_on_second_day(made["resources"])[:80],
            "traffic": top_page_views_on_second_day(made["traffic"], top_page(shop))[:30],
            "sessions": second_day_middle(made["sessions"])[:120],
            "time_on_page": timed_views_on_second_day(made["time_on_page"])[:40],
            "vitals": lcp_on_second_day(made["vitals"])[:40]}


def late_events(shop: dict) -> dict[str, list[tuple]]:
    """Each family's late new events into its sealed second day: a copy of the first replayed event
    under a new event id (traffic: by a new visitor; sessions: a whole new session)."""
    made = shop["rows"]
    first_session = value(second_day_middle(made["sessions"])[0], "session_id")
    return {"resources": [anew(resource_loads_on_second_day(made["resources"])[0])],
            "traffic": [anew(top_page_views_on_second_day(made["traffic"], top_page(shop))[0],
                             visitor_id="v_late_visitor")],
            "sessions": renamed([row for row in made["sessions"] if value(row, "session_id") == first_session], "late"),
            "time_on_page": [anew(timed_views_on_second_day(made["time_on_page"])[0])],
            "vitals": [anew(lcp_on_second_day(made["vitals"])[0])]}


@pytest.fixture(scope="module")
def late(client, shop):
    """Phase two, after the first seal: every family's replay into its sealed second day and every
    answer read; every family's late events and every answer read at once; the second seal, every
    answer again and what the daily tables' latest seals of the second days hold."""
    for batch in replays(shop).values():
        shop_data.insert(client, batch)
    replayed = read_everything(client)
    own = late_events(shop)
    for rows in own.values():
        shop_data.insert(client, rows)
    at_once = read_everything(client)
    top = top_page(shop)
    traffic_at_once = traffic_day_views(client, TRAFFIC_DAYS[1], top)

    seal_now(client)
    resealed = read_everything(client)
    in_day_tables = {
        "resources": resource_day_loads(client, DAYS[1], value(own["resources"][0], "http_url")),
        "traffic": (traffic_at_once, traffic_day_views(client, TRAFFIC_DAYS[1], top)),
        "time_on_page": time_on_page_day_views(client, DAYS[1], value(own["time_on_page"][0], "path")),
        "vitals": vitals_day_lcp_samples(client, DAYS[1], value(own["vitals"][0], "path"))}
    return {"own": own, "replayed": replayed, "at_once": at_once, "resealed": resealed,
            "in_day_tables": in_day_tables}


# each family's test -------------------------------------------------------------------------------

def assert_one_more(late: dict, family: str, before: dict, key: str, count: str, name: str) -> None:
    """What the second phase shows for a family whose late event is one it had, under a new event
    id: the replay changed nothing (its second day read hour by hour meanwhile); the ``key`` row
    ``name`` counts one more ``count`` at once and still after the second seal, which reads both
    days again; every other row is as before."""
    replayed = late["replayed"][family]
    assert replayed["days"] == DAYS[:1]  # its hours touched: read hour by hour
    assert replayed["answers"] == before

    def counted(found: dict) -> int:
        return next(row[count] for row in found["all"] if row[key] == name)

    assert counted(late["at_once"][family]["answers"]) == counted(before) + 1  # at once, before any seal
    assert late["resealed"][family]["days"] == DAYS
    after = late["resealed"][family]["answers"]
    assert counted(after) == counted(before) + 1
    assert [row for row in after["all"] if row[key] != name] == [row for row in before["all"] if row[key] != name]

def test_resources_from_sealed_days_answer_what_the_raw_events_answer(shop, late):
    live, made = shop["live"]["resources"], shop["rows"]["resources"]
    before = live["answers"]
    assert live["days"] == []  # just inserted: every hour raw
    assert sum(row["loads"] for row in before["all"]) > 1000 and before["release"] and before["safari"]

    assert shop["sealed"]["resources"]["days"] == DAYS
    assert shop["sealed"]["resources"]["answers"] == before

    (load,) = late["own"]["resources"]  # the same load under a new event id
    url = value(load, "http_url")
    assert_one_more(late, "resources", before, "resource", "loads", url)
    # the day holds the late load: resource_day's latest seal of the second day counts it
    assert late["in_day_tables"]["resources"] == 1 + sum(
        1 for row in made if value(row, "http_url") == url and DAYS[1] <= at(row) < DAYS[1] + timedelta(days=1))


def test_top_pages_from_sealed_days_answer_what_the_raw_events_answer(shop, late):
    assert queries.estimated(TRAFFIC_RANGE, "people")
    live = shop["live"]["traffic"]
    before = live["answers"]
    assert live["days"] == []  # just inserted: every hour raw
    assert sum(row["page_views"] for row in before["all"]) > 1000
    assert before["environment"] == before["all"] and before["release"] and before["safari"]
    assert before["release"] != before["all"]

    assert shop["sealed"]["traffic"]["days"] == TRAFFIC_DAYS
    assert shop["sealed"]["traffic"]["answers"] == before
    top = top_page(shop)
    assert shop["in_day_tables"]["traffic"] > 0  # the days were summed into traffic_day (its 4th day's top page)

    replayed = late["replayed"]["traffic"]
    assert replayed["days"] == [day for day in TRAFFIC_DAYS if day != TRAFFIC_DAYS[1]]  # its hours touched: by hour
    assert replayed["answers"] == before


    def counted(found: dict) -> tuple[int, int]:
        row = next(row for row in found["all"] if row["path"] == top)
        return row["page_views"], row["visitors"]

    views, visitors = counted(before)
    assert counted(late["at_once"]["traffic"]["answers"]) == (views + 1, visitors + 1)  # at once, before any seal
    viewed_that_day, viewed_after = late["in_day_tables"]["traffic"]
    assert late["resealed"]["traffic"]["days"] == TRAFFIC_DAYS
    after = late["resealed"]["traffic"]["answers"]
    assert counted(after) == (views + 1, visitors + 1)
    assert [row for row in after["all"] if row["path"] != top] == [row for row in before["all"] if row["path"] != top]
    assert viewed_after == viewed_that_day + 1  # the day's latest seal holds the late view


def test_session_answers_from_sealed_days_answer_what_the_sessions_answered(client, shop, late):
    live, made = shop["live"]["sessions"], shop["rows"]["sessions"]
    before = live["answers"]
    assert live["days"] == []  # just inserted: every start hour raw
    assert before["all"]["summary"]["sessions"] > 300 and before["release"]["summary"]["sessions"] > 0
    assert before["safari"]["summary"]["sessions"] > 0 and before["home"]["summary"]["sessions"] > 0
    assert before["all"]["sources"] and before["all"]["campaigns"]

    assert shop["sealed"]["sessions"]["days"] == DAYS
    assert_same_sessions(shop["sealed"]["sessions"]["answers"], before)
    # the days' sessions were summed into session_day: the days' marker rows count them
    summed, raw = shop["in_day_tables"]["sessions"]
    assert summed == raw > 100

    # a replayed batch of the second day's middle (the same event ids again): nothing changes
    replayed = late["replayed"]["sessions"]
    assert replayed["days"] == DAYS[:1]  # its hours touched: read hour by hour
    assert_same_sessions(replayed["answers"], before)

    # a late session in the second day: counted at once, and still once the day is sealed again
    now = late["at_once"]["sessions"]["answers"]
    assert now["all"]["summary"]["sessions"] == before["all"]["summary"]["sessions"] + 1
    assert late["resealed"]["sessions"]["days"] == DAYS
    assert_same_sessions(late["resealed"]["sessions"]["answers"], now)
    assert late["resealed"]["sessions"]["answers"]["all"]["entry"] != before["all"]["entry"]

    # an insert just past the first day (its last start hours' sessions are read up to 2 h on)
    # reopens it; a session starting then counts at once
    past = renamed([row for row in made if DAYS[1] <= at(row) < DAYS[1] + timedelta(hours=1)
                    and value(row, "type") == "page_view"][:1], "past")
    shop_data.insert(client, past)
    assert session_days(client) == []
    assert session_answers(client)["all"]["summary"]["sessions"] == now["all"]["summary"]["sessions"] + 1


def test_time_on_page_from_sealed_days_answers_what_the_raw_events_answer(client, shop, late):
    live = shop["live"]["time_on_page"]
    views = page_views_timed(shop["rows"]["time_on_page"])
    before = live["answers"]
    assert live["days"] == []  # just inserted: every hour raw
    assert sum(row["views"] for row in before["all"]) > 500
    assert before["release"] and before["route"] and before["safari"]

    assert shop["sealed"]["time_on_page"]["days"] == DAYS
    assert shop["sealed"]["time_on_page"]["answers"] == before
    path = value(views[0], "path")
    assert shop["in_day_tables"]["time_on_page"] == sum(
        1 for row in views if value(row, "path") == path and DAYS[0] <= at(row) < DAYS[1])

    (view,) = late["own"]["time_on_page"]  # the same view under a new event id
    path = value(view, "path")
    assert_one_more(late, "time_on_page", before, "path", "views", path)
    # the day holds the late view: time_on_page_day's latest seal of the second day counts it
    assert late["in_day_tables"]["time_on_page"] == 1 + sum(
        1 for row in views if value(row, "path") == path and DAYS[1] <= at(row) < DAYS[1] + timedelta(days=1))

    # and the whole days are read from it, not from their hours: a row added to the first day's
    # latest seal (a path no event has) is in the answers the day table can give, not in the raw one
    client.command(
        "INSERT INTO time_on_page_day SELECT project_id, day, 'production', 'shop@2.5.0', '/p/only-in-the-day', 500, 7, "
        "2000, 3000, sealed_at FROM time_on_page_day WHERE project_id = {project:UInt32} AND "
        "day = {day:DateTime64(3, 'UTC')} ORDER BY sealed_at DESC LIMIT 1",
        parameters={"project": TIME_ON_PAGE_PROJECT, "day": clickhouse_time(DAYS[0])})
    read = {name: {row["path"]: row["views"] for row in rows} for name, rows in time_on_page_answers(client).items()}
    assert read["all"]["/p/only-in-the-day"] == read["release"]["/p/only-in-the-day"] == 7
    assert read["route"]["/p/only-in-the-day"] == 7 and "/p/only-in-the-day" not in read["safari"]


def test_web_vitals_from_sealed_days_answer_what_the_raw_events_answer(shop, late):
    live, made = shop["live"]["vitals"], shop["rows"]["vitals"]
    before = live["answers"]
    assert live["days"] == {table: [] for table in VITALS_DAY_TABLES}  # just inserted: every hour raw
    assert sum(row["samples"] for row in before["routes"]) > 200 and len(before["routes"]) > 3
    assert all(before[name] for name in before), [name for name in before if not before[name]]

    assert shop["sealed"]["vitals"]["days"] == {table: DAYS for table in VITALS_DAY_TABLES}
    for day_table, rows in shop["in_day_tables"]["vitals"].items():  # the whole days are read from these rows
        assert rows > 0, day_table
    assert shop["sealed"]["vitals"]["answers"] == before

    replayed = late["replayed"]["vitals"]
    assert replayed["days"] == {table: DAYS[:1] for table in VITALS_DAY_TABLES}  # its hours touched: by hour
    assert replayed["answers"] == before

    (measurement,) = late["own"]["vitals"]  # the same measurement under a new event id
    path = value(measurement, "path")

    def samples(found: dict, answer: str = "routes") -> int:
        return next(row["samples"] for row in found[answer] if row["value"] == path)

    def lcp(found: dict) -> int:
        return next(row["samples"] for row in found["summary"] if row["vital"] == "LCP")

    now = late["at_once"]["vitals"]["answers"]
    assert samples(now) == samples(before) + 1  # at once, before any seal
    assert lcp(now) == lcp(before) + 1
    assert late["resealed"]["vitals"]["days"] == {table: DAYS for table in VITALS_DAY_TABLES}
    after = late["resealed"]["vitals"]["answers"]
    assert samples(after) == samples(before) + 1 and lcp(after) == lcp(before) + 1
    assert [row for row in after["routes"] if row["value"] != path] == [
        row for row in before["routes"] if row["value"] != path]
    # the day holds the late measurement: web_vitals_route_day's latest seal of the second day counts it
    def measured_that_day(row: tuple) -> bool:
        return (value(row, "type") == "web_vital" and value(row, "vital_name") == "LCP"
                and value(row, "path") == path and DAYS[1] <= at(row) < DAYS[1] + timedelta(days=1))

    assert late["in_day_tables"]["vitals"] == 1 + sum(1 for row in made if measured_that_day(row))
