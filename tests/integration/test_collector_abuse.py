"""Abuse never costs another client its service: ``vigil collect`` over real sockets, against
the real Kafka broker and the embedded ClickHouse.

- a flood of requests that are each refused anyway (invalid JSON) from one address is
  answered 429 + Retry-After within the burst its cost buys, while another address is served;
- an oversized request line or header block is refused at once (414 / 431), and headers or
  bodies that trickle in (slowloris) are cut off after their timeout (408), while a normal
  client keeps being served;
- keys in URLs (``?key=``, ``?sentry_key=``) never reach the log.

Client addresses are distinct loopback addresses (all of 127.0.0.0/8 is loopback), so the
collector sees them as different peers without trusting any proxy header.
"""

from __future__ import annotations

import socket
import time
import uuid

import httpx
import pytest
from websockets.sync.client import connect as websocket_connect

from pipeline.warehouse import projects
from pipeline.broker.topics import ensure_topics
from tests.integration.test_collector import USER_AGENT, CollectorProcess, page_view, post

pytestmark = pytest.mark.integration

# per client IP: 2,000 units/s (the default), 2 s of burst; a request costs 10 units
PER_IP = 2000
BURST_S = 2
REQUEST_COST = 10
HEADER_TIMEOUT_S = 2
BODY_TIMEOUT_S = 1
BODY_MIN_RATE = 1000  # bytes/s


@pytest.fixture(scope="module")
def project(clickhouse) -> projects.Project:
    client = clickhouse.client()
    try:
        return projects.create(client, f"abuse-{uuid.uuid4().hex[:6]}")
    finally:
        client.close()


@pytest.fixture(scope="module")
def collector(kafka, clickhouse, project, tmp_path_factory):
    topic = f"abuse-test-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka.bootstrap, {topic: 1})
    env = {**clickhouse.env, "VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_EVENTS_TOPIC": topic,
           "VIGIL_PROJECTS_REFRESH": "60", "VIGIL_RATE_LIMIT_PER_IP": str(PER_IP),
           "VIGIL_RATE_LIMIT_BURST_SECONDS": str(BURST_S), "VIGIL_RATE_LIMIT_REQUEST_COST": str(REQUEST_COST),
           "VIGIL_HEADER_TIMEOUT": str(HEADER_TIMEOUT_S), "VIGIL_BODY_TIMEOUT": str(BODY_TIMEOUT_S),
           "VIGIL_BODY_MIN_RATE": str(BODY_MIN_RATE), "VIGIL_ACCESS_LOG": "1"}
    process = CollectorProcess(env, tmp_path_factory.mktemp("abuse") / "collector.log").start()
    yield process
    process.stop()


def client_from(collector: CollectorProcess, address: str) -> httpx.Client:
    """An HTTP client whose connections come from ``address`` (a loopback address of its own)."""
    return httpx.Client(base_url=collector.url, headers={"user-agent": USER_AGENT}, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))


