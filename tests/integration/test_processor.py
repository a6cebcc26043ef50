"""The processor on a real Kafka broker and a real ClickHouse, run as ``vigil process``.

Every test gives its processor its own topics, consumer group and project id, so the
shared session services serve them all; the counts are ``FROM events FINAL`` — what every
query in Vigil sees.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

import orjson
import pytest
from confluent_kafka import Consumer, Producer

from pipeline.broker.topics import ensure_topics
from pipeline.settings import REPO_ROOT
from pipeline.warehouse.migrator import apply_migrations
from tests.support.clickhouse import ClickHouseServer

pytestmark = pytest.mark.integration

UA = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"


# ── traffic ─────────────────────────────────────────────────────────────────────────────


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def valid_event(index: int, project_id: int, run: str) -> dict:
    """One event of a rotating type, stamped as the collector stamps it."""
    now = datetime.now(timezone.utc)
    session = f"s-{run}-{index // 10:06d}"
    event = {
        "event_id": f"e-{run}-{index:07d}",
        "timestamp": iso(now - timedelta(seconds=5)),
        "session_id": session,
        "visitor_id": f"v-{run}-{index // 30:06d}",
        "page": {"url": f"https://shop.example.com/products/{index % 50}?ref=test", "title": "Product"},
        "release": "shop@1.0.0",
        "sdk": {"name": "vigil-browser", "version": "0.1.0"},
        "project_id": project_id,
        "received_at": iso(now),
        "client": {"ip": "198.51.100.7", "user_agent": UA},
    }
    kind = index % 5
    if kind == 0:
        event.update(type="page_view", data={"navigation_type": "navigate"})
    elif kind == 1:
        event.update(type="web_vital", data={"name": "LCP", "value": 1200.0 + index % 900, "rating": "good"})
    elif kind == 2:
        event.update(type="api_call", data={"method": "GET", "url": "https://shop.example.com/api/cart",
                                            "status": 200, "duration": 42.5})
    elif kind == 3:
        event.update(type="error", data={"kind": "js", "type": "TypeError", "message": f"x is undefined ({index % 3})"})
    else:
        event.update(type="click", data={"selector": "button#buy", "x": 10, "y": 20})
    return event


def invalid_messages(project_id: int, run: str) -> list[tuple[bytes, bytes, str]]:
    """(key, value, expected reason) for one of each way a message can be refused."""
    good = valid_event(0, project_id, run)
    old = iso(datetime.now(timezone.utc) - timedelta(days=90))
    cases = [
        (b"{not json", "invalid_json"),
        (b"\xff\xfe\x00\x81 not utf-8", "invalid_json"),
        (b"[1, 2, 3]", "not_an_object"),
        (orjson.dumps({**good, "project_id": None}), "missing_project"),
        (orjson.dumps({**good, "project_id": "1"}), "missing_project"),
        (orjson.dumps({**good, "type": "teleport"}), "unknown_value"),
        (orjson.dumps({k: v for k, v in good.items() if k != "session_id"}), "missing_field"),
        (orjson.dumps({**good, "timestamp": old}), "timestamp_out_of_range"),
        (orjson.dumps({**good, "event_id": "bad id with spaces"}), "bad_format"),
        (b'{"a":' * 1500 + b"1" + b"}" * 1500, "too_deep"),
    ]
    return [(f"bad-{run}-{n}".encode(), value, reason) for n, (value, reason) in enumerate(cases)]


def produce(bootstrap: str, topic: str, messages: Iterable[tuple[bytes, bytes]]) -> int:
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 5, "compression.type": "lz4"})
    count = 0
    for key, value in messages:
        while True:
            try:
                producer.produce(topic, value, key=key)
                break
            except BufferError:
                producer.poll(0.05)
        count += 1
    assert producer.flush(30) == 0, "Kafka did not acknowledge every message"
    return count


def valid_messages(project_id: int, run: str, start: int, stop: int) -> list[tuple[bytes, bytes]]:
    events = (valid_event(index, project_id, run) for index in range(start, stop))
    return [(event["session_id"].encode(), orjson.dumps(event)) for event in events]


# ── the processor as a process ──────────────────────────────────────────────────────────


class Processor:
    """``python -m pipeline.commands.cli process`` wired to one test's topics, group and warehouse."""

    def __init__(self, tmp_path: Path, bootstrap: str, clickhouse_url: str, *, batch_size: int = 2000) -> None:
        run = uuid.uuid4().hex[:8]
        self.run = run
        self.events_topic = f"test.events.{run}"
        self.dlq_topic = f"test.dlq.{run}"
        self.log_path = tmp_path / f"processor-{run}.log"
        self.env = dict(
            os.environ,
            VIGIL_KAFKA_BROKERS=bootstrap,
            VIGIL_CLICKHOUSE_URL=clickhouse_url,
            VIGIL_CLICKHOUSE_DATABASE="vigil",
            VIGIL_EVENTS_TOPIC=self.events_topic,
            VIGIL_DLQ_TOPIC=self.dlq_topic,
            VIGIL_PROCESSOR_GROUP=f"test-processor-{run}",
            VIGIL_DATA_DIR=str(tmp_path / "vigil"),
            VIGIL_SINK_BATCH_SIZE=str(batch_size),
            VIGIL_PROCESSOR_COMMIT_INTERVAL="0.5",
            VIGIL_TOPIC_PARTITIONS="4",
            PYTHONUNBUFFERED="1",
        )
        ensure_topics(bootstrap, {self.events_topic: 4, self.dlq_topic: 4})
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline.commands.cli", "process"], cwd=REPO_ROOT, env=self.env,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )

    def kill(self) -> None:
        """SIGKILL: no commit, no flush — a crash."""
        assert self.process is not None and self.process.poll() is None, self.log_tail()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


