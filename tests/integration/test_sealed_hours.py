"""Sealed hours (073_sealed_audience_hours.sql and the families after it) against the real engine:
once ClickHouse's refreshable views have frozen closed hours, every family's answers (traffic totals
and trend, sessions, Web Vitals and API calls, error groups, clicks, attribution and time on page,
resources and navigation timing) are exactly what they answered from the raw events and what ground
truth says — with every filter, with replayed events in the warehouse, with a replay into a sealed
hour (nothing changes) and with late new events into a sealed hour (counted at once, and still after
the hour is sealed again).

Sealing waits out the views' 60 s safety margin after the latest insert
(:func:`pipeline.warehouse.sealing.seal_now`), so the module seals only twice, in two module-scoped
phases that read everything the tests assert on: :func:`shop` inserts the shop's events, reads every
answer live, seals and reads them again; :func:`late` inserts every family's replays, reads, inserts
every family's late events, reads at once, seals again and reads after the seal. Each family's late
events change other families' answers too (a late click is a new visitor in the traffic totals), so
ground truth is always computed over every event inserted. The module takes about two and a half
minutes (eight and a half when each test sealed on its own).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from pipeline import queries
from pipeline.contract import vitals
from pipeline.queries import Filters
from pipeline.queries.filters import clickhouse_time
from pipeline.warehouse.sealing import seal_now
from tests.support import shop_data

pytestmark = pytest.mark.integration

PROJECT = 9311
NEIGHBOUR = 9312
# events in three whole hours that ended long enough ago to be sealed and a few minutes either side,
# asked about over a range long enough for totals to read the seal (queries.SEALED_FROM)
ANCHOR = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
RANGE = Filters(PROJECT, ANCHOR - queries.SEALED_FROM - timedelta(minutes=20),
                ANCHOR + timedelta(hours=3, minutes=20))
HOURS = [ANCHOR + timedelta(hours=n) for n in range(3)]
FILTERS = [{}, {"environment": "production"}, {"release": "shop@2.5.0"}, {"release": "shop@2.4.1"},
           {"environment": "production", "release": "shop@2.5.0"}, {"environment": "nowhere"}]
COLUMNS = list(shop_data.COLUMNS)
# every hourly table a family reads its sealed hours from
TABLES = ("audience_hour", "web_vitals_hour", "web_vitals_route_hour", "api_calls_hour", "error_groups_hour",
          "click_hour", "vital_target_hour", "time_on_page_hour", "resource_hour", "navigation_hour")


def filters_with(**dimensions: str) -> Filters:
    return Filters(PROJECT, RANGE.start, RANGE.end, **dimensions)


def answers(client) -> dict:
    """traffic_totals for every filter and the hourly traffic_trend, comparable with ==."""
    assert all(queries.pick_source(filters_with(**dimensions), "traffic", sealed=True).rows == "sealed" for dimensions in FILTERS)
    found = {repr(dimensions): queries.traffic_totals(client, filters_with(**dimensions)).to_dicts()
             for dimensions in FILTERS}
    found["trend"] = queries.traffic_trend(client, RANGE, 60).to_dicts()
    return found


def family_answers(client) -> dict:
    """The Web Vitals and API calls answers over the range, which read their sealed hours (090; by
    route: 093)."""
    return {"vitals": queries.vital_summary(client, RANGE).to_dicts(),
            "lcp_trend": queries.vital_trend(client, RANGE, "LCP", 60).to_dicts(),
            "by_release": queries.vital_breakdown(client, RANGE, "LCP", "release").to_dicts(),
            "by_route": queries.vital_breakdown(client, RANGE, "LCP", "route", 500).to_dicts(),
            "route_trend": queries.vital_trend(client, filters_with(route="/p/*"), "LCP", 60).to_dicts(),
            "route_by_release": queries.vital_breakdown(client, filters_with(route="/p/*", environment="production"),
                                                        "LCP", "release").to_dicts(),
            "api": queries.api_endpoints(client, RANGE, limit=1000).to_dicts(),
            "api_totals": queries.api_call_totals(client, RANGE).to_dicts()}


def error_answers(client) -> dict:
    """The Errors page's answers (092): the groups over the range, with a release filter the hourly
    table answers and a browser filter it cannot, the groups of a window starting inside the sealed
    hours (first_seen from the sealed history) and of a 15-minute alert window, and every group's
    whole history."""
    later = Filters(PROJECT, HOURS[1] + timedelta(minutes=30), RANGE.end)
    alert = Filters(PROJECT, HOURS[1] + timedelta(minutes=10), HOURS[1] + timedelta(minutes=25))
    return {"groups": queries.error_groups(client, RANGE, 60).to_dicts(),
            "by_release": queries.error_groups(client, filters_with(release="shop@2.5.0"), 60).to_dicts(),
            "safari": queries.error_groups(client, filters_with(browser="Safari"), 60).to_dicts(),
            "later": queries.error_groups(client, later, 30).to_dicts(),
            "alert": queries.error_groups(client, alert, 5).to_dicts(),
            "summaries": queries.error_group_summaries(client, PROJECT).to_dicts()}


def drilldown_answers(client) -> dict:
    """What the SDK blamed for LCP and time on page (096), over the range, with a release filter the
    hourly tables answer and (time on page) a route filter."""
    release = filters_with(release="shop@2.5.0", environment="production")
    return {"lcp": queries.vital_attribution(client, RANGE, "LCP", 50).to_dicts(),
            "inp": queries.vital_attribution(client, release, "INP", 50).to_dicts(),
            "ttfb": queries.vital_attribution(client, RANGE, "TTFB", 50).to_dicts(),  # not in the table: raw
            "time_on_page": queries.time_on_page(client, RANGE, 100).to_dicts(),
            "time_on_page_release": queries.time_on_page(client, release, 100).to_dicts(),
            "time_on_page_route": queries.time_on_page(client, filters_with(route="/p/*"), 100).to_dicts()}


def timing_answers(client) -> dict:
    """The Web Vitals page's drill-downs into resources and navigation timing (095): over the range,
    with a release filter the hourly tables answer and a browser filter they cannot."""
    return {"resources": queries.slowest_resources(client, RANGE, limit=1000).to_dicts(),
             "resources_release": queries.slowest_resources(client, filters_with(release="shop@2.5.0"), 1000).to_dicts(),
             "resources_safari": queries.slowest_resources(client, filters_with(browser="Safari"), 1000).to_dicts(),
             "navigation": queries.navigation_timing(client, RANGE).to_dicts(),
             "navigation_production": queries.navigation_timing(client, filters_with(environment="production")).to_dicts(),
             "navigation_safari": queries.navigation_timing(client, filters_with(browser="Safari")).to_dicts()}


def with_approximate_means(answers: dict) -> dict:
    """:func:`timing_answers` to compare others with: the means and offsets as pytest.approx (a sum of
    sealed hours' sums adds in another order than the raw events'), everything else exact."""
    return {name: [{**row, **{column: pytest.approx(row[column], rel=1e-12) for column in ("mean", "offset")
                              if column in row}} for row in rows] for name, rows in answers.items()}


def sealed_hours_of(client, table: str) -> list[datetime]:
    """The hours of the range that ``table``'s seal answers (rows/sealed_hours_of)."""
    parameters = {"project_id": PROJECT, "hours_start": clickhouse_time(HOURS[0]),
                  "hours_end": clickhouse_time(HOURS[-1] + timedelta(hours=1)), "hour_table": table}
    rows = client.query(f"SELECT hour FROM ({queries.sql('rows/sealed_hours_of')}) ORDER BY hour", parameters=parameters)
    return [hour.replace(tzinfo=timezone.utc) for (hour,) in rows.result_rows]


