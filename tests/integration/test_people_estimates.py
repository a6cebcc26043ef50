"""Distinct people over long ranges against the real engine: up to 7 days the Traffic page's
visitors and sessions are the exact union of their hours' sets; past 7 days they are
uniqCombined64's estimate of the same sets (tiers.estimated) — within ±1 % of what Python counts
for thousands of people, as the page's ≈ and its help say."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pipeline import queries
from pipeline.queries import Filters

pytestmark = pytest.mark.integration

PROJECT = 9421
PEOPLE = 6_000  # well past the ~1,000 people uniqCombined64 counts exactly
NOW = datetime.now(timezone.utc).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def people(clickhouse) -> list[tuple[datetime, str, str, str]]:
    """One page view per visitor and session over the last 10 days: (when, visitor, session, path)."""
    rng = random.Random(421)
    views = [(NOW - timedelta(minutes=rng.randrange(60, 10 * 24 * 60)), f"v-{n}", f"s-{n}", rng.choice(("/", "/cart")))
             for n in range(PEOPLE)]
    rows = [(PROJECT, "page_view", when, uuid.uuid4().hex, session, visitor, path)
            for when, visitor, session, path in views]
    clickhouse.client().insert("events", rows, column_names=["project_id", "type", "timestamp", "event_id",
                                                             "session_id", "visitor_id", "path"])
    return views


def counted(views: list[tuple[datetime, str, str, str]], filters: Filters, path: str = "") -> int:
    return len({visitor for when, visitor, _, page in views
                if filters.start <= when < filters.end and (not path or page == path)})


def test_the_exact_count_ends_at_seven_days():
    week = Filters.last_minutes(PROJECT, queries.ESTIMATED_PAST["people"], NOW)
    assert not queries.estimated(week, "people")
    assert queries.estimated(Filters(PROJECT, week.start - timedelta(minutes=1), week.end), "people")


def test_up_to_seven_days_people_are_counted_exactly(clickhouse, people):
    client = clickhouse.client()
    week = Filters.last_minutes(PROJECT, timedelta(days=7), NOW)
    truth = counted(people, week)
    assert truth > 3_000
    totals = queries.traffic_totals(client, week).row(0, named=True)
    assert (totals["unique_visitors"], totals["sessions"]) == (truth, truth)
    pages = dict(queries.top_pages(client, week).select("path", "visitors").iter_rows())
    assert pages == {path: counted(people, week, path) for path in ("/", "/cart")}


def test_past_seven_days_people_are_estimated_within_one_percent(clickhouse, people):
    client = clickhouse.client()
    month = Filters.last_minutes(PROJECT, timedelta(days=30), NOW)
    assert counted(people, month) == PEOPLE
    totals = queries.traffic_totals(client, month).row(0, named=True)
    assert totals["page_views"] == PEOPLE  # counts stay exact
    assert totals["unique_visitors"] == pytest.approx(PEOPLE, rel=0.01)
    assert totals["sessions"] == pytest.approx(PEOPLE, rel=0.01)
    for path, visitors in queries.top_pages(client, month).select("path", "visitors").iter_rows():
        assert visitors == pytest.approx(counted(people, month, path), rel=0.01), path
    # the trend's 6-hour buckets hold ~150 people each: estimated, and exact at that size
    trend = queries.traffic_trend(client, month, 360)
    assert trend["visitors"].to_list() == [
        counted(people, Filters(PROJECT, start, start + timedelta(hours=6))) for start in trend["time"].to_list()]
    # with a route filter the totals read the per-page rows: estimated the same way
    cart = Filters.last_minutes(PROJECT, timedelta(days=30), NOW, route="/cart")
    assert queries.traffic_totals(client, cart)["unique_visitors"][0] == pytest.approx(
        counted(people, month, "/cart"), rel=0.01)


def test_the_most_clicked_elements_count_their_visitors_the_same_way(clickhouse, people):
    """top_clicks' visitors (the hours' sets of click_hour, 094, and the raw clicks): exact up to
    7 days, uniqCombined64's estimate within ±1 % past them; the clicks stay exact."""
    client = clickhouse.client()
    rows = [(PROJECT + 1, "click", when, uuid.uuid4().hex, session, visitor, path, f"a.{path.strip('/') or 'home'}")
            for when, visitor, session, path in people]
    client.insert("events", rows, column_names=["project_id", "type", "timestamp", "event_id", "session_id",
                                                "visitor_id", "path", "target"])
    for span, exact in ((timedelta(days=7), True), (timedelta(days=30), False)):
        filters = Filters.last_minutes(PROJECT + 1, span, NOW)
        assert queries.estimated(filters, "people") is not exact
        found = {target: (clicks, visitors) for target, clicks, visitors
                 in queries.top_clicks(client, filters).select("target", "clicks", "visitors").iter_rows()}
        truth = {f"a.{path.strip('/') or 'home'}": counted(people, filters, path) for path in ("/", "/cart")}
        assert {target: clicks for target, (clicks, _) in found.items()} == truth  # one click per visitor
        visitors = {target: visitors for target, (_, visitors) in found.items()}
        assert visitors == (truth if exact else {target: pytest.approx(n, rel=0.01) for target, n in truth.items()})
