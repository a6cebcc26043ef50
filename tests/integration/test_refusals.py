"""Refusals at the collector are counted (issue 13, item 14): ``vigil collect`` with two workers,
refused over real HTTP, WebSocket, pixel and Sentry requests, and the exact counts by project,
transport and reason found in ClickHouse's ``refusals_minute`` and at ``/metrics`` — where a
scrape, whichever worker answers it, adds up both workers' counters."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from datetime import datetime, timezone
from urllib.parse import quote

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as websocket_connect

from pipeline.warehouse import projects
from pipeline.broker.topics import ensure_topics
from pipeline.ingest.collector_metrics import CollectorMetrics
from pipeline.ingest.refusals import Batch, RefusalLog, clickhouse_insert
from pipeline.warehouse.migrator import apply_migrations
from tests.integration.test_collector import CollectorProcess
from tests.support import vectors
from tests.support.alerts import private_database
from tests.support.clickhouse import ClickHouseServer
from tests.support.prometheus import scrape

pytestmark = pytest.mark.integration

SHOP_ORIGIN = "https://shop.example.com"
MAX_BODY = 20_000
UNKNOWN_PROJECT = 987_654_321  # no such project: counted under the id the URL names


def page_views(count: int, broken: set[int] = frozenset()) -> bytes:
    """An envelope of ``count`` page views; those at the ``broken`` indexes have an unknown type."""
    vector = next(v for v in vectors.load("valid") if v.name == "page_view")
    envelope = json.loads(vector.body(shift_to=datetime.now(timezone.utc)))
    event = envelope["events"][0]
    envelope["events"] = [{**event, "event_id": f"{uuid.uuid4().hex[:24]}",
                           **({"type": "teleport"} if index in broken else {})} for index in range(count)]
    return json.dumps(envelope).encode()


@pytest.fixture(scope="module")
def warehouse(clickhouse):
    """A database of this module's own: the counts it finds are exactly its requests'."""
    settings, client = private_database(clickhouse, prefix="refusals")
    yield settings, client
    client.close()


@pytest.fixture(scope="module")
def env(kafka, warehouse) -> dict[str, str]:
    settings, _ = warehouse
    topic = f"refusals-test-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka.bootstrap, {topic: 2})
    return {"VIGIL_CLICKHOUSE_URL": settings.clickhouse_url, "VIGIL_CLICKHOUSE_DATABASE": settings.clickhouse_database,
            "VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_EVENTS_TOPIC": topic, "VIGIL_KAFKA_ACK_TIMEOUT": "5",
            "VIGIL_PROJECTS_REFRESH": "60", "VIGIL_MAX_BODY_BYTES": str(MAX_BODY), "VIGIL_REFUSALS_FLUSH": "0.5"}


def stored(client, project_ids: list[int]) -> Counter:
    rows = client.query(
        "SELECT project_id, transport, reason, unit, sum(refusals) FROM refusals_minute "
        "WHERE has({ids:Array(UInt64)}, project_id) GROUP BY project_id, transport, reason, unit",
        parameters={"ids": project_ids}).result_rows
    return Counter({tuple(row[:4]): row[4] for row in rows})


def wait_for_counts(client, expected: Counter, timeout: float = 30.0) -> Counter:
    ids = sorted({key[0] for key in expected})
    deadline = time.monotonic() + timeout
    while (found := stored(client, ids)) != expected and time.monotonic() < deadline:
        time.sleep(0.25)
    return found


def scraped(url: str) -> Counter:
    """The collector's counters at /metrics: (metric, transport, reason) → value."""
    found = Counter()
    for (name, labels), value in scrape(f"{url}/metrics").items():
        if name.startswith("vigil_collector_") and name.endswith("_total"):
            found[(name, dict(labels).get("transport"), dict(labels).get("reason"))] += value
    return found


