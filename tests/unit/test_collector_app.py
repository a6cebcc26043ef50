"""The ASGI application's own decisions, driven through the ASGI interface without a
server: routing, methods, and what a bug turns into (503 with an honest message, never
500). Everything that needs Kafka is in tests/integration/test_collector.py."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

import orjson

from pipeline import settings as settings_module
from pipeline.collector.app import PIXEL_GIF, Collector
from pipeline.collector.limits import RateLimiter
from pipeline.collector.network import ClientAddress
from pipeline.collector.producer import EventProducer
from pipeline.collector.projects import ProjectCache
from pipeline.projects import Project
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
    with caplog.at_level(logging.ERROR, logger="pipeline.collector.app"):
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
