"""The rollup migrations themselves: their ratings are the processor's (pipeline.contract.vitals'), a backfill
over events stored before them builds exactly what their views build on insert, inserting
the same batch twice changes no answer, and retention sets (and removes) the tables' TTLs."""

from __future__ import annotations

import shutil
import uuid
from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from pipeline import queries
from pipeline.contract import vitals
from pipeline.queries import Filters
from pipeline.warehouse.migrator import MIGRATIONS_DIR, apply_migrations
from pipeline.warehouse.retention import ROLLUP_TABLES, apply_retention
from pipeline.warehouse.sealing import seal_now
from tests.support import shop_data

pytestmark = pytest.mark.integration

START = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(hours=2)
WINDOW = Filters(1, START - timedelta(minutes=1), START + timedelta(minutes=60))


@pytest.fixture
def fresh_db(clickhouse):
    """A client on a database of its own (created by connect), dropped afterwards."""
    name = f"rollups_{uuid.uuid4().hex[:10]}"
    client = clickhouse.client(database=name)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {name}")
    client.close()


@pytest.fixture(scope="module")
def shop_rows():
    return shop_data.shop_events(1, 120, seed=31, start=START, span=timedelta(minutes=40)).rows


def answers(client) -> dict:
    """Every rollup-backed page answer over the window, comparable with ==."""
    return {
        "traffic": queries.traffic_totals(client, WINDOW).to_dicts(),
        "trend": queries.traffic_trend(client, WINDOW, 10).to_dicts(),
        "vitals": queries.vital_summary(client, WINDOW).to_dicts(),
        "sessions": queries.session_summary(client, WINDOW).to_dicts(),
        "entries": queries.entry_pages(client, WINDOW).to_dicts(),
        "sources": queries.sources(client, WINDOW).to_dicts(),
        "errors": queries.error_groups(client, WINDOW).drop("trend").to_dicts(),
        "error_summaries": queries.error_group_summaries(client, WINDOW.project_id).to_dicts(),
        "api": queries.api_endpoints(client, WINDOW).to_dicts(),
    }


def apply_migrations_before(client, tmp_path, first_left_out: str) -> None:
    """Only the migrations numbered before ``first_left_out`` (e.g. ``"090"``)."""
    early = tmp_path / "early"
    early.mkdir()
    for path in MIGRATIONS_DIR.glob("*.sql"):
        if path.name < first_left_out:
            shutil.copy(path, early)
    apply_migrations(client, early)


def test_the_rollups_rate_vitals_as_the_processor_rates_them_from_the_contract(fresh_db, tmp_path):
    """Every vital, TTI included, at and just past each bound: the rollups' ratings are the
    processor's (events.vital_rating), which are pipeline.contract.vitals', which are contract/vitals.json's.
    (The hourly rollups are written by their seals: the events are stored before 090 and 093, which seal them.)"""
    apply_migrations_before(fresh_db, tmp_path, "090")
    values = []
    for name, threshold in vitals.THRESHOLDS.items():
        step = 0.001 if threshold.unit == "" else 1.0
        values += [(name, value) for value in (threshold.good, threshold.good + step, threshold.poor,
                                               threshold.poor + step)]
    shop_data.insert(fresh_db, shop_data.vital_rows(1, datetime(2026, 1, 1, tzinfo=timezone.utc), values))
    expected = {(name, float(value), vitals.rate(name, value)) for name, value in values}
    assert {rating for _name, _value, rating in expected} == set(vitals.RATINGS)
    apply_migrations(fresh_db)
    for table in ("web_vitals_hour", "web_vitals_route_hour"):
        stored = fresh_db.query(f"SELECT toString(vital_name), high, toString(rating) FROM {table} FINAL "
                                "WHERE samples > 0").result_rows
        assert len(stored) == len(values), table
        assert set(stored) == expected, table


def test_the_hourly_rollups_hold_counts_not_sets_of_event_ids(fresh_db):
    """Exactly-once comes from events FINAL and the seal (090, 092, 093, 095), so the Web Vitals, API,
    resource and navigation rollups keep plain counts: no column of theirs is an array; the error
    groups' arrays are people."""
    apply_migrations(fresh_db)
    tables = ("web_vitals_hour", "web_vitals_route_hour", "api_calls_hour", "resource_hour", "navigation_hour")
    columns = fresh_db.query("SELECT table, name, type FROM system.columns WHERE database = currentDatabase() "
                             "AND table IN {tables:Array(String)}", parameters={"tables": list(tables)}).result_rows
    assert {table for table, _name, _type in columns} == set(tables)
    assert [(table, name) for table, name, type_ in columns if "Array" in type_] == []
    assert {(table, name, type_) for table, name, type_ in columns if name in ("samples", "calls", "loads")} == {
        ("web_vitals_hour", "samples", "UInt64"), ("web_vitals_route_hour", "samples", "UInt64"),
        ("api_calls_hour", "calls", "UInt64"), ("resource_hour", "loads", "UInt64"),
        ("navigation_hour", "samples", "UInt64")}
    # the error groups' (092) count their events; their only sets are of people (visitors, signed-in users)
    errors = dict(fresh_db.query("SELECT name, type FROM system.columns WHERE database = currentDatabase() "
                                 "AND table = 'error_groups_hour'").result_rows)
    assert errors["events"] == "UInt64"
    assert {name for name, type_ in errors.items() if "Array" in type_} == {"visitors", "users"}
    assert not fresh_db.command("SELECT count() FROM system.tables WHERE database = currentDatabase() "
                                "AND name IN ('error_groups', 'error_groups_minute', 'error_groups_mv', "
                                "'error_groups_minute_mv')")


