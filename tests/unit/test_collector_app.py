"""The ASGI application's own decisions, driven through the ASGI interface without a
server: routing, methods, and what a bug turns into (503 with an honest message, never
500). Everything that needs Kafka is in tests/integration/test_collector.py."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import orjson
import pytest

from pipeline import settings as settings_module
from pipeline.collector.app import PIXEL_GIF, Collector
from pipeline.collector.limits import RateLimiter
from pipeline.collector.network import ClientAddress
from pipeline.collector.producer import EventProducer
from pipeline.collector.projects import ProjectCache
from pipeline.projects import Project
from tests.support import vectors
from tests.support.kafka import free_ports

GOOD = Project(1, "shop", "a" * 32, ("https://shop.example.com",))
BROKEN = Project(2, "broken", None)  # type: ignore[arg-type]  # a row the collector can't use


def build(*projects: Project) -> Collector:
    # the producer is real but never started or used by these requests; its broker address
    # is a closed port, so nothing here can reach a Kafka by accident
    settings = dataclasses.replace(settings_module.load(), kafka_brokers=f"127.0.0.1:{free_ports(1)[0]}")
    return Collector(settings, ProjectCache(lambda: list(projects), refresh_s=60), EventProducer(settings),
                     RateLimiter(100, 100, 1), ClientAddress())


def request(app: Collector, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
            query: bytes = b"") -> tuple[int, dict[bytes, bytes], bytes]:
    async def scenario():
        await app.projects.refresh()
        scope = {"type": "http", "method": method, "path": path, "query_string": query,
                 "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
                 "client": ("127.0.0.1", 50000)}
        sent = []

        async def receive():
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message):
            sent.append(message)

        await app(scope, receive, send)
        return sent

    start, reply = asyncio.run(scenario())
    return start["status"], dict(start["headers"]), reply["body"]


def test_unknown_paths_are_404_with_a_hint():
    status, _, body = request(build(GOOD), "GET", "/api/v1/things")
    assert status == 404
    assert orjson.loads(body)["error"] == "not_found" and "/api/<project id>/events" in orjson.loads(body)["message"]


def test_wrong_methods_are_405_with_allow():
    status, headers, body = request(build(GOOD), "PUT", "/api/1/events")
    assert (status, orjson.loads(body)["error"]) == (405, "method_not_allowed")
    assert headers[b"allow"] == b"POST, OPTIONS"
    status, headers, _ = request(build(GOOD), "HEAD", "/api/1/pixel.gif")
    assert (status, headers[b"allow"]) == (405, b"GET")


def test_a_bug_is_answered_503_saying_nothing_was_acknowledged(caplog):
    with caplog.at_level(logging.ERROR, logger="pipeline.collector.funnel"):
        status, headers, body = request(build(GOOD, BROKEN), "POST", "/api/2/events", b"{}",
                                        {"content-type": "application/json", "x-vigil-key": "x" * 32})
    answer = orjson.loads(body)
    assert status == 503 and answer["error"] == "internal_error"
    assert "NOT acknowledged" in answer["message"] and "resend" in answer["message"]
    assert headers[b"retry-after"] == b"5"
    incident = answer["message"].split("incident ")[1].split(",")[0]
    assert any(incident in record.getMessage() and record.exc_info for record in caplog.records)


def test_checks_come_before_the_body_is_read():
    # a wrong key on a huge body: refused without spending time on the bytes
    status, _, body = request(build(GOOD), "POST", "/api/1/events", b"x" * 5_000_000,
                              {"content-type": "application/json", "x-vigil-key": "b" * 32})
    assert (status, orjson.loads(body)["error"]) == (403, "wrong_key")


def test_declared_oversized_body_is_413_before_reading():
    status, _, body = request(build(GOOD), "POST", "/api/1/events", b"",
                              {"content-type": "application/json", "x-vigil-key": GOOD.key,
                               "content-length": str(10 * 1024 * 1024)})
    assert (status, orjson.loads(body)["error"]) == (413, "body_too_large")


def test_preflight_without_origin_list_restrictions():
    status, headers, body = request(build(Project(3, "open", "c" * 32)), "OPTIONS", "/api/3/events",
                                    headers={"origin": "https://anywhere.example"})
    assert status == 204 and body == b""
    assert headers[b"access-control-allow-origin"] == b"https://anywhere.example"
    assert b"content-length" not in headers


def test_the_pixel_is_a_real_gif():
    assert PIXEL_GIF.startswith(b"GIF89a") and PIXEL_GIF.endswith(b";") and len(PIXEL_GIF) == 43


def test_health_refuses_other_methods():
    status, headers, _ = request(build(GOOD), "POST", "/healthz")
    assert status == 405 and headers[b"allow"] == b"GET, HEAD"


# ── CORS on every refusal: the page (and so the SDK) can read why it was refused ─────────

STRANGER = "https://stranger.example"  # on no project's allow-list
ALL_REJECTED = next(v for v in vectors.load("invalid") if v.doc["level"] != "envelope").body()


def assert_readable_by(headers: dict[bytes, bytes], origin: str, expose: bytes = b"Retry-After") -> None:
    """The answer carries what a browser needs to hand it to the page's script."""
    assert headers[b"access-control-allow-origin"] == origin.encode()
    assert headers[b"vary"] == b"Origin"
    assert headers[b"access-control-expose-headers"] == expose
    assert b"access-control-allow-credentials" not in headers  # never: no cookie ever counts here


