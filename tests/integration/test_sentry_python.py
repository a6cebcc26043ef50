"""Python's official ``sentry-sdk``, with ``brotli`` importable (so it compresses with ``br``),
pointed at a real ``vigil collect`` on the real Kafka broker by nothing but its DSN, with a real
``vigil process`` writing to the real ClickHouse: a Starlette app's unhandled exception chain
(``raise … from …``, then another raised while handling it), a message with a level, a
``logging`` error and a transaction (and the request's own). The three errors are stored as a backend's — kind
``backend``, platform ``python``, their level, logger, server name and transaction, the
request's URL, no browser — the chain with every exception and its frames in Sentry's order;
the transactions — server-side tracing, which Vigil does not store — are refused by name and
counted in ``refusals_minute``; no request is answered 415.

``VIGIL_SENTRY_PYTHON_MATRIX=<file>`` writes docs/sentry.md's Python rows from what was sent and
stored (:mod:`tests.support.sentry_python_matrix`)."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import brotli  # noqa: F401  (imported for its side effect on the SDK: br compression)
import orjson
import pytest
import sentry_sdk
from sentry_sdk.integrations.logging import LoggingIntegration
from sentry_sdk.transport import HttpTransport
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from pipeline import projects
from pipeline.broker.topics import ensure_topics
from tests.integration.test_collector import CollectorProcess
from tests.support import processes, sentry_python_matrix

pytestmark = pytest.mark.integration

COLUMNS = ("error_kind", "error_type", "error_message", "platform", "level", "logger", "server_name", "transaction",
           "url", "path", "release", "environment", "browser", "browser_version", "os", "os_version", "device",
           "sdk_name", "data")
CHAIN = "payment aborted"
MESSAGE = "the stock import is slow"
LOGGED = "payment provider answered 502"


class RecordingTransport(HttpTransport):
    """The SDK's own HTTP transport, noting each request's Content-Encoding, body and answer."""

    sent: list[tuple[str | None, int, bytes, bytes]] = []

    def _request(self, method, endpoint_type, body, headers):
        response = super()._request(method, endpoint_type, body, headers)
        self.sent.append((headers.get("Content-Encoding"), response.status, response.data, body))
        return response


@pytest.fixture
def stack(kafka, clickhouse, tmp_path):
    run = uuid.uuid4().hex[:8]
    topics = {"VIGIL_EVENTS_TOPIC": f"sentry-python-{run}", "VIGIL_DLQ_TOPIC": f"sentry-python-{run}-dlq"}
    ensure_topics(kafka.bootstrap, {topics["VIGIL_EVENTS_TOPIC"]: 1, topics["VIGIL_DLQ_TOPIC"]: 1})
    env = {**clickhouse.env, **topics, "VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_REFUSALS_FLUSH": "0.5",
           "VIGIL_RATE_LIMIT_PER_IP": "0", "VIGIL_RATE_LIMIT_PER_KEY": "0", "VIGIL_DATA_DIR": str(tmp_path / "vigil"),
           "VIGIL_PROCESSOR_GROUP": f"sentry-python-{run}", "VIGIL_PROCESSOR_COMMIT_INTERVAL": "0.5"}
    collector = CollectorProcess(env, tmp_path / "collector.log").start()
    processor = processes.VigilProcess(["process"], env, tmp_path / "processor.log").start()
    yield collector, processor
    processor.stop()
    collector.stop()


def load_total(cart: dict) -> float:
    return cart["total"]


def checkout(cart: dict) -> float:
    try:
        return load_total(cart)
    except KeyError as error:
        raise RuntimeError("checkout failed: the cart has no total") from error


async def pay(request):
    try:
        checkout({})
    except RuntimeError:
        raise ValueError(CHAIN)  # noqa: B904 — raised while handling: Python's implicit __context__


def shop() -> Starlette:
    """A web app with one failing route; sentry-sdk's Starlette integration reports its error."""
    return Starlette(routes=[Route("/carts/{cart_id}/pay", pay, methods=["POST"])])


def send_everything(dsn: str) -> None:
    RecordingTransport.sent = []
    sentry_sdk.init(dsn=dsn, transport=RecordingTransport, release="api@1.2.3", environment="test",
                    server_name="web-1", traces_sample_rate=1.0,
                    integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)])
    try:
        with TestClient(shop(), raise_server_exceptions=False) as client:
            assert client.post("/carts/7/pay?coupon=spring").status_code == 500
        sentry_sdk.capture_message(MESSAGE, level="warning")
        logging.getLogger("shop.payments").error("payment provider answered %s", 502)
        with sentry_sdk.start_transaction(op="task", name="nightly-import"):
            with sentry_sdk.start_span(op="db", name="SELECT 1"):
                time.sleep(0.01)
        sentry_sdk.flush(timeout=15)
    finally:
        sentry_sdk.get_client().close(timeout=5)
        sentry_sdk.init()  # no DSN: the rest of the session sends nothing


