"""Each processor step alone, including hostile input, and the step runner."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson
import pytest

from pipeline import contract
from pipeline.processor import steps
from pipeline.processor.steps import Dropped

NOW = datetime.now(timezone.utc)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def message(**overrides) -> dict:
    """A page_view as the collector writes it to vigil.events."""
    event = {
        "event_id": "01J0ZK4T0001XQ5M8R2B7C9D",
        "type": "page_view",
        "timestamp": iso(NOW - timedelta(seconds=2)),
        "session_id": "s_7f3a9c2e41d8",
        "visitor_id": "v_0b6e2d94c7a1f3",
        "page": {"url": "https://shop.example.com/products/42?ref=mail", "title": "Kettle"},
        "data": {"navigation_type": "navigate"},
        "sdk": {"name": "vigil-browser", "version": "0.1.0"},
        "project_id": 7,
        "received_at": iso(NOW - timedelta(seconds=1)),
        "client": {"ip": "203.0.113.9", "user_agent": CHROME_WINDOWS},
    }
    event.update(overrides)
    return event


# ── parse ────────────────────────────────────────────────────────────────────────────────


def test_parse_turns_json_bytes_into_the_event():
    assert steps.parse(orjson.dumps(message())) == message()


@pytest.mark.parametrize("raw", [b"", None])
def test_parse_drops_an_empty_message(raw):
    assert steps.parse(raw).reason == "invalid_json"


@pytest.mark.parametrize("raw", [b"{not json", b'{"a": 1} trailing', b"\xff\xfe\x00garbage", b'{"a": "\xc3"}'])
def test_parse_drops_what_is_not_utf8_json(raw):
    dropped = steps.parse(raw)
    assert isinstance(dropped, Dropped) and dropped.reason == "invalid_json"


def test_parse_drops_a_lone_surrogate_escape():
    assert steps.parse(b'{"event_id": "\\ud800"}').reason == "invalid_json"


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_parse_drops_json_that_is_not_an_object(raw):
    assert steps.parse(raw).reason == "not_an_object"


def test_parse_drops_json_nested_beyond_what_can_be_read():
    raw = b'{"a":' * 2000 + b"1" + b"}" * 2000
    assert steps.parse(raw).reason == "too_deep"


# ── require_project ──────────────────────────────────────────────────────────────────────


def test_require_project_keeps_the_collectors_stamp():
    assert steps.require_project(message())["project_id"] == 7


@pytest.mark.parametrize("project_id", [None, "7", 0, -1, 2**32, True, 7.0, [7]])
def test_require_project_drops_a_missing_or_forged_stamp(project_id):
    event = message(project_id=project_id)
    if project_id is None:
        del event["project_id"]
    dropped = steps.require_project(event)
    assert (dropped.reason, dropped.path) == ("missing_project", "project_id")


# ── put_received_at ──────────────────────────────────────────────────────────────────────


def test_put_received_at_keeps_the_collectors_stamp():
    stamp = NOW - timedelta(minutes=5)
    event = steps.put_received_at(message(received_at=iso(stamp)))
    assert event["received_at"] == stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)


@pytest.mark.parametrize("stamp", [None, "yesterday", 12345, "2026-13-45T99:00:00Z", "x" * 10_000,
                                   "2026-06-15T12:00:00"])  # the last has no time zone
def test_put_received_at_uses_now_when_the_stamp_is_missing_or_bad(stamp):
    event = message(received_at=stamp)
    before = datetime.now(timezone.utc)
    received = steps.put_received_at(event)["received_at"]
    assert before <= received <= datetime.now(timezone.utc)


def test_put_received_at_does_not_believe_a_stamp_from_the_future():
    received = steps.put_received_at(message(received_at=iso(NOW + timedelta(days=3))))["received_at"]
    assert received <= datetime.now(timezone.utc)


# ── validate ─────────────────────────────────────────────────────────────────────────────


def validated(event: dict):
    return steps.validate(steps.put_received_at(event))


def test_validate_passes_a_valid_event():
    assert validated(message())["event_id"] == "01J0ZK4T0001XQ5M8R2B7C9D"


def test_validate_drops_with_the_contracts_reason_and_path():
    dropped = validated(message(type="teleport"))
    assert (dropped.reason, dropped.path) == ("unknown_value", "type")
    dropped = validated(message(event_id="short"))
    assert (dropped.reason, dropped.path) == ("too_short", "event_id")


def test_validate_checks_the_clock_window_around_the_receive_time():
    # an event a week before a receive time three weeks ago is fine: the window is the collector's
    received = NOW - timedelta(days=21)
    event = message(received_at=iso(received), timestamp=iso(received - timedelta(days=7)))
    assert isinstance(validated(event), dict)
    dropped = validated(message(timestamp=iso(NOW - timedelta(days=40))))
    assert dropped.reason == "timestamp_out_of_range"


def nested(levels: int) -> dict:
    """``levels`` objects, each inside the one before."""
    value: dict = {}
    for _ in range(levels - 1):
        value = {"next": value}
    return value


def test_validate_accepts_custom_props_nested_up_to_the_contracts_bound_and_refuses_deeper():
    # event → data → props: props' own objects may take the rest of contract.MAX_DEPTH
    within = message(type="custom", data={"name": "deep", "props": nested(contract.MAX_DEPTH - 2)})
    assert isinstance(validated(within), dict)
    beyond = validated(message(type="custom", data={"name": "deep", "props": nested(contract.MAX_DEPTH - 1)}))
    assert isinstance(beyond, Dropped) and beyond.reason == "too_deep"
    assert beyond.path == "data.props" + ".next" * (contract.MAX_DEPTH - 2)


# ── put_client_ip ────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("client, expected", [
    ({"ip": "203.0.113.9"}, "203.0.113.9"),
    ({"ip": "2001:DB8::1"}, "2001:db8::1"),
    ({"ip": "not an ip"}, ""),
    ({"ip": "1" * 10_000}, ""),
    ({"ip": 42}, ""),
    ({}, ""),
    ("203.0.113.9", ""),
    (None, ""),
])
def test_put_client_ip_keeps_only_a_real_address(client, expected):
    assert steps.put_client_ip(message(client=client))["client_ip"] == expected


# ── put_user_agent ───────────────────────────────────────────────────────────────────────


def test_put_user_agent_names_browser_os_and_device():
    event = steps.put_user_agent(message())
    assert (event["browser"], event["browser_version"], event["os"], event["os_version"], event["device"]) == (
        "Chrome", "126.0", "Windows", "10", "desktop")
    assert event["user_agent"] == CHROME_WINDOWS


@pytest.mark.parametrize("user_agent", [None, 42, "", "\x00\x01\x02", "🦆" * 50, "Mozilla/5.0 (" * 1000, "x" * 1_000_000])
def test_put_user_agent_survives_hostile_user_agents(user_agent):
    event = steps.put_user_agent(message(client={"ip": "203.0.113.9", "user_agent": user_agent}))
    assert event["device"] in ("desktop", "mobile", "tablet", "bot", "other")
    assert len(event["user_agent"]) <= 512


def test_put_user_agent_without_a_client_stamp():
    event = steps.put_user_agent(message(client="garbage"))
    assert (event["browser"], event["device"], event["user_agent"]) == ("Other", "other", "")


# ── put_page ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("url, path", [
    ("https://shop.example.com/products/42?ref=mail#top", "/products/:id"),  # the route: ids become :id
    ("https://shop.example.com/p/1042-linen-throw", "/p/1042-linen-throw"),
    ("https://shop.example.com", "/"),
    ("/relative/page?x=1", "/relative/page"),
    ("http://[::1/broken/ipv6?x", "/broken/ipv6"),
    ("http://[::1", "/"),
    ("not a url at all", "not a url at all"),
    ("", "/"),
])
def test_put_page_takes_the_path_from_the_url(url, path):
    assert steps.put_page(message(page={"url": url}))["path"] == path


@pytest.mark.parametrize("page", [None, "https://x.example/", {"url": 42}, {}])
def test_put_page_without_a_usable_url(page):
    assert steps.put_page(message(page=page))["path"] == ""


# ── run ──────────────────────────────────────────────────────────────────────────────────


def test_run_applies_every_step_in_order():
    event = steps.run(orjson.dumps(message()))
    assert isinstance(event, dict)
    assert {"received_at", "client_ip", "browser", "device", "path"} <= event.keys()
    assert [step.__name__ for step in steps.STEPS] == [
        "parse", "require_project", "put_received_at", "validate", "put_client_ip", "put_user_agent", "drop_bots",
        "put_geo", "put_visitor_id", "anonymize_ip", "put_session_page", "scrub_pii", "put_page", "put_traffic_source",
        "symbolicate", "put_fingerprint"]


def test_run_stops_at_the_first_drop_and_names_the_step():
    dropped = steps.run(orjson.dumps(message(project_id=None, type="teleport")))
    assert (dropped.reason, dropped.step) == ("missing_project", "require_project")
    assert dropped.event["event_id"] == "01J0ZK4T0001XQ5M8R2B7C9D"


def test_run_keeps_no_event_when_the_message_does_not_parse():
    dropped = steps.run(b"\x00\x01")
    assert (dropped.reason, dropped.step, dropped.event) == ("invalid_json", "parse", None)


def test_run_turns_a_failing_step_into_a_drop_instead_of_stalling_the_stream():
    def explode(event):
        raise KeyError("boom")

    dropped = steps.run(orjson.dumps(message()), steps=(steps.parse, explode))
    assert (dropped.reason, dropped.step) == ("step_failed", "explode")
    assert "KeyError" in dropped.message


def test_run_many_answers_as_run_does_for_each_message_in_order():
    raws = [
        orjson.dumps(message()),
        b"not json",
        orjson.dumps(message(project_id=None)),
        orjson.dumps(message(event_id="01J0ZK4T0002XQ5M8R2B7C9D", type="teleport")),
        None,
        orjson.dumps(message(event_id="01J0ZK4T0003XQ5M8R2B7C9D", page={"url": "https://shop.example.com/b/7"})),
        orjson.dumps(message(client={"ip": "203.0.113.9", "user_agent": "Googlebot/2.1 (+http://www.google.com/bot.html)"})),
    ]
    many = steps.run_many(raws)
    one_by_one = [steps.run(raw) for raw in raws]
    assert len(many) == len(raws)
    for batched, alone in zip(many, one_by_one):
        if isinstance(alone, Dropped):
            assert (batched.reason, batched.step, batched.event) == (alone.reason, alone.step, alone.event)
        else:  # the same enrichment (the visitor id and received_at are deterministic here)
            assert batched == alone
    assert [getattr(value, "step", "kept") for value in many] == [
        "kept", "parse", "require_project", "validate", "parse", "kept", "drop_bots"]


def test_run_many_keeps_one_failing_event_from_touching_the_others():
    def explode_on_carts(event):
        if event["page"]["url"].endswith("/cart"):
            raise ValueError("boom")
        return {**event, "seen": True}

    raws = [orjson.dumps(message(page={"url": url})) for url in
            ("https://a.example/", "https://a.example/cart", "https://a.example/x")]
    first, failed, last = steps.run_many(raws, steps=(steps.parse, explode_on_carts))
    assert first["seen"] and last["seen"]
    assert (failed.reason, failed.step, failed.event["page"]["url"]) == (
        "step_failed", "explode_on_carts", "https://a.example/cart")


def test_run_many_runs_each_step_over_the_whole_batch_before_the_next():
    calls = []

    def first(raw):
        calls.append(("first", raw))
        return {"raw": raw}

    def second(event):
        calls.append(("second", event["raw"]))
        return event

    steps.run_many([b"1", b"2", b"3"], steps=(first, second))
    assert calls == [("first", b"1"), ("first", b"2"), ("first", b"3"),
                     ("second", b"1"), ("second", b"2"), ("second", b"3")]


def test_drop_reasons_are_a_closed_set():
    with pytest.raises(ValueError, match="closed set"):
        Dropped("because", "no reason")