def exhausted(app: Collector) -> Collector:
    """The app with GOOD's key already over its rate limit (a clock that stands still: no refill)."""
    app.limiter = RateLimiter(1, 1, 1, clock=lambda: 0.0)
    assert app.limiter.admit(GOOD.key, "127.0.0.1", 1) == 0
    return app


JSON_POST = {"content-type": "application/json"}
# (status, reason, method, path, body, headers, origin, how the app is set up)
REFUSALS = [
    (401, "missing_key", "POST", "/api/1/events", b"{}", JSON_POST, GOOD.origins[0], build),
    (403, "wrong_key", "POST", "/api/1/events", b"{}", {**JSON_POST, "x-vigil-key": "b" * 32}, GOOD.origins[0], build),
    (403, "origin_not_allowed", "POST", "/api/1/events", b"{}", {**JSON_POST, "x-vigil-key": GOOD.key}, STRANGER,
     build),
    (404, "unknown_project", "POST", "/api/9/events", b"{}", JSON_POST, STRANGER, build),
    (404, "not_found", "POST", "/api/events", b"{}", JSON_POST, STRANGER, build),
    (405, "method_not_allowed", "PUT", "/api/1/events", b"{}", JSON_POST, STRANGER, build),
    (413, "body_too_large", "POST", "/api/1/events", b"",
     {**JSON_POST, "x-vigil-key": GOOD.key, "content-length": str(10 * 1024 * 1024)}, GOOD.origins[0], build),
    (415, "unsupported_media_type", "POST", "/api/1/events", b"{}",
     {"content-type": "application/xml", "x-vigil-key": GOOD.key}, GOOD.origins[0], build),
    (422, "no_valid_events", "POST", "/api/1/events", ALL_REJECTED, {**JSON_POST, "x-vigil-key": GOOD.key},
     GOOD.origins[0], build),
    (429, "rate_limited", "POST", "/api/1/events", b"{}", {**JSON_POST, "x-vigil-key": GOOD.key}, GOOD.origins[0],
     lambda *projects: exhausted(build(*projects))),
    (503, "internal_error", "POST", "/api/2/events", b"{}", {**JSON_POST, "x-vigil-key": "x" * 32}, STRANGER, build),
    (403, "origin_not_allowed", "OPTIONS", "/api/1/events", b"", {"access-control-request-method": "POST"}, STRANGER,
     build),
    (404, "unknown_project", "OPTIONS", "/api/9/events", b"", {"access-control-request-method": "POST"}, STRANGER,
     build),
]


@pytest.mark.parametrize("status, reason, method, path, body, headers, origin, app", REFUSALS,
                         ids=[f"{r[2]}-{r[0]}-{r[1]}" for r in REFUSALS])
def test_every_refusal_to_a_browser_is_readable_by_the_page(status, reason, method, path, body, headers, origin, app,
                                                            caplog):
    with caplog.at_level(logging.CRITICAL, logger="pipeline.collector.funnel"):  # the 503 logs its incident
        got, answer_headers, answer = request(app(GOOD, BROKEN), method, path, body, {**headers, "origin": origin})
    assert (got, orjson.loads(answer)["error"]) == (status, reason)
    assert_readable_by(answer_headers, origin)
    if status in (429, 503):
        assert int(answer_headers[b"retry-after"]) >= 1


def test_a_refused_preflight_grants_nothing():
    # readable, so the browser's console names the status — but no method or header is allowed
    _, headers, _ = request(build(GOOD), "OPTIONS", "/api/1/events",
                            headers={"origin": STRANGER, "access-control-request-method": "POST"})
    assert b"access-control-allow-methods" not in headers and b"access-control-allow-headers" not in headers


def test_an_answer_without_origin_has_no_cors_headers():
    _, headers, _ = request(build(GOOD), "POST", "/api/9/events", b"{}", JSON_POST)
    assert not any(name.startswith(b"access-control-") for name in headers) and b"vary" not in headers