@pytest.fixture
def make_processor(tmp_path, kafka):
    made: list[Processor] = []

    def make(clickhouse_url: str, **options) -> Processor:
        processor = Processor(tmp_path, kafka.bootstrap, clickhouse_url, **options)
        made.append(processor)
        return processor

    yield make
    for processor in made:
        processor.stop()


def counts(client, project_id: int) -> tuple[int, int]:
    """(rows, distinct event ids) of a project, as every Vigil query sees them (FINAL)."""
    result = client.query(
        "SELECT count(), uniqExact(event_id) FROM events FINAL WHERE project_id = {project:UInt32}",
        parameters={"project": project_id},
    )
    rows, unique = result.result_rows[0]
    return int(rows), int(unique)


def wait_for_rows(client, project_id: int, expected: int, processor: Processor, timeout: float = 90.0) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    seen = (0, 0)
    while time.monotonic() < deadline:
        try:
            seen = counts(client, project_id)
        except Exception:  # noqa: BLE001 - the server may be coming back up
            seen = seen
        if seen[0] >= expected:
            return seen
        assert processor.alive, f"the processor exited:\n{processor.log_tail()}"
        time.sleep(0.25)
    raise AssertionError(f"{seen[0]} of {expected} rows after {timeout:.0f}s:\n{processor.log_tail()}")


