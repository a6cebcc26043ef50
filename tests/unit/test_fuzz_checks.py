"""The fuzz test's judge (tests/support/fuzz_checks.py): it must flag every way an answer can
break the properties, and pass the answers the collector is meant to give."""

from __future__ import annotations

import gzip

import orjson
import pytest

from tests.support.fuzz import FuzzRequest
from tests.support.fuzz_checks import Answer, events_sent, violations

ENVELOPE = orjson.dumps({"version": 1, "sdk": {"name": "t", "version": "1"}, "events": [{}, {}, {}]})


def post(body: bytes = ENVELOPE, encoding: bytes | None = None) -> FuzzRequest:
    headers = ((b"content-type", b"application/json"),) + (((b"content-encoding", encoding),) if encoding else ())
    return FuzzRequest("events", "POST", "/api/1/events", headers, body)


def answer(status: int, body: dict | bytes, **headers: str) -> Answer:
    return Answer(status, headers, body if isinstance(body, bytes) else orjson.dumps(body))


def problem(reason: str) -> dict:
    return {"error": reason, "message": "why, and what to do", "path": ""}


REJECTED = {"index": 0, "reason": "missing_field", "path": "event_id", "message": "m"}


@pytest.mark.parametrize("status, body, headers", [
    (202, {"accepted": 2, "rejected": [REJECTED]}, {}),
    # a Sentry item refused before mapping is named by its item number
    (202, {"accepted": 2, "rejected": [{"item": 0, "reason": "wrong_type", "path": "items[0].op", "message": "m"}]}, {}),
    (422, {**problem("no_valid_events"), "accepted": 0, "rejected": [REJECTED] * 3}, {}),
    (400, problem("invalid_json"), {}),
    (415, problem("unsupported_media_type"), {}),
    (429, problem("rate_limited"), {"retry-after": "3"}),
])
def test_answers_the_collector_is_meant_to_give_pass(status, body, headers):
    assert violations(post(), answer(status, body, **headers)) == []


@pytest.mark.parametrize("status, body, headers, expected", [
    (503, problem("internal_error"), {}, "a 5xx"),
    (500, b"Internal Server Error", {}, "a 5xx"),
    (202, {"accepted": 3, "rejected": [REJECTED]}, {}, "but 3 events were sent"),
    (202, {"accepted": 2}, {}, "but 3 events were sent"),
    (400, b"bad request", {}, "without a JSON object body"),
    (400, {"error": "invalid_json"}, {}, "not a problem body"),
    (400, problem("no_such_reason"), {}, "unknown reason"),
    (404, problem("invalid_json"), {}, "which is answered 400"),
    (429, problem("rate_limited"), {}, "429 without a Retry-After"),
    (422, {**problem("no_valid_events"), "accepted": 0, "rejected": [REJECTED]}, {}, "422 for 3 events sent"),
    (302, b"", {}, "unexpected status"),
])
def test_every_broken_property_is_flagged(status, body, headers, expected):
    found = violations(post(), answer(status, body, **headers))
    assert found and expected in found[0], found


def test_a_hang_and_a_dropped_connection_are_flagged():
    assert violations(post(), Answer(0, hang="no HTTP answer within 15 s"))[0].startswith("hang")
    assert violations(post(), Answer(0, dropped="reset"))[0].startswith("dropped")
    assert "fuzzer's own" in violations(post(), Answer(0, client_error="ValueError()"))[0]


def test_a_2xx_for_a_body_that_is_not_one_envelope_is_flagged():
    # two gzip members, the first a whole envelope: a collector that reads one member answers 202
    body = gzip.compress(ENVELOPE) + gzip.compress(ENVELOPE)
    assert events_sent(post(body, b"gzip")) is None
    assert "not one envelope" in violations(post(body, b"gzip"), answer(202, {"accepted": 3, "rejected": []}))[0]


def test_events_sent_reads_every_gzip_member_and_the_unified_mapping():
    body = gzip.compress(ENVELOPE[:10]) + gzip.compress(ENVELOPE[10:])
    assert events_sent(post(body, b"gzip")) == 3
    unified = orjson.dumps({"event_id": "abcdefgh12", "timestamp": "2026-01-01T00:00:00Z", "platform": "javascript",
                            "errors": [{"message": "boom"}]})
    assert events_sent(post(unified)) == 1


def test_websocket_replies_are_judged_one_by_one():
    request = FuzzRequest("ws", "GET", "/api/1/ws", messages=(ENVELOPE, b"{"))
    fine = Answer(101, replies=['{"status":202,"accepted":3,"rejected":[]}',
                                orjson.dumps({"status": 400, **problem("invalid_json")}).decode()])
    assert violations(request, fine) == []
    broken = Answer(101, replies=['{"status":202,"accepted":3,"rejected":[]}',
                                  orjson.dumps({"status": 503, **problem("internal_error")}).decode()])
    assert "WebSocket reply 503" in violations(request, broken)[0]
    closed = Answer(101, replies=['{"status":202,"accepted":3,"rejected":[]}'], close_code=1011)
    assert "WebSocket closed (1011)" in violations(request, closed)[0]
