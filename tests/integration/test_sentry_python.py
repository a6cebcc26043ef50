"""Python's official ``sentry-sdk``, with ``brotli`` importable (so it compresses with ``br``),
pointed at a real ``vigil collect`` on the real Kafka broker by nothing but its DSN: an
exception chain, a message with a level, a ``logging`` error and a transaction. The errors
are on the topic; the transaction — server-side tracing, which Vigil does not store — is
refused by name and counted in ``refusals_minute``; no request is answered 415."""

from __future__ import annotations

import logging
import time
import uuid

import brotli  # noqa: F401  (imported for its side effect on the SDK: br compression)
import pytest
import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.transport import HttpTransport

from pipeline.warehouse import projects
from pipeline.broker.topics import ensure_topics
from tests.integration.test_collector import CollectorProcess, TopicReader

pytestmark = pytest.mark.integration


class RecordingTransport(HttpTransport):
    """The SDK's own HTTP transport, noting each request's Content-Encoding and each answer."""

    sent: list[tuple[str | None, int, bytes]] = []

    def _request(self, method, endpoint_type, body, headers):
        response = super()._request(method, endpoint_type, body, headers)
        self.sent.append((headers.get("Content-Encoding"), response.status, response.data))
        return response


@pytest.fixture
def collector(kafka, clickhouse, tmp_path):
    topic = f"sentry-python-{uuid.uuid4().hex[:8]}"
    ensure_topics(kafka.bootstrap, {topic: 1})
    process = CollectorProcess({**clickhouse.env, "VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_EVENTS_TOPIC": topic,
                                "VIGIL_REFUSALS_FLUSH": "0.5", "VIGIL_RATE_LIMIT_PER_IP": "0",
                                "VIGIL_RATE_LIMIT_PER_KEY": "0"}, tmp_path / "collector.log").start()
    reader = TopicReader(kafka.bootstrap, topic)
    yield process, reader
    reader.close()
    process.stop()


def checkout(cart: dict) -> None:
    try:
        cart["total"]
    except KeyError as error:
        raise RuntimeError("checkout failed: the cart has no total") from error


def test_python_sentry_sdk_errors_arrive_and_its_transaction_is_refused_and_counted(collector, clickhouse):
    process, reader = collector
    client = clickhouse.client()
    project = projects.create(client, f"sentry-python-{uuid.uuid4().hex[:6]}")
    mark = reader.mark()
    RecordingTransport.sent = []
    sentry_sdk.init(dsn=f"http://{project.key}@127.0.0.1:{process.port}/{project.id}", transport=RecordingTransport,
                    release="api@1.2.3", environment="test", traces_sample_rate=1.0,
                    integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)])
    try:
        try:
            checkout({})
        except RuntimeError:
            sentry_sdk.capture_exception()
        sentry_sdk.capture_message("the stock import is slow", level="warning")
        logging.getLogger("shop.payments").error("payment provider answered %s", 502)
        with sentry_sdk.start_transaction(op="task", name="nightly-import"):
            with sentry_sdk.start_span(op="db", name="SELECT 1"):
                time.sleep(0.01)
        sentry_sdk.flush(timeout=15)
    finally:
        sentry_sdk.get_client().close(timeout=5)
        sentry_sdk.init()  # no DSN: the rest of the session sends nothing

    sent = RecordingTransport.sent
    assert sent and {encoding for encoding, _, _ in sent} == {"br"}, sent  # brotli is importable: the SDK sends br
    assert all(status in (200, 422) for _, status, _ in sent), sent  # never 415, nor anything else
    refused = [body for _, status, body in sent if status == 422]
    assert len(refused) == 1 and b'"reason":"unsupported_item"' in refused[0] and b"nightly-import" in refused[0], sent

    events = {event["data"]["message"]: event for _, event in reader.read_since(mark, 3)}
    assert set(events) == {"checkout failed: the cart has no total", "the stock import is slow",
                           "payment provider answered 502"}, events
    chained = events["checkout failed: the cart has no total"]
    assert (chained["type"], chained["data"]["type"], chained["release"]) == ("error", "RuntimeError", "api@1.2.3")
    assert any(frame["function"] == "checkout" for frame in chained["data"]["frames"])
    assert {events[m]["data"]["type"] for m in ("the stock import is slow", "payment provider answered 502")} == {"Message"}
    assert reader.count_since(mark) == 3  # the transaction put nothing on the topic

    query = ("SELECT transport, reason, unit, sum(refusals) FROM refusals_minute WHERE project_id = {id:UInt64} "
             "GROUP BY transport, reason, unit")
    deadline = time.monotonic() + 30
    while not (rows := client.query(query, parameters={"id": project.id}).result_rows) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert sorted(rows) == [("sentry_envelope", "no_valid_events", "request", 1),
                            ("sentry_envelope", "unsupported_item", "event", 1)], rows
    client.close()