def read_dlq(bootstrap: str, topic: str, keys: set[bytes], timeout: float = 60.0) -> dict[bytes, list[dict]]:
    """Every DLQ record by key, until each of ``keys`` was seen (records may repeat: at-least-once)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-dlq-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records: dict[bytes, list[dict]] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and not keys <= records.keys():
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            records.setdefault(message.key(), []).append(orjson.loads(message.value()))
    finally:
        consumer.close()
    missing = keys - records.keys()
    assert not missing, f"no DLQ record for {sorted(missing)}"
    return records


def project_id() -> int:
    return 100_000 + uuid.uuid4().int % 1_000_000_000


# ── the tests ───────────────────────────────────────────────────────────────────────────


def test_valid_events_land_once_and_invalid_ones_reach_the_dlq_with_their_reason(make_processor, kafka, clickhouse):
    project = project_id()
    processor = make_processor(clickhouse.url)
    valid = valid_messages(project, processor.run, 0, 3000)
    duplicates = valid[:500]  # produced twice: an SDK or collector retry
    invalid = invalid_messages(project, processor.run)
    mixed = valid[:1500] + [(key, value) for key, value, _ in invalid] + valid[1500:] + duplicates
    produce(kafka.bootstrap, processor.events_topic, mixed)

    processor.start()
    client = clickhouse.client()
    assert wait_for_rows(client, project, len(valid), processor) == (len(valid), len(valid))

    records = read_dlq(kafka.bootstrap, processor.dlq_topic, {key for key, _, _ in invalid})
    for key, value, reason in invalid:
        record = records[key][0]
        assert record["reason"] == reason, (key, record)
        assert record["step"] and record["message"] and record["failed_at"]
        assert record["source"]["topic"] == processor.events_topic
        assert ("event" in record) != ("raw" in record)
    # nothing valid went to the DLQ, nothing invalid reached the table
    assert set(records) == {key for key, _, _ in invalid}
    time.sleep(2)
    assert counts(client, project) == (len(valid), len(valid))

    row = client.query(
        "SELECT browser, device, path, client_ip FROM events FINAL WHERE project_id = {p:UInt32} AND type = 'page_view' "
        "ORDER BY event_id LIMIT 1", parameters={"p": project}).result_rows[0]
    assert row == ("Chrome Mobile", "mobile", "/products/:id", "198.51.100.0")  # route, anonymised IP


def test_a_few_events_after_a_quiet_spell_land_without_waiting_for_a_checkpoint(make_processor, kafka, clickhouse):
    # fewer messages than a step batch and a chunk, then nothing: only the sink's tick, which
    # Quix runs on every pass of its loop, can send them on; the checkpoint is ten minutes off
    project = project_id()
    processor = make_processor(clickhouse.url)
    processor.env.update(VIGIL_PROCESSOR_COMMIT_INTERVAL="600", VIGIL_SINK_MAX_DELAY="0.5")
    processor.start()
    client = clickhouse.client()
    produce(kafka.bootstrap, processor.events_topic, valid_messages(project, processor.run, 0, 5))
    assert wait_for_rows(client, project, 5, processor, timeout=60) == (5, 5)


def test_sigkilled_mid_run_and_restarted_loses_nothing_and_doubles_nothing(make_processor, kafka, clickhouse):
    project = project_id()
    processor = make_processor(clickhouse.url, batch_size=1000)
    total = 40_000
    produce(kafka.bootstrap, processor.events_topic, valid_messages(project, processor.run, 0, total))
    client = clickhouse.client()

    processor.start()
    for kill_after in (4_000, 16_000):
        wait_for_rows(client, project, kill_after, processor)
        processor.kill()
        rows, _ = counts(client, project)
        assert rows < total, "the run finished before the kill; produce more events"
        processor.start()

    assert wait_for_rows(client, project, total, processor) == (total, total)
    time.sleep(2)  # a late duplicate would show up now
    assert counts(client, project) == (total, total)
    assert processor.starts == 3


def test_clickhouse_down_mid_run_the_processor_backs_off_and_resumes(make_processor, kafka, tmp_path):
    project = project_id()
    with ClickHouseServer(tmp_path / "clickhouse") as server:
        apply_migrations(server.client())
        processor = make_processor(server.url, batch_size=1000)
        produce(kafka.bootstrap, processor.events_topic, valid_messages(project, processor.run, 0, 5_000))
        processor.start()
        wait_for_rows(server.client(), project, 5_000, processor)

        server.stop()
        produce(kafka.bootstrap, processor.events_topic, valid_messages(project, processor.run, 5_000, 12_000))
        deadline = time.monotonic() + 30
        while "ClickHouse unreachable" not in processor.log_text() and time.monotonic() < deadline:
            time.sleep(0.25)
        assert "ClickHouse unreachable" in processor.log_text(), processor.log_tail()
        time.sleep(5)  # a few back-off rounds while it is down
        assert processor.alive, processor.log_tail()

        server.start()
        client = server.client()
        assert wait_for_rows(client, project, 12_000, processor, timeout=120) == (12_000, 12_000)
        time.sleep(2)
        assert counts(client, project) == (12_000, 12_000)
        warnings = Counter(line.split(";")[0].split(": ", 1)[-1][:40]
                           for line in processor.log_text().splitlines() if "pausing" in line)
        assert warnings, processor.log_tail()


def test_started_before_the_schema_exists_it_waits_for_vigil_migrate(make_processor, kafka, clickhouse):
    project = project_id()
    database = f"premigrate_{uuid.uuid4().hex[:8]}"
    processor = make_processor(clickhouse.url)
    processor.env["VIGIL_CLICKHOUSE_DATABASE"] = database
    produce(kafka.bootstrap, processor.events_topic, valid_messages(project, processor.run, 0, 500))
    processor.start()
    deadline = time.monotonic() + 60
    while "run `vigil migrate`" not in processor.log_text() and time.monotonic() < deadline:
        time.sleep(0.25)
    assert "run `vigil migrate`" in processor.log_text(), processor.log_tail()

    client = clickhouse.client(database=database)
    apply_migrations(client)
    assert wait_for_rows(client, project, 500, processor) == (500, 500)


def test_rows_clickhouse_refuses_stop_the_processor_with_the_reason_and_nothing_committed(
        make_processor, kafka, clickhouse):
    project = project_id()
    database = f"wrongschema_{uuid.uuid4().hex[:8]}"
    client = clickhouse.client(database=database)
    client.command("CREATE TABLE events (project_id UInt32, event_id String) ENGINE = MergeTree ORDER BY event_id")
    processor = make_processor(clickhouse.url)
    processor.env["VIGIL_CLICKHOUSE_DATABASE"] = database
    produce(kafka.bootstrap, processor.events_topic, valid_messages(project, processor.run, 0, 200))
    processor.start()
    try:
        processor.process.wait(60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the processor kept running against a wrong schema:\n{processor.log_tail()}")
    assert processor.process.returncode != 0
    log = processor.log_text()
    assert "ClickHouse refused" in log or "vigil migrate" in log, processor.log_tail()
    assert client.query("SELECT count() FROM events").result_rows[0][0] == 0
