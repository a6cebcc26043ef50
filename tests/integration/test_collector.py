"""The collector as users run it (``vigil collect``), against the real Kafka broker and the
embedded ClickHouse: every contract vector, every bad input, every transport, the rate
limits — and Kafka going away and coming back while the collector keeps running."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, TopicPartition
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as websocket_connect

from pipeline import contract
from pipeline.warehouse import projects
from pipeline.broker.topics import ensure_topics
from pipeline.contract import unified
from pipeline.settings import REPO_ROOT
from tests.support import vectors
from tests.support.vectors import fresh_sentry_envelope
from tests.support.kafka import KafkaBroker, free_ports
from tests.unit.test_collector_encodings import COMPRESS

pytestmark = pytest.mark.integration

VALID = vectors.load("valid")
INVALID = vectors.load("invalid")
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
SHOP_ORIGIN = "https://shop.example.com"


# ── helpers: a `vigil collect` process, and a reader for what it produced ──────────────


class CollectorProcess:
    """``python -m pipeline.commands.cli collect`` on a free port, configured by ``env``."""

    def __init__(self, env: dict[str, str], log_file: Path) -> None:
        self.port = free_ports(1)[0]
        self.env = {**os.environ, **env, "VIGIL_COLLECTOR_HOST": "127.0.0.1",
                    "VIGIL_COLLECTOR_PORT": str(self.port), "PYTHONUNBUFFERED": "1"}
        self.log_file = log_file
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, healthy: bool = True, timeout: float = 30.0) -> CollectorProcess:
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "pipeline.commands.cli", "collect"], cwd=REPO_ROOT,
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"`vigil collect` exited:\n{self.log_tail()}"
            try:
                status = httpx.get(f"{self.url}/healthz", timeout=5).status_code
                if status == 200 or not healthy:
                    return self
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"`vigil collect` not ready in {timeout}s:\n{self.log_tail()}"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


class TopicReader:
    """Reads back what the collector produced: everything after a :meth:`mark`."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"collector-test-{uuid.uuid4().hex}",
                                  "enable.auto.commit": False})
        metadata = self.consumer.list_topics(topic, timeout=15)
        self.partitions = sorted(metadata.topics[topic].partitions)

    def mark(self) -> dict[int, int]:
        """The end of every partition now."""
        return {p: self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=15)[1]
                for p in self.partitions}

    def count_since(self, mark: dict[int, int]) -> int:
        return sum(self.mark()[p] - offset for p, offset in mark.items())

    def read_since(self, mark: dict[int, int], count: int, timeout: float = 20.0) -> list[tuple[bytes, dict]]:
        """``count`` messages (key, decoded value) produced after ``mark``."""
        self.consumer.assign([TopicPartition(self.topic, p, offset) for p, offset in mark.items()])
        messages = []
        deadline = time.monotonic() + timeout
        while len(messages) < count and time.monotonic() < deadline:
            message = self.consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            messages.append((message.key(), orjson.loads(message.value())))
        assert len(messages) == count, f"expected {count} messages on {self.topic}, found {len(messages)}"
        return messages

    def close(self) -> None:
        self.consumer.close()


def now_body(vector: vectors.Vector) -> bytes:
    return vector.body(shift_to=datetime.now(timezone.utc))


def expected_events(body: bytes) -> list[dict]:
    """What the contract says the topic must hold for this envelope (before the stamps)."""
    return [dict(event) for event in contract.merge_context(json.loads(body))]


def assert_stamped(event: dict, project_id: int, ip: str = "127.0.0.1") -> dict:
    """Check the collector's stamps and return the event without them."""
    event = dict(event)
    assert event.pop("project_id") == project_id
    assert event.pop("client") == {"ip": ip, "user_agent": USER_AGENT}
    received = contract.parse_timestamp(event.pop("received_at"))
    assert abs(datetime.now(timezone.utc) - received) < timedelta(seconds=60)
    return event