def test_clicks_stored_before_094_are_sealed_by_it(fresh_db, tmp_path):
    """094 seals the closed hours already stored: per hour, path, environment, release and element,
    click_hour holds the clicks of the distinct events and the visitors who clicked (a set of people,
    its only array), and one marker row (no clicks) per hour that was inserted into."""
    apply_migrations_before(fresh_db, tmp_path, "094")
    rows = shop_data.shop_events(1, 80, seed=33, start=datetime(2026, 1, 1, tzinfo=timezone.utc),
                                 span=timedelta(hours=2)).rows
    shop_data.insert(fresh_db, rows)
    shop_data.insert(fresh_db, rows[:300])  # a replay: the same event ids again
    apply_migrations(fresh_db)

    events = shop_data.truth_frame(rows).with_columns(pl.col("timestamp").dt.truncate("1h").alias("hour"))
    clicks = events.filter(pl.col("type") == "click").with_columns(
        *(pl.col("data").map_elements(lambda d, key=key: shop_data.data_of(d).get(key, ""), return_dtype=pl.String)
          .alias(key) for key in ("text", "href")))
    key = ("hour", "path", "environment", "release", "target", "text", "href")
    expected = {tuple(row[:-2]): tuple(row[-2:]) for row in clicks.group_by(key).agg(
        pl.len(), pl.col("visitor_id").n_unique()).iter_rows()}
    stored = fresh_db.query("SELECT hour, path, toString(environment), toString(release), target, click_text, "
                            "click_href, clicks, length(visitors) FROM click_hour WHERE clicks > 0").result_rows
    assert len(expected) > 10
    assert {(hour.replace(tzinfo=timezone.utc), *rest[:-2]): tuple(rest[-2:]) for hour, *rest in stored} == expected
    markers = fresh_db.query("SELECT hour FROM click_hour WHERE clicks = 0 AND target = '' ORDER BY hour").result_rows
    assert [hour.replace(tzinfo=timezone.utc) for (hour,) in markers] == sorted(set(events["hour"]))
    arrays = fresh_db.query("SELECT name FROM system.columns WHERE database = currentDatabase() "
                            "AND table = 'click_hour' AND type LIKE 'Array%'").result_rows
    assert arrays == [("visitors",)]


# the columns the processor's rows carry today come with the early schema (shop_data inserts them all)
ROW_COLUMNS = ("078_click_text_href.sql", "079_backend_errors.sql")
BEFORE_ROLLUPS = ("001_events.sql", "002_event_dimensions.sql", "040_geo_and_traffic_source.sql", *ROW_COLUMNS)
BEFORE_SOURCES = (*(path.name for path in sorted(MIGRATIONS_DIR.glob("*.sql")) if path.name < "074"), *ROW_COLUMNS)


@pytest.mark.parametrize("early_files", [BEFORE_ROLLUPS, BEFORE_SOURCES], ids=["before-rollups", "before-sources"])
def test_a_backfill_builds_what_the_views_build(clickhouse, shop_rows, tmp_path, early_files):
    """Events stored before the rollups existed (001–002, and 040's processor columns), or before
    the sessions' sources (074), then the rest applied: same answers as the views give."""
    names = [f"backfill_{uuid.uuid4().hex[:8]}", f"views_{uuid.uuid4().hex[:8]}"]
    before, after = (clickhouse.client(database=name) for name in names)
    try:
        early = tmp_path / "early"
        early.mkdir()
        for name in early_files:
            shutil.copy(MIGRATIONS_DIR / name, early)
        apply_migrations(before, early)
        shop_data.insert(before, shop_rows)
        apply_migrations(before)
        apply_migrations(after)
        shop_data.insert(after, shop_rows)
        backfilled = answers(before)
        assert backfilled == answers(after)
        assert backfilled["traffic"][0]["page_views"] > 50 and backfilled["errors"]
        assert "Google" in {row["source"] for row in backfilled["sources"]}
    finally:
        for client, name in zip((before, after), names):
            client.command(f"DROP DATABASE IF EXISTS {name}")