def truth(rows: list[tuple]) -> dict:
    """The same answers, computed in polars from the distinct events."""
    frame = shop_data.truth_frame(rows).filter(pl.col("project_id") == PROJECT)
    found = {}
    for dimensions in FILTERS:
        selected = frame.filter((pl.col("timestamp") >= RANGE.start) & (pl.col("timestamp") < RANGE.end))
        for name, value in dimensions.items():
            selected = selected.filter(pl.col(name) == value)
        found[repr(dimensions)] = [{
            "page_views": selected.filter(pl.col("type") == "page_view").height,
            "unique_visitors": selected["visitor_id"].n_unique(), "sessions": selected["session_id"].n_unique(),
            "errors": selected.filter(pl.col("type") == "error").height, "events": selected.height,
        }]
    in_range = frame.filter((pl.col("timestamp") >= RANGE.start) & (pl.col("timestamp") < RANGE.end))
    found["trend"] = (in_range.group_by(pl.col("timestamp").dt.truncate("1h").alias("time"))
                      .agg((pl.col("type") == "page_view").sum().cast(pl.UInt64).alias("page_views"),
                           pl.col("visitor_id").n_unique().cast(pl.UInt64).alias("visitors"),
                           pl.col("session_id").n_unique().cast(pl.UInt64).alias("sessions"))
                      .sort("time").to_dicts())
    return found


def like(row: tuple, **changes) -> tuple:
    """``row`` with some columns changed."""
    values = list(row)
    for name, value in changes.items():
        values[COLUMNS.index(name)] = value
    return tuple(values)