# ── fixtures ───────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="module")
def topic(kafka) -> str:
    """A topic of this module's own, so the exact messages can be checked."""
    name = f"collector-test-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka.bootstrap, {name: 2})
    return name


@pytest.fixture(scope="module")
def warehouse(clickhouse):
    client = clickhouse.client()
    yield client
    client.close()


@pytest.fixture(scope="module")
def open_project(warehouse) -> projects.Project:
    return projects.create(warehouse, f"collector-open-{uuid.uuid4().hex[:6]}")


@pytest.fixture(scope="module")
def shop_project(warehouse) -> projects.Project:
    return projects.create(warehouse, f"collector-shop-{uuid.uuid4().hex[:6]}", [SHOP_ORIGIN])


@pytest.fixture(scope="module")
def base_env(kafka, clickhouse, topic) -> dict[str, str]:
    return {**clickhouse.env, "VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_EVENTS_TOPIC": topic,
            "VIGIL_KAFKA_ACK_TIMEOUT": "5", "VIGIL_PROJECTS_REFRESH": "60"}


@pytest.fixture(scope="module")
def collector(base_env, open_project, shop_project, tmp_path_factory):
    process = CollectorProcess(base_env, tmp_path_factory.mktemp("collector") / "collector.log").start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def reader(kafka, topic):
    topic_reader = TopicReader(kafka.bootstrap, topic)
    yield topic_reader
    topic_reader.close()


@pytest.fixture(scope="module")
def http(collector):
    with httpx.Client(base_url=collector.url, headers={"user-agent": USER_AGENT}, timeout=30) as client:
        yield client


def post(http, project, body, key=None, headers=None, **kwargs) -> httpx.Response:
    headers = {"content-type": "application/json", "x-vigil-key": project.key if key is None else key,
               **(headers or {})}
    return http.post(f"/api/{project.id}/events", content=body, headers={k: v for k, v in headers.items() if v},
                     **kwargs)


# ── every contract vector ──────────────────────────────────────────────────────────────


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v.name)
def test_valid_vector_is_accepted_and_lands_on_the_topic_exactly(vector, http, open_project, reader):
    body = now_body(vector)
    mark = reader.mark()
    answer = post(http, open_project, body)
    assert answer.status_code == 202, answer.text
    expected = expected_events(body)
    assert answer.json() == {"accepted": len(expected), "rejected": []}
    # 202 means acknowledged: the messages are in the log already, no more and no fewer
    assert reader.count_since(mark) == len(expected)
    produced = reader.read_since(mark, len(expected))
    for key, event in produced:
        assert key == event["session_id"].encode()
    by_id = {event["event_id"]: assert_stamped(event, open_project.id) for _, event in produced}
    assert by_id == {event["event_id"]: event for event in expected}


@pytest.mark.parametrize("vector", INVALID, ids=lambda v: v.name)
def test_invalid_vector_is_refused_with_its_reason(vector, http, open_project, reader):
    mark = reader.mark()
    answer = post(http, open_project, now_body(vector))
    body = answer.json()
    if vector.doc["level"] == "envelope":
        assert answer.status_code == 400, body
        assert (body["error"], body["path"]) == (vector.doc["reason"], vector.doc["path"])
        assert body["message"]
    else:
        assert answer.status_code == 422, body
        assert body["error"] == "no_valid_events" and body["accepted"] == 0
        [rejected] = body["rejected"]
        assert (rejected["index"], rejected["reason"], rejected["path"]) == (
            vector.doc["index"], vector.doc["reason"], vector.doc["path"])
    assert reader.count_since(mark) == 0


def test_a_batch_with_some_invalid_events_delivers_the_valid_ones(http, open_project, reader):
    envelope = json.loads(now_body(next(v for v in VALID if v.name == "mixed_batch")))
    envelope["events"][1]["timestamp"] = "yesterday"
    mark = reader.mark()
    answer = post(http, open_project, orjson.dumps(envelope))
    assert answer.status_code == 202
    assert answer.json()["rejected"] == [{"index": 1, "reason": "bad_format", "path": "timestamp",
                                          "message": answer.json()["rejected"][0]["message"]}]
    assert reader.count_since(mark) == answer.json()["accepted"] == len(envelope["events"]) - 1


