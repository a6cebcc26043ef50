"""Sentry's endpoints on the collector, driven through the ASGI interface: routes, keys,
content types, CORS, and the refusals — everything decided before Kafka. Delivery through a
real broker is tests/e2e/test_sentry_browser.py's."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from pipeline.ingest.limits import RateLimiter
from pipeline.ingest.urls import route
from pipeline.warehouse.projects import Project
from tests.unit.test_collector_app import GOOD, STRANGER, assert_readable_by, build, exhausted, request

SESSION = (Path(__file__).parent / "sentry_envelopes" / "session.envelope").read_bytes()
BROWSER = {"content-type": "text/plain;charset=UTF-8", "origin": "https://shop.example.com"}
QUERY = b"sentry_version=7&sentry_key=" + GOOD.key.encode() + b"&sentry_client=sentry.javascript.browser%2F11.12.0"


def test_sentry_paths_take_their_trailing_slash():
    assert route("/api/42/envelope/") == (42, "envelope") and route("/api/42/store/") == (42, "store")
    assert route("/api/42/envelope") == (42, "envelope")
    assert route("/api/42/events/") is None and route("/api/42/envelope//") is None


def test_an_envelope_without_events_is_accepted_and_says_what_it_ignored():
    status, headers, body = request(build(GOOD), "POST", "/api/1/envelope/", SESSION, BROWSER, QUERY)
    assert status == 200 and orjson.loads(body) == {"ignored": {"session": 1}}
    assert headers[b"access-control-allow-origin"] == b"https://shop.example.com"
    assert b"Retry-After" in headers[b"access-control-expose-headers"]


@pytest.mark.parametrize("where", ["header", "query", "dsn"])
def test_the_key_is_read_where_sentry_sdks_send_it(where):
    headers, query, body = dict(BROWSER), b"", SESSION
    if where == "header":
        headers["x-sentry-auth"] = f"Sentry sentry_version=7, sentry_key={GOOD.key}, sentry_client=sentry.python/2.0"
    elif where == "query":
        query = QUERY
    else:
        body = orjson.dumps({"dsn": f"http://{GOOD.key}@collector.example.com/1"}) + SESSION[SESSION.index(b"\n"):]
    status, _, answer = request(build(GOOD), "POST", "/api/1/envelope/", body, headers, query)
    assert status == 200, answer


def test_no_key_anywhere_is_401_naming_the_dsn():
    status, _, body = request(build(GOOD), "POST", "/api/1/envelope/", SESSION, BROWSER)
    answer = orjson.loads(body)
    assert (status, answer["error"]) == (401, "missing_key") and "DSN" in answer["message"]


def test_a_wrong_key_is_refused_before_the_body_is_read():
    status, _, body = request(build(GOOD), "POST", "/api/1/envelope/", b"x" * 5_000_000, BROWSER,
                              b"sentry_key=" + b"b" * 32)
    assert (status, orjson.loads(body)["error"]) == (403, "wrong_key")


def test_a_dsn_for_another_project_is_no_key():
    body = orjson.dumps({"dsn": f"http://{GOOD.key}@collector.example.com/9"}) + SESSION[SESSION.index(b"\n"):]
    status, _, answer = request(build(GOOD), "POST", "/api/1/envelope/", body, BROWSER)
    assert (status, orjson.loads(answer)["error"]) == (401, "missing_key")


def test_a_disallowed_origin_is_403():
    status, _, body = request(build(GOOD), "POST", "/api/1/envelope/", SESSION,
                              {**BROWSER, "origin": "https://evil.example"}, QUERY)
    assert (status, orjson.loads(body)["error"]) == (403, "origin_not_allowed")


@pytest.mark.parametrize("body, reason", [
    (b"\x00\x01garbage", "invalid_json"),
    (b'{}\n{"type":"event","length":999}\n{}', "out_of_range"),
    (b'{}\n{"type":"event"}\n\xc3\x28', "invalid_json"),
])
def test_garbage_is_400_with_a_reason_never_500(body, reason):
    status, headers, answer = request(build(GOOD), "POST", "/api/1/envelope/", body, BROWSER, QUERY)
    assert (status, orjson.loads(answer)["error"]) == (400, reason)
    assert headers[b"access-control-allow-origin"] == b"https://shop.example.com"  # the SDK can read why


def test_an_envelope_whose_events_are_all_invalid_is_422_with_each_reason():
    event = {"event_id": "a" * 32, "timestamp": "last tuesday", "exception": {"values": [{"type": "Error", "value": "x"}]}}
    body = b'{"event_id":"' + b"a" * 32 + b'"}\n{"type":"event"}\n' + orjson.dumps(event)
    status, _, answer = request(build(GOOD), "POST", "/api/1/envelope/", body, BROWSER, QUERY)
    answer = orjson.loads(answer)
    assert (status, answer["error"], answer["id"]) == (422, "no_valid_events", "a" * 32)
    assert answer["rejected"] == [{"index": 0, "reason": "bad_format", "path": "timestamp",
                                   "message": "timestamp must be date-time"}]


def test_the_store_endpoint_refuses_a_non_object():
    status, _, body = request(build(GOOD), "POST", "/api/1/store/", b"[1]", {"content-type": "application/json"},
                              b"sentry_key=" + GOOD.key.encode())
    assert (status, orjson.loads(body)["error"]) == (400, "not_an_object")


def test_other_media_types_are_415():
    status, _, body = request(build(GOOD), "POST", "/api/1/envelope/", SESSION,
                              {**BROWSER, "content-type": "image/png"}, QUERY)
    assert (status, orjson.loads(body)["error"]) == (415, "unsupported_media_type")


def test_preflight_allows_the_sentry_auth_header():
    status, headers, _ = request(build(Project(3, "open", "c" * 32)), "OPTIONS", "/api/3/envelope/",
                                 headers={"origin": "https://anywhere.example"})
    assert status == 204 and b"X-Sentry-Auth" in headers[b"access-control-allow-headers"]
    assert headers[b"access-control-allow-origin"] == b"https://anywhere.example"


def test_get_is_405():
    status, headers, _ = request(build(GOOD), "GET", "/api/1/envelope/")
    assert status == 405 and headers[b"allow"] == b"POST, OPTIONS"


def test_an_empty_bucket_is_429_with_retry_after_the_sdk_can_read():
    app = build(GOOD)
    app.limiter = RateLimiter(1, 1, 1, clock=lambda: 0.0)  # a clock that stands still: nothing refills
    assert app.limiter.admit(GOOD.key, "127.0.0.1", 1) == 0  # the one token, spent by an earlier request
    status, headers, body = request(app, "POST", "/api/1/envelope/", SESSION, BROWSER, QUERY)
    assert (status, orjson.loads(body)["error"]) == (429, "rate_limited")
    assert int(headers[b"retry-after"]) >= 1
    assert b"Retry-After" in headers[b"access-control-expose-headers"]


def test_a_huge_envelope_is_413_whether_declared_or_not():
    huge = b'{}\n{"type":"attachment","length":2000000}\n' + b"\x00" * 2_000_000
    status, _, body = request(build(GOOD), "POST", "/api/1/envelope/", huge, BROWSER, QUERY)
    assert (status, orjson.loads(body)["error"]) == (413, "body_too_large")
    status, _, body = request(build(GOOD), "POST", "/api/1/envelope/", b"", {**BROWSER, "content-length": "2000000"},
                              QUERY)
    assert (status, orjson.loads(body)["error"]) == (413, "body_too_large")


SENTRY_EXPOSE = b"Retry-After, X-Sentry-Rate-Limits"
ALL_INVALID = (b'{"event_id":"' + b"a" * 32 + b'"}\n{"type":"event"}\n'
               + orjson.dumps({"event_id": "a" * 32, "timestamp": "last tuesday",
                               "exception": {"values": [{"type": "Error", "value": "x"}]}}))
SENTRY_REFUSALS = [
    (401, "missing_key", "POST", "/api/1/envelope/", SESSION, BROWSER, b"", GOOD.origins[0], build),
    (403, "wrong_key", "POST", "/api/1/envelope/", SESSION, BROWSER, b"sentry_key=" + b"b" * 32, GOOD.origins[0],
     build),
    (403, "origin_not_allowed", "POST", "/api/1/envelope/", SESSION, BROWSER, QUERY, STRANGER, build),
    (404, "unknown_project", "POST", "/api/9/store/", b"{}", BROWSER, QUERY, STRANGER, build),
    (413, "body_too_large", "POST", "/api/1/envelope/", b"", {**BROWSER, "content-length": "2000000"}, QUERY,
     GOOD.origins[0], build),
    (415, "unsupported_media_type", "POST", "/api/1/envelope/", SESSION, {**BROWSER, "content-type": "image/png"},
     QUERY, GOOD.origins[0], build),
    (422, "no_valid_events", "POST", "/api/1/envelope/", ALL_INVALID, BROWSER, QUERY, GOOD.origins[0], build),
    (429, "rate_limited", "POST", "/api/1/envelope/", SESSION, BROWSER, QUERY, GOOD.origins[0],
     lambda *projects: exhausted(build(*projects))),
    (403, "origin_not_allowed", "OPTIONS", "/api/1/envelope/", b"", {"access-control-request-method": "POST"}, b"",
     STRANGER, build),
]


@pytest.mark.parametrize("status, reason, method, path, body, headers, query, origin, app", SENTRY_REFUSALS,
                         ids=[f"{r[2]}-{r[0]}-{r[1]}" for r in SENTRY_REFUSALS])
def test_every_sentry_refusal_to_a_browser_is_readable_by_the_page(status, reason, method, path, body, headers, query,
                                                                   origin, app):
    got, answer_headers, answer = request(app(GOOD), method, path, body, {**headers, "origin": origin}, query)
    assert (got, orjson.loads(answer)["error"]) == (status, reason)
    assert_readable_by(answer_headers, origin, SENTRY_EXPOSE)


# ── transactions from server SDKs: refused by name and counted, never a bare {"id"} ──────

PYTHON_TRANSACTION = {"event_id": "b" * 32, "type": "transaction", "platform": "python", "transaction": "nightly-job",
                      "start_timestamp": 1795734570.0, "timestamp": 1795734570.5,
                      "contexts": {"trace": {"trace_id": "c" * 32, "span_id": "d" * 16, "op": "task"}},
                      "spans": [{"span_id": "e" * 16, "op": "db", "description": "SELECT 1"}]}


def test_a_server_sdks_transaction_is_refused_with_its_reason_and_counted():
    app = build(GOOD)
    body = (b'{"event_id":"' + b"b" * 32 + b'"}\n{"type":"transaction"}\n' + orjson.dumps(PYTHON_TRANSACTION)
            + b"\n" + SESSION.split(b"\n", 1)[1])
    status, _, answer = request(app, "POST", "/api/1/envelope/", body,
                                {"content-type": "application/x-sentry-envelope"}, QUERY)
    answer = orjson.loads(answer)
    assert (status, answer["error"], answer["id"]) == (422, "no_valid_events", "b" * 32)
    [refused] = answer["rejected"]
    assert (refused["item"], refused["reason"], refused["path"]) == (0, "unsupported_item", "items[0].platform")
    assert "python transaction ('nightly-job', op 'task')" in refused["message"]
    assert answer["ignored"] == {"session": 1}
    counted = {key[1:]: count for key, count in app.refusals.counts.items()}
    assert counted[(1, "sentry_envelope", "unsupported_item", "event")] == 1, counted


def test_a_browser_transaction_is_still_mapped_not_refused():
    browser = {**PYTHON_TRANSACTION, "platform": "javascript"}
    body = b'{}\n{"type":"transaction"}\n' + orjson.dumps(browser)
    status, _, answer = request(build(GOOD), "POST", "/api/1/envelope/", body,
                                {"content-type": "application/x-sentry-envelope"}, QUERY)
    assert (status, orjson.loads(answer)) == (200, {})