def stored_rows(client, project_id: int, count: int) -> dict[str, dict]:
    query = (f"SELECT {', '.join(COLUMNS)} FROM events FINAL WHERE project_id = {{p:UInt32}} AND type = 'error' "
             "ORDER BY timestamp")
    deadline = time.monotonic() + 60
    while len(rows := client.query(query, parameters={"p": project_id}).result_rows) < count:
        assert time.monotonic() < deadline, rows
        time.sleep(0.5)
    stored = [dict(zip(COLUMNS, row)) for row in rows]
    for row in stored:
        row["data"] = orjson.loads(row["data"])
    return {row["error_message"]: row for row in stored}


def test_python_sentry_sdk_errors_are_stored_as_a_backends_and_its_transaction_is_refused(stack, clickhouse):
    collector, processor = stack
    client = clickhouse.client()
    project = projects.create(client, f"sentry-python-{uuid.uuid4().hex[:6]}")
    send_everything(f"http://{project.key}@127.0.0.1:{collector.port}/{project.id}")

    sent = RecordingTransport.sent
    assert sent and {encoding for encoding, _, _, _ in sent} == {"br"}, sent  # brotli is importable: the SDK sends br
    assert all(status in (200, 422) for _, status, _, _ in sent), sent  # never 415, nor anything else
    refused = [body for _, status, body, _ in sent if status == 422]  # the request's transaction and the task's
    assert len(refused) == 2 and all(b'"reason":"unsupported_item"' in body for body in refused), sent
    assert any(b"nightly-import" in body for body in refused) and any(b"/carts/{cart_id}/pay" in body for body in refused)

    rows = stored_rows(client, project.id, 3)
    assert set(rows) == {CHAIN, MESSAGE, LOGGED}, processor.log_tail()
    for row in rows.values():  # a server's errors: no browser, the SDK's platform, release and environment
        assert (row["error_kind"], row["platform"], row["release"], row["environment"]) == (
            "backend", "python", "api@1.2.3", "test")
        assert (row["browser"], row["browser_version"], row["os"], row["os_version"], row["device"]) == ("",) * 5
        assert row["server_name"] == "web-1" and row["sdk_name"].startswith("sentry.python")

    chained = rows[CHAIN]
    assert (chained["error_type"], chained["level"], chained["logger"]) == ("ValueError", "error", "")
    assert (chained["transaction"], chained["url"], chained["path"]) == (
        "/carts/{cart_id}/pay", "http://testserver/carts/7/pay", "/carts/:id/pay")  # the query is apart
    data = chained["data"]
    assert data["handled"] is False and data["runtime"].startswith("CPython ")
    assert [(e["type"], e["message"]) for e in data["exceptions"]] == [
        ("KeyError", "'total'"), ("RuntimeError", "checkout failed: the cart has no total"), ("ValueError", CHAIN)]
    functions = [[f["function"] for f in e["frames"]] for e in data["exceptions"]]
    assert functions[0][:2] == ["load_total", "checkout"] and functions[1][:2] == ["checkout", "pay"]
    assert functions[2][0] == "pay" and data["frames"] == data["exceptions"][-1]["frames"]

    message = rows[MESSAGE]
    assert (message["error_type"], message["level"], message["logger"], message["transaction"]) == (
        "Message", "warning", "", "")
    logged = rows[LOGGED]
    assert (logged["error_type"], logged["level"], logged["logger"]) == ("Message", "error", "shop.payments")
    assert "exceptions" not in message["data"] and "exceptions" not in logged["data"]

    query = ("SELECT transport, reason, unit, sum(refusals) FROM refusals_minute WHERE project_id = {id:UInt64} "
             "GROUP BY transport, reason, unit")
    deadline = time.monotonic() + 30
    while not (counted := client.query(query, parameters={"id": project.id}).result_rows) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert sorted(counted) == [("sentry_envelope", "no_valid_events", "request", 2),
                               ("sentry_envelope", "unsupported_item", "event", 2)], counted

    measured = sentry_python_matrix.measure([body for _, _, _, body in sent], [
        {**row, "type": "error"} for row in rows.values()])
    assert measured["stored"] == {"error": 3} and measured["refused"] == {"transaction": 2}
    if os.environ.get("VIGIL_SENTRY_PYTHON_MATRIX"):
        Path(os.environ["VIGIL_SENTRY_PYTHON_MATRIX"]).write_text(sentry_python_matrix.table(measured))
    client.close()