def test_unified_document_is_accepted_as_v1_events(http, open_project, reader):
    vector = vectors.load("unified")[0]
    document = vectors.shift_timestamps(vector.doc["document"], datetime.now(timezone.utc) - vector.now)
    mark = reader.mark()
    answer = post(http, open_project, orjson.dumps(document))
    assert answer.status_code == 202, answer.text
    count = sum(vector.doc["expected_types"].values())
    assert answer.json() == {"accepted": count, "rejected": []}
    produced = reader.read_since(mark, count)
    assert {e["event_id"] for _, e in produced} == {e["event_id"] for e in unified.to_envelope(document)["events"]}


def post_sentry(http, project, body: bytes) -> httpx.Response:
    return http.post(f"/api/{project.id}/envelope/", content=body, params={"sentry_key": project.key, "sentry_version": "7"},
                     headers={"content-type": "text/plain;charset=UTF-8"})


@pytest.mark.parametrize("name", ["thrown_error", "captured_exception", "pageload_spans"])
def test_sentry_envelope_is_answered_like_sentry_once_its_events_are_on_the_topic(name, http, open_project, reader):
    from pipeline.contract import sentry

    body = fresh_sentry_envelope(name)
    expected = sentry.to_events(sentry.parse_envelope(body), datetime.now(timezone.utc)).events
    mark = reader.mark()
    answer = post_sentry(http, open_project, body)
    assert answer.status_code == 200, answer.text
    event_id = orjson.loads(body.split(b"\n", 1)[0]).get("event_id")
    assert answer.json() == {**({"id": event_id} if event_id else {}), "accepted": len(expected), "rejected": []}
    assert reader.count_since(mark) == len(expected)  # 200 means acknowledged, one message per event
    produced = reader.read_since(mark, len(expected))
    assert {event["event_id"] for _, event in produced} == {event["event_id"] for event in expected}
    for key, event in produced:
        assert key == event["session_id"].encode()
        assert_stamped(event, open_project.id)


# ── bad requests ───────────────────────────────────────────────────────────────────────


def page_view(project=None) -> bytes:
    return now_body(next(v for v in VALID if v.name == "page_view"))


def test_malformed_json_is_400(http, open_project):
    answer = post(http, open_project, b'{"version": 1, "events": [')
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_json"


def test_sendbeacon_text_plain_is_accepted(http, open_project):
    answer = post(http, open_project, page_view(), headers={"content-type": "text/plain;charset=UTF-8"})
    assert answer.status_code == 202


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/xml", None])
def test_wrong_content_type_is_415(http, open_project, content_type):
    answer = post(http, open_project, page_view(), headers={"content-type": content_type})
    assert answer.status_code == 415
    assert answer.json()["error"] == "unsupported_media_type"


def test_oversized_body_is_413(http, open_project):
    answer = post(http, open_project, b" " * (1024 * 1024 + 1) + page_view())
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"


def test_oversized_chunked_body_is_413(http, open_project):
    def chunks():
        for _ in range(40):
            yield b" " * 32768

    answer = post(http, open_project, chunks())
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd"])
def test_a_compressed_body_is_accepted_in_each_coding(coding, http, open_project, reader):
    mark = reader.mark()
    answer = post(http, open_project, COMPRESS[coding](page_view()), headers={"content-encoding": coding})
    assert answer.status_code == 202, answer.text
    assert reader.count_since(mark) == 1


def test_gzip_bomb_is_413(http, open_project):
    bomb = gzip.compress(b"[" * 64 * 1024 * 1024)  # 64 MiB of brackets in ~64 KB
    answer = post(http, open_project, bomb, headers={"content-encoding": "gzip"})
    assert answer.status_code == 413
    assert answer.json()["error"] == "body_too_large"


def test_unsupported_content_encoding_is_415(http, open_project):
    answer = post(http, open_project, page_view(), headers={"content-encoding": "compress"})
    assert answer.status_code == 415
    assert answer.json()["error"] == "unsupported_encoding"


