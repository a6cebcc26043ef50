"""The containers' healthchecks (pipeline/commands/healthcheck.py) tell healthy from unhealthy, checked
against a real HTTP server and a real Kafka broker's consumer groups."""

from __future__ import annotations

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from confluent_kafka import Consumer

from pipeline.commands import healthcheck

pytestmark = pytest.mark.integration


class Answers(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_is_healthy_only_on_200(http_server):
    assert healthcheck.check_http(f"{http_server}/healthz") is None
    assert "answered 503" in healthcheck.check_http(f"{http_server}/starting")


def test_http_without_a_server_is_unhealthy(http_server):
    from tests.support.clickhouse import free_port

    assert "did not answer" in healthcheck.check_http(f"http://127.0.0.1:{free_port()}/healthz")


def test_the_command_line_exits_zero_only_when_healthy(http_server):
    assert healthcheck.main(["http", f"{http_server}/healthz"]) == 0
    assert healthcheck.main(["http", f"{http_server}/nope"]) == 1
    assert healthcheck.main(["nonsense"]) == 2


def test_a_consumer_group_is_healthy_while_a_member_is_in_it(kafka):
    group = f"healthcheck-{uuid.uuid4().hex[:8]}"
    assert healthcheck.check_consumer_group(kafka.bootstrap, group) is not None, "nobody joined yet"
    consumer = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe(["vigil.events"])
    try:
        deadline = time.monotonic() + 30
        while not consumer.assignment():
            assert time.monotonic() < deadline, "the consumer never got partitions"
            consumer.poll(0.2)
        assert healthcheck.check_consumer_group(kafka.bootstrap, group) is None
    finally:
        consumer.close()
    assert "EMPTY" in healthcheck.check_consumer_group(kafka.bootstrap, group)


def test_consumer_group_signals_checks_the_signals_group_not_the_processors(kafka, monkeypatch, capsys):
    processor, signals = f"healthcheck-processor-{uuid.uuid4().hex[:8]}", f"healthcheck-signals-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("VIGIL_KAFKA_BROKERS", kafka.bootstrap)
    monkeypatch.setenv("VIGIL_PROCESSOR_GROUP", processor)
    monkeypatch.setenv("VIGIL_SIGNALS_GROUP", signals)
    assert healthcheck.main(["consumer-group", "signals"]) == 1
    assert f"consumer group {signals!r}" in capsys.readouterr().err
    assert healthcheck.main(["consumer-group"]) == 1
    assert f"consumer group {processor!r}" in capsys.readouterr().err
