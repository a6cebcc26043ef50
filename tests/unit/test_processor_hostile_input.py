"""Hostile input against every enrichment step: each one enriches the event or drops it with
a counted reason, and none raises (a raise would park the event as ``step_failed``).

Three layers: raw bytes the parser must refuse; hostile messages through the whole pipeline
(``steps.run`` then ``rows.event_row``), as the processor runs it; and the same messages
through every step *without* the contract check in front, so each step is shown to cope on
its own with what the contract would normally keep from it.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pipeline.processor import geo, rows, steps
from pipeline.processor.steps import Dropped, Options
from tests.support import geoip
from tests.unit.test_processor_enrichment import js_error
from tests.unit.test_processor_steps import CHROME_WINDOWS, message

MB = 1_000_000
IP = "203.0.113.9"
PAGE = "https://shop.example.com/products/42"


@pytest.fixture(scope="module")
def located(tmp_path_factory) -> tuple:
    """The steps with GeoIP on, so put_geo really looks addresses up."""
    database = geoip.write_city_database(tmp_path_factory.mktemp("geoip") / "GeoLite2-City.mmdb")
    return steps.steps_for(Options(locate=geo.open_locator(str(database))))


def nested(levels: int) -> dict:
    """``{"a": {"a": … {"a": 1}}}``, ``levels`` deep (built without recursion)."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def client(ip: Any = IP, user_agent: Any = CHROME_WINDOWS) -> dict:
    return {"client": {"ip": ip, "user_agent": user_agent}}


def page(url: Any = PAGE, referrer: Any = "https://www.google.com/") -> dict:
    return {"page": {"url": url, "referrer": referrer}}


HOSTILE: dict[str, dict] = {
    # user agents
    "user_agent_1mb": client(user_agent="Mozilla/5.0 (" + "A" * MB),
    "user_agent_malformed": client(user_agent="Mozilla/5.0 ((((( ;;;; Chrome/ \x00\x1b[31m\u202e" * 20),
    "user_agent_not_text": client(user_agent={"browser": "Chrome"}),
    "user_agent_lone_surrogate": client(user_agent="Mozilla/5.0 \ud83d Chrome/126.0"),
    "client_not_an_object": {"client": "203.0.113.9"},
    # addresses
    "ip_ipv6": client(ip="2001:db8:85a3::8a2e:370:7334"),
    "ip_ipv6_zone": client(ip="fe80::1%eth0"),
    "ip_ipv4_mapped": client(ip="::ffff:203.0.113.9"),
    "ip_garbage": client(ip="999.1.1.1"),
    "ip_1mb": client(ip="1" * MB),
    "ip_not_text": client(ip=[203, 0, 113, 9]),
    "ip_lone_surrogate": client(ip="203.0.113.\udc39"),
    # page URLs and referrers
    "url_1mb": page(url=PAGE + "?utm_source=" + "x" * MB),
    "url_malformed": page(url="http://[::1/p?utm_source=%ff%fe&utm_medium=%zz"),
    "url_not_a_url": page(url="javascript:alert(document.cookie)"),
    "url_lone_surrogate": page(url=PAGE + "?utm_campaign=\udfff"),
    "url_not_text": page(url=42),
    "referrer_1mb": page(referrer="https://" + "r" * MB + ".example/"),
    "referrer_malformed": page(referrer="http://example.com:99999999/\x00"),
    "referrer_lone_surrogate": page(referrer="https://\ud800.example/"),
    "referrer_not_text": page(referrer=["https://t.co/"]),
    "page_not_an_object": {"page": "https://shop.example.com/"},
    # nesting
    "props_10000_deep": {"type": "custom", "data": {"name": "deep", "props": nested(10_000)}},
    "props_300_deep": {"type": "custom", "data": {"name": "deep", "props": nested(300)}},
    "tags_nested": {"tags": nested(50)},
    # errors (the fingerprint and PII steps read their text)
    "error_message_1mb": {"type": "error", "data": js_error("Cannot read " + "x" * MB, stack="at f (a.js:1:1)\n" * 70_000)},
    "error_lone_surrogate": {"type": "error", "data": js_error("bad \ud800 text", frames=[{"filename": "\udfff.js"}])},
    "error_frames_not_objects": {"type": "error", "data": js_error(frames=["a.js", 42, None])},
}


def hostile(case: str) -> dict:
    return message(**HOSTILE[case])