def test_sessions_from_before_traffic_sources_show_the_referrers_host_and_the_urls_tags(fresh_db):
    """Events from before the processor named sources (040) have no referrer_source or utm_*
    columns: the session's source is its entry referrer's host without www (direct without
    one) and its campaign the entry URL's decoded utm_ parameters."""
    apply_migrations(fresh_db)
    at = START + timedelta(minutes=5)
    tagged = "https://shop.example/?utm_source=news%20letter&utm_medium=email&utm_campaign=spring+sale"
    columns = ["project_id", "type", "timestamp", "event_id", "session_id", "visitor_id", "url", "referrer",
               "referrer_source", "utm_source", "utm_medium", "utm_campaign"]
    fresh_db.insert("events", [
        # before 040: s1 from Google, then a page of the shop; s2 direct, from a newsletter's link
        [1, "page_view", at, "e1", "s1", "v", "https://shop.example/", "https://www.google.com/search", "", "", "", ""],
        [1, "page_view", at + timedelta(seconds=5), "e2", "s1", "v", "https://shop.example/c", "https://shop.example/",
         "", "", "", ""],
        [1, "page_view", at, "e3", "s2", "v", tagged, "", "", "", "", ""],
        # after: the processor's names and decoded tags
        [1, "page_view", at, "e4", "s3", "v", "https://shop.example/", "https://www.google.com/", "Google", "", "", ""],
        [1, "page_view", at, "e5", "s4", "v", tagged, "", "news letter", "news letter", "email", "spring sale"],
    ], column_names=columns)
    sources = {row["source"]: row["sessions"] for row in queries.sources(fresh_db, WINDOW).to_dicts()}
    assert sources == {"google.com": 1, "Direct / None": 1, "Google": 1, "news letter": 1}
    campaigns = queries.campaigns(fresh_db, WINDOW).select("source", "medium", "campaign", "sessions").rows()
    assert campaigns == [("news letter", "email", "spring sale", 2)]


def test_inserting_a_batch_twice_changes_no_answer(fresh_db, shop_rows):
    apply_migrations(fresh_db)
    shop_data.insert(fresh_db, shop_rows)
    once = answers(fresh_db)
    for table in ROLLUP_TABLES:
        fresh_db.command(f"SYSTEM STOP MERGES {table}")
    shop_data.insert(fresh_db, shop_rows)  # the whole batch again, as a replay after a crash would
    assert answers(fresh_db) == once
    for table in ROLLUP_TABLES:  # and after the parts merged
        fresh_db.command(f"SYSTEM START MERGES {table}")
        fresh_db.command(f"OPTIMIZE TABLE {table} FINAL")
    assert answers(fresh_db) == once


def test_retention_sets_and_removes_the_ttls(fresh_db):
    apply_migrations(fresh_db)

    def ttl_of(table: str) -> str:
        query = fresh_db.command("SELECT create_table_query FROM system.tables WHERE database = currentDatabase() "
                                 "AND name = {t:String}", parameters={"t": table})
        return query.split(" TTL ", 1)[1].split(" SETTINGS", 1)[0] if " TTL " in query else ""

    kept = apply_retention(fresh_db, 30, 365)
    assert kept[0] == "events: 30 days" and len(kept) == 1 + len(ROLLUP_TABLES)
    assert ttl_of("events") == "toDateTime(timestamp) + toIntervalDay(30)"
    assert ttl_of("sessions") == "toDateTime(started) + toIntervalDay(365)"
    assert apply_retention(fresh_db, 0, 365)[0] == "events: forever"
    assert ttl_of("events") == "" and ttl_of("web_vitals_hour") == "toDateTime(hour) + toIntervalDay(365)"
    with pytest.raises(ValueError, match="VIGIL_RETENTION_DAYS=-1"):
        apply_retention(fresh_db, -1, 0)
    old = datetime.now(timezone.utc) - timedelta(days=40)
    fresh_db.insert("events", [[1, "page_view", old, "old-event", "s", "v"]],
                    column_names=["project_id", "type", "timestamp", "event_id", "session_id", "visitor_id"])
    # the hourly rollups seal closed hours from the raw events, a minute after their last insert
    # (an event older than the raw retention on arrival is dropped by the insert, before any seal)
    seal_now(fresh_db)
    apply_retention(fresh_db, 30, 365)
    fresh_db.command("OPTIMIZE TABLE events FINAL")
    assert fresh_db.command("SELECT count() FROM events") == 0  # expired on merge
    hour = old.replace(minute=0, second=0, microsecond=0)  # the rollups keep whole hours (091)
    assert pl.DataFrame(queries.traffic_totals(fresh_db, Filters(1, hour, hour + timedelta(
        hours=1)))).row(0, named=True)["page_views"] == 1  # the rollup keeps it longer