def test_unknown_project_is_404(http, open_project):
    answer = http.post("/api/987654/events", content=page_view(),
                       headers={"content-type": "application/json", "x-vigil-key": open_project.key})
    assert answer.status_code == 404
    assert answer.json()["error"] == "unknown_project"


def test_missing_key_is_401(http, open_project):
    answer = http.post(f"/api/{open_project.id}/events", content=page_view(),
                       headers={"content-type": "application/json"})
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing_key"


def test_wrong_key_is_403(http, open_project, shop_project):
    answer = post(http, open_project, page_view(), key=shop_project.key)
    assert answer.status_code == 403
    assert answer.json()["error"] == "wrong_key"


def test_key_may_come_in_the_query_string(http, open_project):
    answer = http.post(f"/api/{open_project.id}/events?key={open_project.key}", content=page_view(),
                       headers={"content-type": "application/json"})
    assert answer.status_code == 202


def assert_readable_by(answer: httpx.Response, origin: str) -> None:
    """A browser hands this answer to the page's script (and the SDK can read Retry-After)."""
    assert answer.headers["access-control-allow-origin"] == origin
    assert answer.headers["vary"] == "Origin"
    assert "Retry-After" in answer.headers["access-control-expose-headers"]
    assert "access-control-allow-credentials" not in answer.headers


def test_disallowed_origin_is_403_the_page_can_read(http, shop_project):
    answer = post(http, shop_project, page_view(), headers={"origin": "https://evil.example.com"})
    assert answer.status_code == 403
    assert answer.json()["error"] == "origin_not_allowed"
    # readable, so the SDK gives the batch up instead of resending it into an opaque error
    assert_readable_by(answer, "https://evil.example.com")


def test_allowed_origin_is_echoed_for_cors(http, shop_project):
    answer = post(http, shop_project, page_view(), headers={"origin": SHOP_ORIGIN})
    assert answer.status_code == 202
    assert answer.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert "Retry-After" in answer.headers["access-control-expose-headers"]


def test_errors_for_an_allowed_origin_are_readable_by_the_page(http, shop_project):
    answer = post(http, shop_project, b"{", headers={"origin": SHOP_ORIGIN})
    assert answer.status_code == 400
    assert answer.headers["access-control-allow-origin"] == SHOP_ORIGIN


EVIL = "https://evil.example.com"


@pytest.mark.parametrize("status, reason, ask", [
    (401, "missing_key", lambda http, shop, other: post(http, shop, page_view(), key="", headers={"origin": SHOP_ORIGIN})),
    (403, "wrong_key", lambda http, shop, other: post(http, shop, page_view(), key=other.key,
                                                      headers={"origin": SHOP_ORIGIN})),
    (403, "origin_not_allowed", lambda http, shop, other: post(http, shop, page_view(), headers={"origin": EVIL})),
    (404, "unknown_project", lambda http, shop, other: http.post(
        "/api/987654/events", content=page_view(), headers={"content-type": "text/plain", "origin": EVIL})),
    (404, "not_found", lambda http, shop, other: http.post("/events", content=b"{}", headers={"origin": EVIL})),
    (413, "body_too_large", lambda http, shop, other: post(http, shop, b" " * (1024 * 1024 + 1) + page_view(),
                                                           headers={"origin": SHOP_ORIGIN})),
    (415, "unsupported_media_type", lambda http, shop, other: post(
        http, shop, page_view(), headers={"content-type": "application/xml", "origin": SHOP_ORIGIN})),
    (422, "no_valid_events", lambda http, shop, other: post(
        http, shop, now_body(next(v for v in INVALID if v.doc["level"] != "envelope")), headers={"origin": SHOP_ORIGIN})),
    (403, "origin_not_allowed", lambda http, shop, other: http.options(
        f"/api/{shop.id}/events", headers={"origin": EVIL, "access-control-request-method": "POST"})),
    (404, "unknown_project", lambda http, shop, other: http.options(
        "/api/987654/events", headers={"origin": EVIL, "access-control-request-method": "POST"})),
    (401, "missing_key", lambda http, shop, other: http.post(
        f"/api/{shop.id}/envelope/", content=fresh_sentry_envelope("thrown_error"),
        headers={"content-type": "text/plain;charset=UTF-8", "origin": SHOP_ORIGIN})),
    (403, "origin_not_allowed", lambda http, shop, other: http.post(
        f"/api/{shop.id}/envelope/?sentry_key={shop.key}", content=fresh_sentry_envelope("thrown_error"),
        headers={"content-type": "text/plain;charset=UTF-8", "origin": EVIL})),
], ids=lambda value: value if isinstance(value, (int, str)) else None)
def test_every_refusal_to_a_browser_is_readable_by_the_page(http, shop_project, open_project, status, reason, ask):
    answer = ask(http, shop_project, open_project)
    assert (answer.status_code, answer.json()["error"]) == (status, reason)
    assert_readable_by(answer, answer.request.headers["origin"])