def raw(case: str) -> bytes:
    """The message as Kafka bytes; orjson writes 255 levels at most, so deep props go in as text."""
    event = hostile(case)
    if case.startswith("props_"):
        levels = int(case.split("_")[1])
        event["data"]["props"] = orjson.Fragment(b'{"a":' * levels + b"1" + b"}" * levels)
    return orjson.dumps(event)


def encodable(case: str) -> bool:
    """JSON cannot carry lone surrogates: such messages are only fed to the steps directly."""
    try:
        raw(case)
    except orjson.JSONEncodeError:
        return False
    return True


def assert_enriched_or_dropped(outcome: Any) -> None:
    if isinstance(outcome, Dropped):
        assert outcome.reason in steps.REASONS and outcome.reason != "step_failed", outcome
    else:
        assert isinstance(outcome, tuple) and len(outcome) == len(rows.COLUMNS)


# ── raw bytes ────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("raw, reason", [
    (b'{"page": {"url": "https://shop.example.com/\xff\xfe"}}', "invalid_json"),  # not UTF-8
    (b'{"event_id": "\xed\xa0\x80"}', "invalid_json"),  # a surrogate encoded in UTF-8
    (b'{"event_id": "\\ud800"}', "invalid_json"),  # a lone surrogate escape
    (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "too_deep"),
    (b"[" * 10_000 + b"]" * 10_000, "too_deep"),
    (b"\x00" * MB, "invalid_json"),
])
def test_the_parser_refuses_what_is_not_one_readable_json_object(raw, reason, located):
    dropped = steps.run(raw, located)
    assert (dropped.reason, dropped.step) == (reason, "parse")


# ── the whole pipeline ───────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("case", [case for case in HOSTILE if encodable(case)])
def test_hostile_messages_are_enriched_or_dropped_with_a_reason(case, located):
    enriched = steps.run(raw(case), located)
    assert_enriched_or_dropped(enriched if isinstance(enriched, Dropped) else rows.event_row(enriched))


@pytest.mark.parametrize("case, reason", [
    ("user_agent_1mb", None), ("user_agent_not_text", "bot"), ("ip_1mb", None), ("url_1mb", "too_long"),
    ("referrer_1mb", "too_long"), ("props_10000_deep", "too_deep"), ("props_300_deep", "too_deep"),
    ("error_message_1mb", "too_long"),
])
def test_what_happens_to_the_worst_of_them(case, reason, located):
    enriched = steps.run(raw(case), located)
    outcome = enriched if isinstance(enriched, Dropped) else rows.event_row(enriched)
    assert (outcome.reason if isinstance(outcome, Dropped) else None) == reason


@pytest.mark.parametrize("case, columns", [
    ("ip_ipv6", {"client_ip": "2001:db8:85a3::", "country": "FR", "city": "Paris"}),
    ("ip_ipv4_mapped", {"client_ip": "203.0.113.0", "country": "DE", "region": "Bavaria"}),
    ("ip_ipv6_zone", {"client_ip": "fe80::", "country": ""}),
    ("ip_garbage", {"client_ip": "", "country": ""}),
    ("user_agent_1mb", {"browser": "Other", "country": "DE"}),
    # the tagged source wins over the referrer, even undecodable
    ("url_malformed", {"path": "/p", "utm_source": "\ufffd\ufffd", "referrer_source": "\ufffd\ufffd"}),
    ("url_not_a_url", {"referrer_source": "Google", "utm_source": ""}),
])
def test_hostile_but_valid_messages_are_enriched(case, columns, located):
    row = dict(zip(rows.COLUMNS, rows.event_row(steps.run(raw(case), located))))
    assert {name: row[name] for name in columns} == columns


# ── every step on its own, without the contract in front ─────────────────────────────────


@pytest.mark.parametrize("case", list(HOSTILE))
def test_every_step_copes_with_what_the_contract_would_have_refused(case, located):
    """(``rows.event_row`` is left out: it maps validated events, and relies on their shape.)"""
    value: Any = hostile(case)
    for step in located[1:]:
        if step is steps.validate:
            continue
        value = step(value)  # a raise fails the test: no step may raise
        if isinstance(value, Dropped):
            assert value.reason in steps.REASONS and value.reason != "step_failed"
            return
    assert {"client_ip", "country", "path", "referrer_source", "utm_source", "fingerprint"} <= value.keys()