def session_answers(client) -> dict:
    """The Traffic page's session answers over the range, comparable with ==."""
    return {"summary": queries.session_summary(client, RANGE).to_dicts(),
            "entries": queries.entry_pages(client, RANGE).to_dicts(),
            "exits": queries.exit_pages(client, RANGE).to_dicts(),
            "sources": queries.sources(client, RANGE).to_dicts(),
            "campaigns": queries.campaigns(client, RANGE).to_dicts(),
            "options": {name: sorted(values) for name, values in queries.filter_options(client, RANGE).items()}}


def sealed_session_hours(client) -> list[datetime]:
    """The start hours of the range whose sessions the queries take from the seal."""
    rows = client.query(f"SELECT hour FROM ({queries.sql('rows/sealed_session_hours')}) ORDER BY hour",
                        parameters=RANGE.parameters())
    return [hour.replace(tzinfo=timezone.utc) for (hour,) in rows.result_rows]


def last_sessions_seal(client) -> datetime:
    """When the latest successful refresh of sessions_seal started, by the server's clock."""
    started = client.command("SELECT toUnixTimestamp(last_success_time) FROM system.view_refreshes "
                             "WHERE database = currentDatabase() AND view = 'sessions_seal'")
    return datetime.fromtimestamp(int(started), timezone.utc)


def route_truth(rows: list[tuple]) -> dict[str, tuple[int, float, float]]:
    """Per path the LCP samples and the shares rated good and poor, in polars from the distinct events."""
    frame = shop_data.truth_frame(rows).filter(
        (pl.col("project_id") == PROJECT) & (pl.col("type") == "web_vital") & (pl.col("vital_name") == "LCP")
        & (pl.col("timestamp") >= RANGE.start) & (pl.col("timestamp") < RANGE.end))
    ratings = {path: [vitals.rate("LCP", value) for value in values]
               for path, values in frame.group_by("path").agg(pl.col("vital_value")).iter_rows()}
    return {path: (len(rated), rated.count("good") / len(rated), rated.count("poor") / len(rated))
            for path, rated in ratings.items()}


def route_answers(client) -> dict[str, tuple[int, float, float]]:
    """The Web Vitals page's LCP by route (093), keyed like :func:`route_truth` (shares as pytest.approx)."""
    answer = queries.vital_breakdown(client, RANGE, "LCP", "route", 500)
    return {row["value"]: (row["samples"], pytest.approx(row["good"], abs=1e-12), pytest.approx(row["poor"], abs=1e-12))
            for row in answer.iter_rows(named=True)}


def value(row: tuple, name: str):
    """One column of an ``events`` row."""
    return row[COLUMNS.index(name)]


def in_middle(row: tuple) -> bool:
    """Whether the event falls into the middle one of HOURS (sealed first, then replayed into and late)."""
    return HOURS[1] <= datetime.fromtimestamp(value(row, "timestamp") / 1000, timezone.utc) < HOURS[2]


def read_everything(client) -> dict:
    """Which hours each table takes from its seal, and every family's answers, comparable with ==."""
    return {"hours": {table: sealed_hours_of(client, table) for table in TABLES},
            "traffic": answers(client), "families": family_answers(client), "by_route": route_answers(client),
            "errors": error_answers(client), "clicks": click_answers(client),
            "drilldowns": drilldown_answers(client), "timings": timing_answers(client)}


@pytest.fixture(scope="module")
def client(clickhouse):
    return clickhouse.client()