def test_cors_preflight(http, shop_project):
    answer = http.options(f"/api/{shop_project.id}/events", headers={
        "origin": SHOP_ORIGIN, "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-vigil-key"})
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert "POST" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed and "x-vigil-key" in allowed
    assert int(answer.headers["access-control-max-age"]) > 0
    refused = http.options(f"/api/{shop_project.id}/events", headers={
        "origin": "https://evil.example.com", "access-control-request-method": "POST"})
    assert refused.status_code == 403


def test_wrong_method_and_unknown_path(http, open_project):
    answer = http.get(f"/api/{open_project.id}/events")
    assert answer.status_code == 405
    assert "POST" in answer.headers["allow"]
    assert http.get("/api/shop/events").status_code == 404
    assert http.get("/").json()["error"] == "not_found"


def test_a_just_created_project_works_at_once(http, warehouse):
    project = projects.create(warehouse, f"collector-new-{uuid.uuid4().hex[:6]}")
    answer = post(http, project, page_view())
    assert answer.status_code == 202, answer.text


def test_health_reports_kafka(http, topic):
    answer = http.get("/healthz")
    assert answer.status_code == 200
    health = answer.json()
    assert health["kafka"]["topic"] == topic and health["kafka"]["partitions"] == 2
    assert health["kafka"]["brokers"] == 1
    assert health["projects"]["loaded"] is True


# ── the other transports ───────────────────────────────────────────────────────────────


def test_pixel_delivers_and_answers_a_gif(http, open_project, reader):
    body = page_view()
    mark = reader.mark()
    answer = http.get(f"/api/{open_project.id}/pixel.gif?key={open_project.key}&d={quote(body.decode())}")
    assert answer.status_code == 202
    assert answer.headers["content-type"] == "image/gif" and answer.content.startswith(b"GIF89a")
    [(_, event)] = reader.read_since(mark, 1)
    assert assert_stamped(event, open_project.id) == expected_events(body)[0]


def test_pixel_errors_keep_their_status(http, open_project):
    assert http.get(f"/api/{open_project.id}/pixel.gif?key=wrong&d=%7B%7D").status_code == 403
    answer = http.get(f"/api/{open_project.id}/pixel.gif?key={open_project.key}&d=%7Bnot-json")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_json")
    answer = http.get(f"/api/{open_project.id}/pixel.gif?key={open_project.key}")
    assert (answer.status_code, answer.json()["path"]) == (400, "d")