def raw_exchange(collector: CollectorProcess, data: bytes, timeout: float = 10.0) -> tuple[bytes, float]:
    """Send ``data`` on a fresh socket, read until the server closes; (what it answered, seconds taken)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", collector.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it read everything: the answer is still there to read
        return read_to_close(sock), time.monotonic() - started


def read_to_close(sock: socket.socket) -> bytes:
    answer = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return answer
        if not chunk:
            return answer
        answer += chunk


# ── item 9: cost-based rate limits ─────────────────────────────────────────────────────


def test_a_flood_of_invalid_json_from_one_address_gets_429_while_another_is_served(collector, project):
    with client_from(collector, "127.0.0.2") as flooder, client_from(collector, "127.0.0.3") as other:
        started = time.monotonic()
        statuses: list[int] = []
        answer = None
        while time.monotonic() - started < 20 and (answer is None or answer.status_code != 429):
            answer = post(flooder, project, b'{"version": 1, "events": [')
            statuses.append(answer.status_code)
        elapsed = time.monotonic() - started
        assert statuses[-1] == 429, f"{len(statuses)} invalid-JSON requests in {elapsed:.1f}s and no 429"
        assert set(statuses[:-1]) == {400}
        # the burst buys PER_IP * BURST_S / REQUEST_COST requests, plus what refilled meanwhile
        assert len(statuses) <= PER_IP * BURST_S / REQUEST_COST + PER_IP / REQUEST_COST * elapsed + 1
        assert answer.json()["error"] == "rate_limited" and int(answer.headers["retry-after"]) >= 1
        # the 429 was held back (VIGIL_RATE_LIMIT_DELAY, 1 s at most its Retry-After): a tight loop slows down
        assert answer.elapsed.total_seconds() >= 0.9
        served = post(other, project, page_view())
        assert served.status_code == 202, served.text


def test_websocket_messages_each_cost_a_request(collector, project):
    url = collector.url.replace("http://", "ws://")
    answers = []
    with websocket_connect(f"{url}/api/{project.id}/ws?key={project.key}",
                           additional_headers={"user-agent": USER_AGENT}) as ws:
        for _ in range(int(PER_IP * BURST_S / REQUEST_COST) * 3):
            ws.send('{"version": 1, "events": [')
            answers.append(ws.recv(timeout=10))
            if '"status":429' in answers[-1]:
                break
    assert '"status":429' in answers[-1] and '"retry_after"' in answers[-1]
    assert all('"status":400' in answer for answer in answers[:-1])


# ── item 10: request line and header caps, read timeouts ───────────────────────────────


def test_an_oversized_url_is_414_at_once(collector, project):
    path = f"/api/{project.id}/pixel.gif?key={project.key}&d=" + "x" * (4 * 1024 * 1024)
    answer, seconds = raw_exchange(collector, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 414 "), answer[:200]
    assert b'"error":"uri_too_long"' in answer
    assert seconds < 2


def test_oversized_headers_are_431_at_once(collector, project):
    head = (f"POST /api/{project.id}/events HTTP/1.1\r\nHost: x\r\nX-Big: {'y' * (4 * 1024 * 1024)}\r\n"
            "Content-Length: 2\r\n\r\n{}")
    answer, seconds = raw_exchange(collector, head.encode())
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"error":"headers_too_large"' in answer
    assert seconds < 2
    many = "".join(f"X-Header-{i}: {'z' * 100}\r\n" for i in range(400))  # 40 KB of small headers
    answer, _ = raw_exchange(collector, f"GET /healthz HTTP/1.1\r\nHost: x\r\n{many}\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def trickle(sock: socket.socket, data: bytes, every: float, seconds: float) -> float:
    """Send ``data`` a byte at a time every ``every`` s until the server closes; seconds it took."""
    started = time.monotonic()
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(every)
        if time.monotonic() - started > seconds:
            break
    return time.monotonic() - started


def test_slow_headers_are_cut_off_while_others_are_served(collector, project):
    head = f"POST /api/{project.id}/events HTTP/1.1\r\nHost: x\r\nX-Slow: {'s' * 100}\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", collector.port), timeout=15) as sock, \
            client_from(collector, "127.0.0.4") as other:
        sock.setblocking(True)
        started = time.monotonic()
        for byte in head[:HEADER_TIMEOUT_S * 3 * 4]:  # 4 bytes a second for three times the timeout
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            if time.monotonic() - started < HEADER_TIMEOUT_S:  # meanwhile, a normal client
                assert post(other, project, page_view()).status_code == 202
            time.sleep(0.25)
        answer = read_to_close(sock)
        closed_after = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b'"error":"request_timeout"' in answer
    assert HEADER_TIMEOUT_S - 0.5 < closed_after < HEADER_TIMEOUT_S * 3 + 1


def test_a_connection_that_sends_nothing_is_closed_after_the_header_timeout(collector):
    with socket.create_connection(("127.0.0.1", collector.port), timeout=15) as sock:
        started = time.monotonic()
        answer = read_to_close(sock)
        assert HEADER_TIMEOUT_S - 0.5 < time.monotonic() - started < HEADER_TIMEOUT_S + 3
    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_slow_body_is_cut_off_while_others_are_served(collector, project):
    size = 2000  # may take BODY_TIMEOUT_S + size / BODY_MIN_RATE = 3 s
    head = (f"POST /api/{project.id}/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"X-Vigil-Key: {project.key}\r\nContent-Length: {size}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", collector.port), timeout=15) as sock, \
            client_from(collector, "127.0.0.5") as other:
        sock.sendall(head)
        started = time.monotonic()
        while time.monotonic() - started < 8:
            try:
                sock.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                break
            assert post(other, project, page_view()).status_code == 202
            time.sleep(0.5)
            sock.settimeout(0.01)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break  # answered
            except (socket.timeout, BlockingIOError):
                pass
            finally:
                sock.settimeout(15)
        answer = read_to_close(sock)
        closed_after = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert 2 < closed_after < 5


# ── item 13: keys never reach the log ──────────────────────────────────────────────────


def test_keys_in_urls_never_reach_the_log(collector, project):
    url = collector.url.replace("http://", "ws://")
    with websocket_connect(f"{url}/api/{project.id}/ws?key={project.key}&v=1") as ws:
        ws.send(page_view().decode())
        assert '"status":202' in ws.recv(timeout=10)
    with client_from(collector, "127.0.0.6") as http:
        answer = http.post(f"/api/{project.id}/store/?sentry_key={project.key}&sentry_version=7",
                           content=b'{"message": "hello"}', headers={"content-type": "application/json"})
        assert answer.status_code < 500
        time.sleep(0.5)  # the log line is written as the answer goes out
    log = collector.log_file.read_text(errors="replace")
    assert f"/api/{project.id}/ws?key=***&v=1" in log  # uvicorn's WebSocket line, masked
    assert f"/api/{project.id}/store/?sentry_key=***&sentry_version=7" in log  # the access log, masked
    assert project.key not in log
