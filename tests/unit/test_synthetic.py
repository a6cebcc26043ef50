"""The synthetic shop traffic is valid, realistic in the ways the dashboards show, and
reproducible — checked on thousands of generated events, without any network."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from ua_parser import parse as parse_user_agent

from pipeline import contract, vitals
from pipeline.simulation import shop_catalog, shop_sessions

START = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sessions() -> list[shop_sessions.Session]:
    rng = random.Random(42)
    pool = shop_catalog.VisitorPool(rng)
    made = []
    for n in range(1500):
        session = shop_sessions.generate_session(rng, START + timedelta(seconds=n), visitor=pool.next_visitor())
        pool.remember(session.visitor)
        made.append(session)
    return made


def events_of(sessions, event_type: str, **data) -> list[dict]:
    return [e for s in sessions for e in s.events
            if e["type"] == event_type and all(e["data"].get(k) == v for k, v in data.items())]


def test_every_generated_batch_and_event_passes_the_contract(sessions):
    checked = 0
    for session in sessions:
        for batch in session.batches:
            assert contract.validate_envelope(batch.envelope) is None
            for event in contract.merge_context(batch.envelope):
                assert contract.validate_event(event, now=batch.at) is None, event
                checked += 1
    assert checked > 50_000


def test_every_event_type_is_generated(sessions):
    kinds = Counter(e["type"] for s in sessions for e in s.events)
    assert set(kinds) == set(contract.load_schema("event")["properties"]["type"]["enum"])
    error_kinds = {e["data"]["kind"] for e in events_of(sessions, "error")}
    assert error_kinds == {"js", "promise", "resource", "api"}


def test_batches_are_what_the_sdk_queue_sends(sessions):
    for session in sessions:
        previous_at = None
        for batch in session.batches:
            assert 1 <= len(batch.events) <= shop_catalog.MAX_BATCH_EVENTS
            stamps = [contract.parse_timestamp(e["timestamp"]) for e in batch.events]
            assert stamps == sorted(stamps) and stamps[-1] <= batch.at
            assert stamps[-1] - stamps[0] <= timedelta(milliseconds=shop_catalog.FLUSH_AFTER_MS)
            assert previous_at is None or batch.at >= previous_at
            previous_at = batch.at
            assert batch.envelope["context"]["session_id"] == session.session_id


def test_every_page_view_is_one_page_with_its_own_vitals_and_time_on_page(sessions):
    page_views = events_of(sessions, "page_view")
    assert len(page_views) == len(events_of(sessions, "time_on_page"))
    for name in ("TTFB", "FCP", "LCP", "CLS", "TTI", "LOAD"):
        assert len(events_of(sessions, "web_vital", name=name)) == len(page_views), name
    # INP only where the visitor interacted
    assert 0 < len(events_of(sessions, "web_vital", name="INP")) < len(page_views)


@pytest.mark.parametrize(("kind", "target_ms"), [("mobile", 2500), ("desktop", 1800)])
def test_lcp_p75_per_device_class_matches_real_world_figures(sessions, kind, target_ms):
    values = [e["data"]["value"] for s in sessions if s.visitor.device.kind == kind
              for e in s.events if e["type"] == "web_vital" and e["data"]["name"] == "LCP"]
    p75 = statistics.quantiles(values, n=4)[2]
    assert p75 == pytest.approx(target_ms, rel=0.08), f"{kind} LCP p75 {p75:.0f} ms from {len(values)} page loads"


def test_timings_of_one_page_load_are_consistent(sessions):
    for session in sessions[:200]:
        for batch in session.batches:
            by_name = {e["data"]["name"]: e["data"] for e in batch.events if e["type"] == "web_vital"}
            if "LOAD" in by_name:
                load = by_name["LOAD"]
                assert sum(load["breakdown"].values()) == pytest.approx(load["value"], abs=1.0)
                assert all(v >= 0 for v in load["breakdown"].values())


def test_ratings_follow_the_thresholds(sessions):
    for event in events_of(sessions, "web_vital")[:5000]:
        data = event["data"]
        assert data["rating"] == vitals.rate(data["name"], data["value"])


def test_cls_is_mostly_zero_with_a_poor_tail(sessions):
    values = [e["data"]["value"] for e in events_of(sessions, "web_vital", name="CLS")]
    assert sum(v == 0 for v in values) / len(values) > 0.4
    assert 0.005 < sum(v > 0.25 for v in values) / len(values) < 0.1


def test_the_funnel_drops_off_at_every_step(sessions):
    reached = Counter(step for s in sessions for step in set(s.steps))
    cart, checkout, confirmation = reached["cart"], reached["checkout"], reached["confirmation"]
    assert reached["product"] > cart > checkout > confirmation > 0
    purchases = events_of(sessions, "custom", name="purchase")
    assert len(purchases) == sum(s.steps.count("confirmation") for s in sessions)


def test_api_calls_sometimes_fail_and_every_failure_is_an_error_too(sessions):
    calls = events_of(sessions, "api_call")
    failed = [c for c in calls if not c["data"]["ok"]]
    assert 0.005 < len(failed) / len(calls) < 0.05
    assert {c["data"]["failure"] for c in failed} == {"status", "network", "timeout"}
    assert len(events_of(sessions, "error", kind="api")) == len(failed)


def test_visitors_come_back_and_keep_their_user_id(sessions):
    by_visitor = Counter(s.visitor.visitor_id for s in sessions)
    returning = sum(1 for count in by_visitor.values() if count > 1)
    assert returning > 100
    identified_later: dict[str, str] = {}
    for session in sessions:
        visitor = session.visitor.visitor_id
        if visitor in identified_later:
            contexts = {b.envelope["context"].get("user_id") for b in session.batches}
            assert contexts == {identified_later[visitor]}
        if session.visitor.user_id:
            identified_later[visitor] = session.visitor.user_id
    assert identified_later


def test_devices_mix_real_browsers_and_operating_systems(sessions):
    kinds = Counter(s.visitor.device.kind for s in sessions)
    assert kinds["mobile"] > kinds["desktop"] > kinds["tablet"] > 0
    browsers = {parse_user_agent(d.user_agent).user_agent.family for d, _ in shop_catalog.DEVICES}
    systems = {parse_user_agent(d.user_agent).os.family for d, _ in shop_catalog.DEVICES}
    assert {"Chrome", "Mobile Safari", "Safari", "Firefox", "Edge", "Samsung Internet"} <= browsers
    assert {"Windows", "Mac OS X", "iOS", "Android", "Linux"} <= systems


def test_the_buggy_release_throws_bursts_of_one_type_error_during_an_incident():
    rng = random.Random(5)
    buggy = [shop_sessions.generate_session(rng, START, release=shop_catalog.BUGGY_RELEASE, incident=True) for _ in range(300)]
    healthy = [shop_sessions.generate_session(rng, START, release="shop@2.4.1", incident=True) for _ in range(300)]
    bug = [[e for e in s.events if e["type"] == "error" and e["data"]["message"] == shop_catalog.BUG_MESSAGE]
           for s in buggy]
    bursts = [errors for errors in bug if errors]
    assert len(bursts) > 10 and all(len(errors) >= 3 for errors in bursts)
    stacks = {e["data"]["stack"] for errors in bursts for e in errors}
    assert len(stacks) == 1 and "at formatPrice" in stacks.pop()
    assert not any(e["data"].get("message") == shop_catalog.BUG_MESSAGE for s in healthy for e in s.events)


def test_the_same_seed_gives_the_same_traffic():
    one = shop_sessions.generate_session(random.Random(3), START)
    two = shop_sessions.generate_session(random.Random(3), START)
    assert one == two


def test_restamped_moves_every_timestamp_by_the_same_offset():
    session = shop_sessions.generate_session(random.Random(11), START, release=shop_catalog.BUGGY_RELEASE, incident=True)
    batch = max(session.batches, key=lambda b: len(b.events))
    later = batch.at + timedelta(hours=3, milliseconds=17)
    moved = shop_sessions.restamped(batch, later)
    assert moved.at == later and moved.user_agent == batch.user_agent
    for before, after in zip(batch.events, moved.events):
        shift = contract.parse_timestamp(after["timestamp"]) - contract.parse_timestamp(before["timestamp"])
        assert shift == timedelta(hours=3, milliseconds=17)
        assert after["event_id"] == before["event_id"]
        for crumb_before, crumb_after in zip(before["data"].get("breadcrumbs", []), after["data"].get("breadcrumbs", [])):
            assert (contract.parse_timestamp(crumb_after["timestamp"])
                    - contract.parse_timestamp(crumb_before["timestamp"])) == timedelta(hours=3, milliseconds=17)


def test_live_traffic_interleaves_sessions_each_in_order():
    traffic = shop_sessions.LiveTraffic(random.Random(1), concurrency=20)
    now = START
    seen: dict[str, datetime] = {}
    for _ in range(2000):
        now += timedelta(milliseconds=50)
        batch = traffic.next_batch(now)
        assert batch.at == now
        context = batch.envelope["context"]
        assert contract.validate_envelope(batch.envelope) is None
        for event in contract.merge_context(batch.envelope):
            assert contract.validate_event(event, now=now) is None
        seen[context["session_id"]] = now
    assert traffic.sessions_started == len(seen) > 20
    assert 0 < traffic.visitors_seen < traffic.sessions_started  # some visitors came back