def test_websocket_answers_each_envelope(collector, open_project, reader):
    body = now_body(next(v for v in VALID if v.name == "mixed_batch"))
    count = len(json.loads(body)["events"])
    mark = reader.mark()
    url = f"ws://127.0.0.1:{collector.port}/api/{open_project.id}/ws?key={open_project.key}"
    with websocket_connect(url, user_agent_header=USER_AGENT) as socket:
        socket.send(body.decode())
        assert json.loads(socket.recv(timeout=15)) == {"status": 202, "accepted": count, "rejected": []}
        socket.send("{broken")
        reply = json.loads(socket.recv(timeout=15))
        assert (reply["status"], reply["error"]) == (400, "invalid_json")
        socket.send(page_view())  # binary frames are envelopes too
        assert json.loads(socket.recv(timeout=15))["status"] == 202
    produced = reader.read_since(mark, count + 1)
    assert {e["event_id"] for _, e in produced} == {e["event_id"] for e in expected_events(body)} | {
        expected_events(page_view())[0]["event_id"]}


def test_websocket_handshake_checks_key_and_origin(collector, open_project, shop_project):
    base = f"ws://127.0.0.1:{collector.port}/api"
    with pytest.raises(InvalidStatus) as caught:
        websocket_connect(f"{base}/{open_project.id}/ws?key=wrong").close()
    assert caught.value.response.status_code == 403
    assert json.loads(caught.value.response.body)["error"] == "wrong_key"
    with pytest.raises(InvalidStatus) as caught:
        websocket_connect(f"{base}/{shop_project.id}/ws?key={shop_project.key}", origin="https://evil.example.com").close()
    assert json.loads(caught.value.response.body)["error"] == "origin_not_allowed"
    with websocket_connect(f"{base}/{shop_project.id}/ws?key={shop_project.key}", origin=SHOP_ORIGIN):
        pass


# ── rate limits ────────────────────────────────────────────────────────────────────────


def envelope_of(count: int) -> bytes:
    envelope = json.loads(page_view())
    event = envelope["events"][0]
    envelope["events"] = [{**event, "event_id": f"{event['event_id'][:16]}{i:08d}"} for i in range(count)]
    return orjson.dumps(envelope)


def test_rate_limits_per_client_ip_and_per_key(base_env, open_project, tmp_path, reader):
    # 127.0.0.1 is a trusted proxy here, so X-Forwarded-For names the client: several
    # "clients" from one test. Buckets hold 100 s of burst: 20 events per IP, 50 per key,
    # refilling so slowly (0.2 and 0.5 events/s) that the test's own duration doesn't matter.
    # Requests and bytes cost nothing here, so the buckets count events alone, and 429s are
    # answered at once, so no time passes but the test's own (costs and the delay:
    # tests/integration/test_collector_abuse.py).
    env = {**base_env, "VIGIL_RATE_LIMIT_PER_IP": "0.2", "VIGIL_RATE_LIMIT_PER_KEY": "0.5",
           "VIGIL_RATE_LIMIT_BURST_SECONDS": "100", "VIGIL_TRUSTED_PROXIES": "127.0.0.1",
           "VIGIL_RATE_LIMIT_REQUEST_COST": "0", "VIGIL_RATE_LIMIT_KIB_COST": "0", "VIGIL_RATE_LIMIT_DELAY": "0"}
    limited = CollectorProcess(env, tmp_path / "collector.log").start()
    try:
        with httpx.Client(base_url=limited.url, headers={"user-agent": USER_AGENT}, timeout=30) as http:
            def send(ip: str, count: int) -> httpx.Response:
                return post(http, open_project, envelope_of(count), headers={"x-forwarded-for": ip})

            mark = reader.mark()
            assert send("203.0.113.1", 20).status_code == 202
            over_ip = post(http, open_project, envelope_of(1), headers={"x-forwarded-for": "203.0.113.1",
                                                                        "origin": SHOP_ORIGIN})
            assert over_ip.status_code == 429
            assert over_ip.json()["error"] == "rate_limited" and int(over_ip.headers["retry-after"]) >= 1
            assert_readable_by(over_ip, SHOP_ORIGIN)
            assert send("203.0.113.2", 20).status_code == 202  # another client, its own bucket
            assert send("203.0.113.3", 10).status_code == 202  # the key has now spent its 50
            over_key = send("203.0.113.4", 1)  # a fresh address, but the key's bucket is empty
            assert over_key.status_code == 429 and over_key.json()["error"] == "rate_limited"
            produced = reader.read_since(mark, 50)
            assert {e["client"]["ip"] for _, e in produced} == {"203.0.113.1", "203.0.113.2", "203.0.113.3"}
            wait = int(over_key.headers["retry-after"])
            assert wait == 2  # one event at 0.5 events/s
            time.sleep(wait)
            assert send("203.0.113.4", 1).status_code == 202
    finally:
        limited.stop()