def test_every_kind_of_refusal_is_counted_by_project_transport_and_reason(env, warehouse, tmp_path):
    _, client = warehouse
    open_project = projects.create(client, f"refusals-open-{uuid.uuid4().hex[:6]}")
    shop = projects.create(client, f"refusals-shop-{uuid.uuid4().hex[:6]}", [SHOP_ORIGIN])
    collector = CollectorProcess({**env, "VIGIL_COLLECTOR_WORKERS": "2"}, tmp_path / "collector.log").start()
    try:
        base = collector.url
        events = f"{base}/api/{open_project.id}/events"
        json_headers = {"content-type": "application/json", "x-vigil-key": open_project.key}
        statuses = Counter()

        def send(method: str, url: str, **kwargs) -> httpx.Response:
            with httpx.Client(timeout=30) as http:  # a connection each: both workers answer some
                answer = http.request(method, url, **kwargs)
            statuses[answer.status_code] += 1
            return answer

        for _ in range(2):
            send("POST", events, content=page_views(1), headers={**json_headers, "x-vigil-key": "f" * 32})
        send("POST", events, content=page_views(1), headers={"content-type": "application/json"})
        for _ in range(3):
            send("POST", events, content=b"{not json", headers=json_headers)
        send("POST", events, content=b"x" * (MAX_BODY + 1), headers=json_headers)
        taken = send("POST", events, content=page_views(3, broken={1}), headers=json_headers)
        assert taken.status_code == 202 and taken.json()["accepted"] == 2
        none_taken = send("POST", events, content=page_views(2, broken={0, 1}), headers=json_headers)
        assert none_taken.status_code == 422
        for _ in range(4):  # the good ones count as accepted, not refused
            assert send("POST", events, content=page_views(1), headers=json_headers).status_code == 202
        send("POST", f"{base}/api/{shop.id}/events", content=page_views(1),
             headers={"content-type": "application/json", "x-vigil-key": shop.key, "origin": "https://evil.example"})
        send("POST", f"{base}/api/{UNKNOWN_PROJECT}/events", content=page_views(1), headers=json_headers)
        send("GET", f"{base}/api/{open_project.id}/pixel.gif?key={'f' * 32}&d={quote(page_views(1))}")
        send("GET", f"{base}/api/{open_project.id}/pixel.gif?key={open_project.key}&d={quote('{oops')}")
        send("POST", f"{base}/api/{open_project.id}/store/", content=b"{not json",
             headers={"content-type": "application/json", "x-sentry-auth": f"Sentry sentry_key={open_project.key}"})
        send("POST", f"{base}/api/{open_project.id}/envelope/", content=b"{}\n",
             headers={"content-type": "text/plain", "x-sentry-auth": "Sentry sentry_key=" + "f" * 32})
        unified = send("POST", events, headers=json_headers, content=json.dumps(
            {"event_id": "unified-0001", "platform": "javascript", "tracking": "not a list"}).encode())
        assert unified.status_code == 400, unified.text
        ws = f"ws://127.0.0.1:{collector.port}/api/{open_project.id}/ws"
        with pytest.raises(InvalidStatus):
            websocket_connect(f"{ws}?key={'f' * 32}", open_timeout=10).close()
        with websocket_connect(f"{ws}?key={open_project.key}", open_timeout=10) as socket:
            socket.send("{not json")
            assert json.loads(socket.recv(timeout=10))["error"] == "invalid_json"
            socket.send(page_views(2, broken={0}).decode())
            assert json.loads(socket.recv(timeout=10))["accepted"] == 1

        o = open_project.id
        expected = Counter({
            (o, "events", "wrong_key", "request"): 2,
            (o, "events", "missing_key", "request"): 1,
            (o, "events", "invalid_json", "request"): 3,
            (o, "events", "body_too_large", "request"): 1,
            (o, "events", "unknown_value", "event"): 1 + 2,
            (o, "events", "no_valid_events", "request"): 1,
            (shop.id, "events", "origin_not_allowed", "request"): 1,
            (UNKNOWN_PROJECT, "events", "unknown_project", "request"): 1,
            (o, "pixel", "wrong_key", "request"): 1,
            (o, "pixel", "invalid_json", "request"): 1,
            (o, "sentry_store", "invalid_json", "request"): 1,
            (o, "sentry_envelope", "wrong_key", "request"): 1,
            (o, "unified", unified.json()["error"], "request"): 1,
            (o, "websocket", "wrong_key", "request"): 1,
            (o, "websocket", "invalid_json", "request"): 1,
            (o, "websocket", "unknown_value", "event"): 1,
        })
        assert wait_for_counts(client, expected) == expected
        time.sleep(1.5)  # later flushes add nothing: each count is saved once
        assert stored(client, sorted({key[0] for key in expected})) == expected

        # /metrics: every scrape, whichever worker answers, counts both workers' refusals
        metric = Counter()
        for (_, transport, reason, unit), count in expected.items():
            metric[(f"vigil_collector_refused_{unit}s_total", transport, reason)] += count
        metric[("vigil_collector_accepted_events_total", "events", None)] = 2 + 4
        metric[("vigil_collector_accepted_events_total", "websocket", None)] = 1
        for _ in range(6):
            assert scraped(base) == metric
    finally:
        collector.stop()
    assert "shutting down with the counts" not in collector.log_tail(200)