@pytest.fixture(scope="module")
def shop(client):
    """Phase one: the shop's events (a tenth of them inserted twice), every answer read live before
    any seal, then the first seal and every answer again, with the sessions seal's bounds."""
    made = shop_data.shop_events(PROJECT, 300, seed=41, start=ANCHOR - timedelta(minutes=10),
                                 span=timedelta(hours=3, minutes=15)).rows
    neighbour = shop_data.shop_events(NEIGHBOUR, 30, seed=42, start=ANCHOR, span=timedelta(hours=3)).rows
    shop_data.insert(client, made + neighbour)
    shop_data.insert(client, random.Random(43).sample(made, len(made) // 10))
    live = {**read_everything(client), "session_hours": sealed_session_hours(client),
            "sessions": session_answers(client)}
    seal_now(client)
    # the sealed start hours between two looks at the latest sessions_seal refresh (see the test)
    before = last_sessions_seal(client)
    session_hours = sealed_session_hours(client)
    after = last_sessions_seal(client)
    sealed = {**read_everything(client), "sessions_seal": (before, session_hours, after),
              "sessions": session_answers(client)}
    return {"rows": made, "live": live, "sealed": sealed}


def replays(middle: list[tuple]) -> dict[str, list[tuple]]:
    """Each family's replayed batch into the sealed middle hour: the same event ids again."""
    of_type = {kind: [row for row in middle if value(row, "type") == kind]
               for kind in ("web_vital", "click", "error", "time_on_page", "resource")}
    return {"traffic": middle[:5], "by_route": of_type["web_vital"][:40], "clicks": of_type["click"][:30],
            "drilldowns": [row for row in middle if value(row, "type") in ("web_vital", "time_on_page")],
            "timings": [row for row in middle if value(row, "type") == "resource"
                        or value(row, "vital_name") == "LOAD"][:60],
            "errors": of_type["error"]}


def late_events(middle: list[tuple]) -> dict[str, list[tuple]]:
    """Each family's late new events into the sealed middle hour, copies of its events with new ids
    (and, where a family counts them, new visitors, sessions, users)."""
    def first(**columns) -> tuple:
        return next(row for row in middle if all(value(row, name) == wanted for name, wanted in columns.items()))

    def anew(row: tuple, prefix: str = "late-", **changes) -> tuple:
        return like(row, event_id=f"{prefix}{value(row, 'event_id')}", **changes)

    lcp = first(type="web_vital", vital_name="LCP")
    click = next(row for row in middle if value(row, "type") == "click" and value(row, "path").startswith("/p/")
                 and value(row, "release") == "shop@2.5.0")
    return {"traffic": [anew(first(type="page_view", release="shop@2.5.0"), visitor_id="late-visitor",
                             session_id="late-session")],
            "families": [anew(lcp), anew(first(type="api_call"))],
            "errors": [anew(first(type="error"), visitor_id="late-error-visitor", user_id="late-error-user")],
            "clicks": [anew(click, visitor_id="late-click-visitor")],
            "drilldowns": [anew(lcp, "late-target-"), anew(first(type="time_on_page"), "late-view-")],
            "timings": [anew(first(type="resource")), anew(first(vital_name="LOAD"))]}


@pytest.fixture(scope="module")
def late(client, shop):
    """Phase two, after the first seal: every family's replay into the sealed middle hour and every
    answer read; every family's late events (the late error sent twice) and every answer read at
    once; the second seal and every answer read again."""
    middle = [row for row in shop["rows"] if in_middle(row)]
    for batch in replays(middle).values():
        shop_data.insert(client, batch)
    replayed = read_everything(client)
    own = late_events(middle)
    for rows in own.values():
        shop_data.insert(client, rows)
    shop_data.insert(client, own["errors"])  # the client's resend
    at_once = read_everything(client)
    seal_now(client)
    return {"own": own, "events": [row for rows in own.values() for row in rows],
            "replayed": replayed, "at_once": at_once, "resealed": read_everything(client)}


def late_ones(late: dict, **columns) -> int:
    """How many of every family's late events have these column values."""
    return sum(all(value(row, name) == wanted for name, wanted in columns.items()) for row in late["events"])


def hours_of(reading: dict, *tables: str) -> dict[str, list[datetime]]:
    """The sealed hours a phase read for some of the tables."""
    return {table: reading["hours"][table] for table in tables}


def test_sealed_hours_answer_what_the_sets_and_ground_truth_answer(shop):
    expected = truth(shop["rows"])
    assert shop["live"]["hours"] == dict.fromkeys(TABLES, [])  # just inserted: read from the sets
    assert shop["live"]["traffic"] == expected
    assert expected[repr({})][0]["events"] > 500 and expected[repr({"release": "shop@2.5.0"})][0]["errors"] > 0
    assert shop["sealed"]["hours"]["audience_hour"] == HOURS
    assert shop["sealed"]["traffic"] == expected


def test_sealed_sessions_answer_what_the_raw_events_answer(shop):
    """Start hours whose following three hours are over are sealed (their sessions' events from
    two hours before to three after); the queries read those from the seal, the rest raw."""
    assert shop["live"]["session_hours"] == []
    # every refresh of sessions_seal (each minute, and seal_now's) seals the start hours over by
    # then, so which are sealed depends on the latest refresh, not on when this module was collected
    # (the hour after HOURS may cross its 3 h 5 min while the suite runs)
    before, sealed, after = shop["sealed"]["sessions_seal"]

    def over_by(moment: datetime) -> list[datetime]:
        return [hour for hour in [HOURS[0] - timedelta(hours=1), *HOURS, HOURS[-1] + timedelta(hours=1)]
                if hour + timedelta(hours=3, minutes=5) <= moment]

    assert set(over_by(before)) <= set(sealed) <= set(over_by(after)) and len(over_by(before)) >= 2
    found = shop["sealed"]["sessions"]
    assert found == shop["live"]["sessions"]
    assert found["summary"][0]["sessions"] > 100 and found["sources"] and found["campaigns"]


def test_a_replay_into_a_sealed_hour_changes_nothing_and_a_late_event_counts_at_once(shop, late):
    assert shop["sealed"]["hours"]["audience_hour"] == HOURS
    assert HOURS[1] not in late["replayed"]["hours"]["audience_hour"]  # touched: read from the sets until sealed again
    assert late["replayed"]["traffic"] == truth(shop["rows"])

    expected = truth([*shop["rows"], *late["events"]])  # every family's late events count here
    assert expected[repr({})][0]["page_views"] == shop["live"]["traffic"][repr({})][0]["page_views"] + 1
    assert late["at_once"]["traffic"] == expected  # at once, before any seal
    assert late["resealed"]["hours"]["audience_hour"] == HOURS
    assert late["resealed"]["traffic"] == expected


def test_totals_read_the_seal_only_where_it_pays():
    """Sealed counts for ranges with SEALED_FROM of whole hours the hourly rollup answers; the sets
    elsewhere (the seal's bookkeeping costs more than short ranges' event sets)."""
    week = Filters(PROJECT, ANCHOR - timedelta(days=7), ANCHOR)
    assert queries.pick_source(week, "traffic", sealed=True).rows == "sealed"
    assert queries.pick_source(week, "traffic").rows == "audience"  # the trend
    assert queries.pick_source(Filters(PROJECT, ANCHOR - timedelta(hours=24), ANCHOR), "traffic", sealed=True).rows == "audience"
    assert queries.pick_source(Filters(PROJECT, week.start, week.end, device="mobile"), "traffic", sealed=True).rows == "audience"
    assert queries.pick_source(Filters(PROJECT, week.start, week.end, route="/p/*"), "traffic", sealed=True).rows == "traffic"


def test_vitals_and_api_calls_from_sealed_hours_answer_what_the_raw_events_answer(shop, late):
    """Before any seal the Web Vitals and API answers come from the raw events; once sealed, from
    web_vitals_hour and api_calls_hour: the same answers. A replay changes nothing; a late
    measurement and a late call into a sealed hour count at once (the hour is read raw) and still
    after the hour is sealed again."""
    tables = ("web_vitals_hour", "web_vitals_route_hour", "api_calls_hour")
    assert hours_of(shop["sealed"], *tables) == dict.fromkeys(tables, HOURS)
    live = shop["live"]["families"]
    assert shop["sealed"]["families"] == live
    lcp = live["vitals"][[row["vital"] for row in live["vitals"]].index("LCP")]
    assert lcp["samples"] > 20 and live["api_totals"][0]["api_calls"] > 20
    assert late["replayed"]["families"] == live

    vital, _call = late["own"]["families"]
    path = value(vital, "path")

    def counted(answers: dict) -> tuple[int, int, int]:
        return (next(row["samples"] for row in answers["vitals"] if row["vital"] == "LCP"),
                answers["api_totals"][0]["api_calls"],
                next(row["samples"] for row in answers["by_route"] if row["value"] == path))

    # this test's late LCP and call, and the attribution test's late LCP (a copy of the same one)
    expected = (lcp["samples"] + late_ones(late, type="web_vital", vital_name="LCP"),
                live["api_totals"][0]["api_calls"] + late_ones(late, type="api_call"),
                next(row["samples"] for row in live["by_route"] if row["value"] == path)
                + late_ones(late, type="web_vital", vital_name="LCP", path=path))
    assert expected[1] == live["api_totals"][0]["api_calls"] + 1
    assert HOURS[1] not in late["at_once"]["hours"]["web_vitals_hour"]
    assert HOURS[1] not in late["at_once"]["hours"]["web_vitals_route_hour"]
    assert counted(late["at_once"]["families"]) == expected  # at once, before any seal
    assert hours_of(late["resealed"], *tables) == dict.fromkeys(tables, HOURS)
    assert counted(late["resealed"]["families"]) == expected


def test_error_groups_from_sealed_hours_count_replays_and_late_errors_once(shop, late):
    """Before any seal the error groups come from the raw events; once sealed, from error_groups_hour
    (092): the same answers. A replayed batch of a sealed hour's errors changes nothing; a late error
    into a sealed hour, sent twice, counts once at once (the hour is read raw) and still after the
    hour is sealed again."""
    assert shop["sealed"]["hours"]["error_groups_hour"] == HOURS
    before = shop["live"]["errors"]
    assert shop["sealed"]["errors"] == before
    errors = [row for row in shop["rows"] if value(row, "type") == "error"]
    in_range = [row for row in errors
                if RANGE.start <= datetime.fromtimestamp(value(row, "timestamp") / 1000, timezone.utc) < RANGE.end]
    assert sum(group["events"] for group in before["groups"]) == len(in_range) > 20
    assert before["later"] and before["alert"] and before["safari"] and before["by_release"]
    assert min(group["first_seen"] for group in before["later"]) < HOURS[1]  # from the sealed history

    (late_error,) = late["own"]["errors"]
    assert HOURS[1] not in late["replayed"]["hours"]["error_groups_hour"]
    assert late["replayed"]["errors"] == before  # the hour's errors again: a processor's replay
    message = value(late_error, "error_message")

    def counted(answers: dict) -> tuple[int, int, int, int]:
        group = next(row for row in answers["groups"] if row["message"] == message)
        summary = next(row for row in answers["summaries"] if row["fingerprint"] == group["fingerprint"])
        return group["events"], group["visitors"], summary["events"], summary["users"]

    events, visitors, all_events, users = counted(before)
    expected = (events + 1, visitors + 1, all_events + 1, users + 1)
    assert counted(late["at_once"]["errors"]) == expected  # at once, before any seal
    assert late["resealed"]["hours"]["error_groups_hour"] == HOURS
    assert counted(late["resealed"]["errors"]) == expected


def test_vitals_by_route_from_sealed_hours_equal_ground_truth(shop, late):
    """The Web Vitals page's breakdown by route (and a route filter) read web_vitals_route_hour's
    sealed hours (093) and the raw minutes at the range's edges: per path the samples and rating
    shares polars counts from the distinct events, and a replayed batch into a sealed hour changes
    nothing; late measurements count at once and after the hour is sealed again."""
    by_route = queries.pick_source(RANGE, "web_vitals", group="route")
    assert by_route.hour_table == "web_vitals_route_hour" and by_route.hours_start < by_route.hours_end
    assert queries.pick_source(filters_with(route="/p/*"), "web_vitals").hour_table == "web_vitals_route_hour"
    assert queries.pick_source(RANGE, "web_vitals", group="release").hour_table == "web_vitals_hour"

    truth_now = route_truth(shop["rows"])
    assert shop["sealed"]["hours"]["web_vitals_route_hour"] == HOURS
    assert len(truth_now) > 5 and shop["sealed"]["by_route"] == truth_now
    assert HOURS[1] not in late["replayed"]["hours"]["web_vitals_route_hour"]
    assert late["replayed"]["by_route"] == truth_now
    truth_late = route_truth([*shop["rows"], *late["events"]])
    assert truth_late != truth_now and late["at_once"]["by_route"] == truth_late
    assert late["resealed"]["hours"]["web_vitals_route_hour"] == HOURS
    assert late["resealed"]["by_route"] == truth_late


CLICK_FILTERS = {"all": {}, "release": {"release": "shop@2.5.0"}, "route": {"route": "/p/*"},
                 "mobile": {"device": "mobile"}}  # the table keeps the path; the device reads raw


def click_answers(client) -> dict:
    """The Traffic page's most clicked elements over the range (094), unfiltered, by release, by
    route and by device."""
    return {name: queries.top_clicks(client, filters_with(**dimensions), limit=100).to_dicts()
            for name, dimensions in CLICK_FILTERS.items()}


def click_truth(rows: list[tuple]) -> dict:
    """The same answers from polars: each click's element from its own JSON, the distinct events."""
    frame = shop_data.truth_frame(rows).filter(
        (pl.col("project_id") == PROJECT) & (pl.col("type") == "click")
        & (pl.col("timestamp") >= RANGE.start) & (pl.col("timestamp") < RANGE.end))
    frame = frame.with_columns(*(pl.col("data").map_elements(lambda d, key=key: shop_data.data_of(d).get(key, ""),
                                                             return_dtype=pl.String).alias(key) for key in ("text", "href")))
    found = {}
    for name, dimensions in CLICK_FILTERS.items():
        selected = frame
        for column, value in dimensions.items():
            selected = selected.filter(pl.col("path").str.starts_with("/p/") if column == "route"
                                       else pl.col(column) == value)
        found[name] = (selected.group_by("target", "text", "href")
                       .agg(pl.len().cast(pl.UInt64).alias("clicks"),
                            pl.col("visitor_id").n_unique().cast(pl.UInt64).alias("visitors"))
                       .sort(["clicks", "target", "text", "href"], descending=[True, False, False, False])
                       .to_dicts())
    return found


def test_clicks_from_sealed_hours_answer_what_the_raw_events_answer(shop, late):
    """Before any seal the most clicked elements come from the raw clicks; once sealed, from
    click_hour (094), route filters too: the same answers, and polars' from the distinct events. A
    replayed batch of a sealed hour's clicks changes nothing; a late click into a sealed hour by a
    new visitor counts at once (the hour is read raw) and still after the hour is sealed again."""
    for name in ("all", "release", "route"):
        source = queries.pick_source(filters_with(**CLICK_FILTERS[name]), "click")
        assert source.hour_table == "click_hour" and source.hours_start < source.hours_end
    assert queries.pick_source(filters_with(device="mobile"), "click").hours_start \
        == queries.pick_source(filters_with(device="mobile"), "click").hours_end  # raw
    assert shop["sealed"]["hours"]["click_hour"] == HOURS
    expected = click_truth(shop["rows"])
    assert all(len(expected[name]) > 1 for name in CLICK_FILTERS) and expected["all"][0]["visitors"] > 20
    assert shop["live"]["clicks"] == expected
    assert shop["sealed"]["clicks"] == expected
    assert HOURS[1] not in late["replayed"]["hours"]["click_hour"]
    assert late["replayed"]["clicks"] == expected

    (click,) = late["own"]["clicks"]
    expected = click_truth([*shop["rows"], *late["events"]])
    element = (value(click, "target"), value(click, "click_text"), value(click, "click_href"))

    def counted(answers: dict) -> tuple[tuple[int, int], ...]:
        return tuple(next((row["clicks"], row["visitors"]) for row in answers[name]
                          if (row["target"], row["text"], row["href"]) == element) for name in ("all", "release", "route"))

    assert counted(expected) == tuple((n + 1, v + 1) for n, v in counted(shop["live"]["clicks"]))  # no other late click
    assert late["at_once"]["clicks"] == expected  # at once, before any seal
    assert late["resealed"]["hours"]["click_hour"] == HOURS
    assert late["resealed"]["clicks"] == expected


def drilldown_truth(rows: list[tuple]) -> dict:
    """:func:`drilldown_answers`' keys and counts, and their exact percentiles, in polars from the
    distinct events."""
    frame = shop_data.truth_frame(rows).filter(
        (pl.col("project_id") == PROJECT) & (pl.col("timestamp") >= RANGE.start) & (pl.col("timestamp") < RANGE.end))
    release = (pl.col("release") == "shop@2.5.0") & (pl.col("environment") == "production")

    def per(selected: pl.DataFrame, key: str, value: str) -> dict[str, tuple[int, list[float]]]:
        quantiles = selected.group_by(key).agg(pl.len(), *(pl.col(value).quantile(q, interpolation="linear").alias(str(q))
                                                           for q in (0.5, 0.75)))
        return {row[0]: (row[1], [row[2], row[3]]) for row in quantiles.iter_rows()}

    vitals_ = frame.filter(pl.col("type") == "web_vital")
    views = frame.filter(pl.col("type") == "time_on_page").with_columns(pl.col("duration_ms") / 1000)
    return {"lcp": per(vitals_.filter(pl.col("vital_name") == "LCP"), "target", "vital_value"),
            "inp": per(vitals_.filter((pl.col("vital_name") == "INP") & release), "target", "vital_value"),
            "ttfb": per(vitals_.filter(pl.col("vital_name") == "TTFB"), "target", "vital_value"),
            "time_on_page": per(views, "path", "duration_ms"),
            "time_on_page_release": per(views.filter(release), "path", "duration_ms"),
            "time_on_page_route": per(views.filter(pl.col("path").str.starts_with("/p/")), "path", "duration_ms")}


def assert_within_one_percent(found: dict, truth: dict) -> None:
    """Each drill-down: the same keys and counts as ground truth, percentiles within 1 %."""
    for name, expected in truth.items():
        if name.startswith("time_on_page"):
            answer = {row["path"]: (row["views"], [row["median_s"], row["p75_s"]]) for row in found[name]}
        else:
            answer = {row["target"]: (row["samples"], [row["p75"]]) for row in found[name]}
            expected = {key: (count, [p75]) for key, (count, (_p50, p75)) in expected.items()}
        assert {key: count for key, (count, _) in answer.items()} == {key: count for key, (count, _) in expected.items()}, name
        for key, (_count, percentiles) in answer.items():
            assert percentiles == pytest.approx(expected[key][1], rel=queries.RELATIVE_ACCURACY, abs=1e-9), (name, key)


def test_attribution_and_time_on_page_from_sealed_hours_answer_what_the_raw_events_answer(shop, late):
    """What the SDK blamed for a vital and time on page read vital_target_hour's and
    time_on_page_hour's sealed hours (096) and the raw events for the rest: before any seal (all
    raw) and after it the same keys and counts as ground truth and percentiles within 1 %, the
    sealed answer equal to the raw one; a replayed batch into a sealed hour changes nothing, a late
    measurement and a late time on page count at once and still after the hour is sealed again."""
    tables = ("vital_target_hour", "time_on_page_hour")
    assert hours_of(shop["sealed"], *tables) == dict.fromkeys(tables, HOURS)
    for family, table in zip(("vital_target", "time_on_page"), tables):
        source = queries.pick_source(RANGE, family)
        assert source.hour_table == table and source.hours_start < source.hours_end
    assert queries.pick_source(filters_with(route="/p/*"), "vital_target").hours_start == \
        queries.pick_source(filters_with(route="/p/*"), "vital_target").hours_end  # no route: raw
    assert_within_one_percent(shop["live"]["drilldowns"], drilldown_truth(shop["rows"]))
    assert all(len(answer) > 3 for name, answer in shop["live"]["drilldowns"].items() if name != "ttfb")

    sealed = shop["sealed"]["drilldowns"]
    assert_within_one_percent(sealed, drilldown_truth(shop["rows"]))
    assert HOURS[1] not in late["replayed"]["hours"]["vital_target_hour"]
    assert HOURS[1] not in late["replayed"]["hours"]["time_on_page_hour"]
    assert late["replayed"]["drilldowns"] == sealed  # the hour read raw: the same buckets, the same answer

    vital, view = late["own"]["drilldowns"]
    target, path = value(vital, "target"), value(view, "path")

    def counted(answers: dict) -> tuple[int, int]:
        return (next(row["samples"] for row in answers["lcp"] if row["target"] == target),
                next(row["views"] for row in answers["time_on_page"] if row["path"] == path))

    # this test's late measurement and time on page, and the Web Vitals test's late LCP (the same target)
    expected = (counted(sealed)[0] + late_ones(late, type="web_vital", vital_name="LCP", target=target),
                counted(sealed)[1] + late_ones(late, type="time_on_page", path=path))
    assert expected[0] >= counted(sealed)[0] + 1 and expected[1] == counted(sealed)[1] + 1
    now = late["at_once"]["drilldowns"]
    assert counted(now) == expected  # at once, before any seal
    assert_within_one_percent(now, drilldown_truth([*shop["rows"], *late["events"]]))
    assert hours_of(late["resealed"], *tables) == dict.fromkeys(tables, HOURS)
    assert late["resealed"]["drilldowns"] == now


def test_resources_and_navigation_from_sealed_hours_answer_what_the_raw_events_answer(shop, late):
    """Before any seal the slowest resources and the navigation timing come from the raw events;
    once sealed, from resource_hour and navigation_hour (095): the same answers. A replayed batch of
    a sealed hour's resource loads and page loads changes nothing; a late resource load and a late
    page load into a sealed hour count at once (the hour is read raw) and still after it is sealed
    again."""
    tables = ("resource_hour", "navigation_hour")
    assert hours_of(shop["sealed"], *tables) == dict.fromkeys(tables, HOURS)
    before = with_approximate_means(shop["live"]["timings"])
    assert shop["sealed"]["timings"] == before
    assert sum(row["loads"] for row in before["resources"]) > 100 and before["resources_release"]
    assert min(row["samples"] for row in before["navigation"]) > 20 and before["navigation_safari"]
    assert HOURS[1] not in late["replayed"]["hours"]["resource_hour"]
    assert HOURS[1] not in late["replayed"]["hours"]["navigation_hour"]
    assert late["replayed"]["timings"] == before

    resource, _page_load = late["own"]["timings"]
    url = value(resource, "http_url")

    def counted(answers: dict) -> tuple[int, int]:
        return (next(row["loads"] for row in answers["resources"] if row["resource"] == url),
                next(row["samples"] for row in answers["navigation"] if row["phase"] == "dom"))

    expected = tuple(n + 1 for n in counted(before))
    assert (late_ones(late, type="resource", http_url=url), late_ones(late, vital_name="LOAD")) == (1, 1)
    assert HOURS[1] not in late["at_once"]["hours"]["resource_hour"]
    assert counted(late["at_once"]["timings"]) == expected  # at once, before any seal
    assert hours_of(late["resealed"], *tables) == dict.fromkeys(tables, HOURS)
    assert counted(late["resealed"]["timings"]) == expected