# ── the warehouse or Kafka unavailable ─────────────────────────────────────────────────


def test_without_clickhouse_the_collector_answers_503_not_500(base_env, open_project, tmp_path):
    env = {**base_env, "VIGIL_CLICKHOUSE_URL": f"http://127.0.0.1:{free_ports(1)[0]}"}
    blind = CollectorProcess(env, tmp_path / "collector.log").start(healthy=False)
    try:
        answer = post(httpx.Client(base_url=blind.url), open_project, page_view(), headers={"origin": SHOP_ORIGIN})
        assert answer.status_code == 503
        assert answer.json()["error"] == "projects_unavailable" and answer.headers["retry-after"]
        assert_readable_by(answer, SHOP_ORIGIN)  # the SDK reads Retry-After and waits that long
        health = httpx.get(f"{blind.url}/healthz")
        assert health.status_code == 503 and health.json()["projects"]["loaded"] is False
    finally:
        blind.stop()


@pytest.fixture
def own_broker(tmp_path):
    """A broker of this test's own: the test stops and restarts it."""
    broker = KafkaBroker(tmp_path / "kafka")
    broker.start()
    yield broker
    broker.close()


def test_kafka_down_means_503_and_the_collector_recovers_by_itself(own_broker, clickhouse, open_project, tmp_path):
    env = {**clickhouse.env, "VIGIL_KAFKA_BROKERS": own_broker.bootstrap, "VIGIL_KAFKA_ACK_TIMEOUT": "2",
           "VIGIL_PROJECTS_REFRESH": "60"}
    process = CollectorProcess(env, tmp_path / "collector.log").start()
    accepted_ids: set[str] = set()
    try:
        with httpx.Client(base_url=process.url, headers={"user-agent": USER_AGENT}, timeout=30) as http:
            def send() -> httpx.Response:
                body = page_view()
                answer = post(http, open_project, body)
                if answer.status_code == 202:
                    accepted_ids.add(json.loads(body)["events"][0]["event_id"])
                return answer

            assert send().status_code == 202

            own_broker.stop()
            outage = [send() for _ in range(3)]
            assert [a.status_code for a in outage] == [503, 503, 503]  # never 2xx without Kafka's ack
            for answer in outage:
                assert answer.json()["error"] in ("kafka_timeout", "kafka_unavailable")
                assert int(answer.headers["retry-after"]) >= 1
            assert http.get("/healthz").status_code == 503
            sentry_outage = post_sentry(http, open_project, fresh_sentry_envelope("thrown_error"))
            assert sentry_outage.status_code == 503 and int(sentry_outage.headers["retry-after"]) >= 1
            assert sentry_outage.json()["error"] in ("kafka_timeout", "kafka_unavailable")

            own_broker.start()  # same port, same data; the collector is not restarted
            deadline = time.monotonic() + 60
            statuses = []
            while time.monotonic() < deadline:
                statuses.append(send().status_code)
                if statuses[-1] == 202:
                    break
                time.sleep(0.5)
            assert statuses[-1] == 202, f"no recovery within 60 s: {statuses}\n{process.log_tail()}"
            assert set(statuses) <= {202, 503}
            assert http.get("/healthz").status_code == 200
            assert all(send().status_code == 202 for _ in range(5))
    finally:
        process.stop()

    # every event the collector acknowledged is in the log
    reader = TopicReader(own_broker.bootstrap, "vigil.events")
    try:
        produced = reader.read_since({p: 0 for p in reader.partitions}, reader.count_since({p: 0 for p in reader.partitions}))
        assert accepted_ids <= {event["event_id"] for _, event in produced}
    finally:
        reader.close()