def test_rate_limited_requests_are_counted(env, warehouse, tmp_path):
    """A key's bucket of five events (refilling at 0.01/s): the sixth event and the next request are 429.

    Requests and bytes cost nothing here, so the bucket counts events alone."""
    _, client = warehouse
    limited = projects.create(client, f"refusals-limited-{uuid.uuid4().hex[:6]}")
    collector = CollectorProcess({**env, "VIGIL_RATE_LIMIT_PER_KEY": "0.01", "VIGIL_RATE_LIMIT_BURST_SECONDS": "500",
                                  "VIGIL_RATE_LIMIT_PER_IP": "0", "VIGIL_RATE_LIMIT_REQUEST_COST": "0",
                                  "VIGIL_RATE_LIMIT_KIB_COST": "0"}, tmp_path / "collector.log").start()
    try:
        headers = {"content-type": "application/json", "x-vigil-key": limited.key}
        with httpx.Client(base_url=collector.url, timeout=30) as http:
            assert http.post(f"/api/{limited.id}/events", content=page_views(5), headers=headers).status_code == 202
            for _ in range(2):
                refused = http.post(f"/api/{limited.id}/events", content=page_views(1), headers=headers)
                assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        expected = Counter({(limited.id, "events", "rate_limited", "request"): 2})
        assert wait_for_counts(client, expected) == expected
        assert scraped(collector.url)[("vigil_collector_refused_requests_total", "events", "rate_limited")] == 2
    finally:
        collector.stop()


def test_counts_wait_out_a_clickhouse_outage_and_are_saved_once(tmp_path):
    """ClickHouse stopped: a flush fails at once (nothing waits on it), the counts are kept; restarted,
    they land — and a batch retried after an insert that did land is not counted twice."""
    server = ClickHouseServer(tmp_path / "clickhouse").start()
    try:
        apply_migrations(server.client())
        log = RefusalLog(clickhouse_insert(server.settings), 60, CollectorMetrics())
        log.add(7, "events", "wrong_key", "request", 5)
        log.add(7, "pixel", "invalid_json", "request")
        server.stop()
        started = time.monotonic()
        asyncio.run(log.flush())
        assert time.monotonic() - started < 15 and log.failing_since is not None
        assert [batch.refusals for batch in log.pending] == [6]
        log.add(7, "events", "wrong_key", "request", 2)  # counted while ClickHouse is away
        server.start()
        asyncio.run(log.flush())
        assert log.pending == [] and log.failing_since is None
        client = server.client()
        totals = client.query("SELECT transport, reason, sum(refusals) FROM refusals_minute WHERE project_id = 7 "
                              "GROUP BY transport, reason ORDER BY transport").result_rows
        assert totals == [("events", "wrong_key", 7), ("pixel", "invalid_json", 1)]

        # an insert that landed though its answer was lost is retried with the same token: a no-op
        batch = Batch([(datetime.now(timezone.utc).replace(second=0, microsecond=0), 8, "events", "bad_gzip",
                        "request", 3)], uuid.uuid4().hex)
        insert = clickhouse_insert(server.settings)
        insert(batch.rows, batch.token)
        insert(batch.rows, batch.token)
        assert client.command("SELECT sum(refusals) FROM refusals_minute WHERE project_id = 8") == 3
    finally:
        server.close()
