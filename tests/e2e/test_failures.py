"""Failures mid-run, with real processes: every event still lands exactly once.

Each test breaks one part of the path while events flow, lets it come back, and then
counts what every Vigil query sees (``count()`` and ``uniqExact(event_id)`` of ``events
FINAL``) and compares the stored event ids with the ids that were sent — none lost, none
doubled:

- the processor SIGKILLed three times during a 100,000-event run (session broker and
  warehouse: only the processor dies);
- the Kafka broker stopped and started again on the same port and data dir while a
  producer keeps producing and the processor keeps running (its own broker);
- the ClickHouse server stopped for 30 s and started again on the same data dir: the
  processor backs off (its log and counters say so) and resumes (its own server);
- the collector restarted (SIGTERM, and SIGKILL) under load from concurrent HTTP clients
  that resend a batch, with the same event ids, on a connection error or a 503 — as the
  SDK does — so Kafka may hold an event twice and the warehouse must still show it once.

The raw row count (without ``FINAL``) and the number of messages in Kafka are printed next
to the exact counts: they show the replays and resends the warehouse collapsed.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from bench.processor import collector_messages
from pipeline import projects
from pipeline.simulation import shop_sessions
from pipeline.broker.topics import ensure_topics
from pipeline.simulate import retry_after_seconds
from pipeline.warehouse.migrate import apply_migrations
from tests.integration.test_processor import Processor, counts, produce, project_id, wait_for_rows
from tests.support import processes
from tests.support.clickhouse import ClickHouseServer
from tests.support.kafka import KafkaBroker

pytestmark = pytest.mark.e2e

RUN_TIMEOUT = 240.0  # seconds for a run to land completely after the failure healed


# ── traffic ─────────────────────────────────────────────────────────────────────────────


def stamped_messages(count: int, project: int) -> tuple[list[tuple[bytes, bytes]], set[str]]:
    """``count`` realistic messages as the collector writes them, and their event ids."""
    messages = collector_messages(count, seed=random.randrange(1 << 30), project_id=project)
    ids = {orjson.loads(value)["event_id"] for _, value in messages}
    assert len(ids) == count, "the simulator repeated an event id; the counts below would be meaningless"
    return messages, ids


class PacedProducer(threading.Thread):
    """Produces messages at about ``per_second`` on its own thread while something fails.

    Idempotent and ``acks=all`` like the collector, with a delivery timeout long enough to
    ride out a broker restart (librdkafka retries and reconnects by itself). ``failed``
    counts messages Kafka never acknowledged; the tests require none.
    """

    def __init__(self, bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]], per_second: int) -> None:
        super().__init__(name="paced-producer", daemon=True)
        self.bootstrap, self.topic, self.messages, self.per_second = bootstrap, topic, messages, per_second
        self.produced = 0
        self.failed = 0
        self.unflushed: int | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._produce_all()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread by done()
            self.error = exc

    def _on_delivery(self, error: KafkaError | None, _message: object) -> None:
        if error is not None:
            self.failed += 1

    def _produce_all(self) -> None:
        producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True, "acks": "all",
                             "linger.ms": 5, "compression.type": "lz4", "message.timeout.ms": 180_000})
        started = time.monotonic()
        for index, (key, value) in enumerate(self.messages):
            while True:
                try:
                    producer.produce(self.topic, value, key=key, on_delivery=self._on_delivery)
                    break
                except BufferError:
                    producer.poll(0.05)
            self.produced += 1
            if index % 500 == 499:
                producer.poll(0)
                time.sleep(max(0.0, started + self.produced / self.per_second - time.monotonic()))
        self.unflushed = producer.flush(200)

    def done(self, timeout: float = 220.0) -> None:
        """Wait until every message is acknowledged; fail if any was not."""
        self.join(timeout)
        assert not self.is_alive(), f"the producer is still producing after {timeout:.0f}s"
        if self.error is not None:
            raise self.error
        assert self.unflushed == 0 and self.failed == 0, (
            f"Kafka did not acknowledge {self.unflushed} queued and {self.failed} delivered-with-error messages")


# ── what the warehouse shows ────────────────────────────────────────────────────────────


def raw_rows(client, project: int) -> int:
    """Rows without FINAL: repeats not merged away yet are still counted here."""
    return int(client.query("SELECT count() FROM events WHERE project_id = {p:UInt32}",
                            parameters={"p": project}).result_rows[0][0])


def stored_ids(client, project: int) -> set[str]:
    rows = client.query("SELECT event_id FROM events FINAL WHERE project_id = {p:UInt32}",
                        parameters={"p": project}).result_rows
    return {row[0] for row in rows}


def kafka_messages(bootstrap: str, topic: str) -> int:
    """How many messages the topic holds (sum of its partitions' high watermarks)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"watermarks-{uuid.uuid4().hex[:8]}"})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return sum(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions)
    finally:
        consumer.close()


def assert_exactly_once(client, project: int, sent: set[str], processor, label: str) -> None:
    """Every sent id stored, once: rows = distinct ids = sent, and the very same ids."""
    wait_for_rows(client, project, len(sent), processor, timeout=RUN_TIMEOUT)
    time.sleep(2)  # a late duplicate (a replay still on its way) would show up now
    rows, unique = counts(client, project)
    print(f"\n{label}: sent {len(sent):,} · events FINAL count() {rows:,} · uniqExact(event_id) {unique:,} · "
          f"rows before merging {raw_rows(client, project):,}")
    assert (rows, unique) == (len(sent), len(sent))
    stored = stored_ids(client, project)
    assert not sent - stored, f"{len(sent - stored)} events lost, e.g. {sorted(sent - stored)[:3]}"
    assert stored == sent, f"{len(stored - sent)} stored events nobody sent, e.g. {sorted(stored - sent)[:3]}"


@pytest.fixture
def started_processors() -> Iterator[list[Processor]]:
    """Processors a test started; stopped at the end whatever happened."""
    started: list[Processor] = []
    yield started
    for processor in started:
        processor.stop()


# ── the processor ───────────────────────────────────────────────────────────────────────


def test_processor_sigkilled_three_times_in_100000_events_loses_and_doubles_nothing(
        kafka, clickhouse, tmp_path, started_processors):
    total = 100_000
    project = project_id()
    processor = Processor(tmp_path, kafka.bootstrap, clickhouse.url, batch_size=5000)
    started_processors.append(processor)
    messages, sent = stamped_messages(total, project)
    produce(kafka.bootstrap, processor.events_topic, messages)
    del messages
    client = clickhouse.client()

    processor.start()
    for kill_after in (15_000, 45_000, 75_000):
        wait_for_rows(client, project, kill_after, processor, timeout=RUN_TIMEOUT)
        processor.kill()
        rows, _ = counts(client, project)
        print(f"\nSIGKILL with {rows:,} rows stored")
        assert rows < total, "the run finished before the kill; produce more events"
        processor.start()

    assert_exactly_once(client, project, sent, processor, "processor SIGKILLed 3 times")
    assert processor.starts == 4


# ── the broker ──────────────────────────────────────────────────────────────────────────

def start_paced_production(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]], per_second: int,
                           before_failure: int) -> PacedProducer:
    """Produce ``messages`` at a pace and return once ``before_failure`` of them are out:
    the failure that follows then happens mid-production."""
    producer = PacedProducer(bootstrap, topic, messages, per_second)
    producer.start()
    while producer.produced < before_failure:
        assert producer.is_alive(), f"the producer stopped early: {producer.error!r}"
        time.sleep(0.05)
    return producer


def test_kafka_broker_restarted_mid_run_the_processor_and_producer_reconnect_and_nothing_is_lost(
        clickhouse, tmp_path, started_processors):
    total, first = 60_000, 10_000
    project = project_id()
    client = clickhouse.client()
    with KafkaBroker(tmp_path / "kafka", topics={}) as broker:
        processor = Processor(tmp_path, broker.bootstrap, clickhouse.url, batch_size=5000)
        started_processors.append(processor)
        messages, sent = stamped_messages(total, project)
        produce(broker.bootstrap, processor.events_topic, messages[:first])
        processor.start()
        wait_for_rows(client, project, first // 2, processor, timeout=RUN_TIMEOUT)
        producer = start_paced_production(broker.bootstrap, processor.events_topic, messages[first:],
                                          per_second=2_000, before_failure=10_000)

        port = broker.port
        broker.stop()
        produced_before = first + producer.produced
        print(f"\nbroker stopped with {counts(client, project)[0]:,} rows stored, {produced_before:,} produced")
        time.sleep(5)  # the processor's consumer and the producer both find it gone
        broker.start()
        assert broker.port == port
        print(f"broker back after {broker.startup_seconds:.1f}s start-up")
        producer.done()
        assert produced_before < total, "the producer finished before the broker stopped"

        # a commit in flight across the restart may fail with NOT_COORDINATOR (the coordinator
        # is still loading); the processor must ride that out by itself, not exit
        assert processor.alive, f"the processor exited on the broker restart:\n{processor.log_tail()}"
        assert_exactly_once(client, project, sent, processor, "Kafka broker restarted")
        print(f"Kafka holds {kafka_messages(broker.bootstrap, processor.events_topic):,} messages")
        processor.stop()


# ── the warehouse ───────────────────────────────────────────────────────────────────────

CLICKHOUSE_DOWN_S = 30.0


def sink_back_offs(processor_log: str) -> int:
    """The processor's last counters line's ``sink back-offs N`` (logged at shutdown)."""
    found = re.findall(r"sink back-offs (\d+)", processor_log)
    assert found, "the processor logged no counters line"
    return int(found[-1])


def test_clickhouse_stopped_30s_mid_run_the_processor_backs_off_and_resumes_without_loss(
        kafka, tmp_path, started_processors):
    total, first = 60_000, 10_000
    project = project_id()
    with ClickHouseServer(tmp_path / "clickhouse") as server:
        apply_migrations(server.client())
        processor = Processor(tmp_path, kafka.bootstrap, server.url, batch_size=5000)
        started_processors.append(processor)
        messages, sent = stamped_messages(total, project)
        produce(kafka.bootstrap, processor.events_topic, messages[:first])
        processor.start()
        wait_for_rows(server.client(), project, first // 2, processor, timeout=RUN_TIMEOUT)
        # paced so that events keep arriving while ClickHouse is down
        producer = start_paced_production(kafka.bootstrap, processor.events_topic, messages[first:],
                                          per_second=800, before_failure=5_000)

        stopped_with = counts(server.client(), project)[0]
        assert server.stop() is not None
        down_since = time.monotonic()
        print(f"\nClickHouse stopped with {stopped_with:,} rows stored, {first + producer.produced:,} produced")
        while "ClickHouse unreachable" not in processor.log_text():
            assert time.monotonic() - down_since < CLICKHOUSE_DOWN_S, processor.log_tail()
            time.sleep(0.25)
        time.sleep(max(0.0, down_since + CLICKHOUSE_DOWN_S - time.monotonic()))
        assert processor.alive, processor.log_tail()
        pauses = [line for line in processor.log_text().splitlines() if "will be re-read from Kafka, pausing" in line]
        assert len(pauses) >= 2, processor.log_tail()  # it retried, and waited between retries
        assert producer.produced < total - first, "the producer finished before ClickHouse came back"

        server.start()
        print(f"ClickHouse back after {time.monotonic() - down_since:.0f}s; {len(pauses)} back-offs logged while down")
        producer.done()
        assert_exactly_once(server.client(), project, sent, processor, "ClickHouse down 30 s")
        processor.stop()  # SIGTERM: the counters are logged at shutdown
        back_offs = sink_back_offs(processor.log_text())
        print(f"processor counters: sink back-offs {back_offs}")
        assert back_offs >= 2


# ── the collector ───────────────────────────────────────────────────────────────────────

HTTP_EVENTS = 30_000
CLIENTS = 6


@dataclass
class Envelope:
    body: bytes
    event_ids: list[str]
    user_agent: str


@dataclass
class Ledger:
    """What the clients consider sent (a 202 that accepted every event), and how often they retried."""

    accepted: set[str] = field(default_factory=set)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def sent(self, envelope: Envelope) -> None:
        with self.lock:
            self.accepted.update(envelope.event_ids)

    def retried(self) -> None:
        with self.lock:
            self.retries += 1


def sdk_envelopes(rng: random.Random, count: int) -> list[Envelope]:
    """Simulated sessions' batch envelopes, as the browser SDK posts them, ≥ ``count`` events."""
    now = datetime.now(timezone.utc)
    envelopes: list[Envelope] = []
    events = 0
    while events < count:
        session = shop_sessions.generate_session(rng, now - timedelta(minutes=rng.uniform(1, 30)))
        for batch in session.batches:
            ids = [event["event_id"] for event in batch.envelope["events"]]
            envelopes.append(Envelope(orjson.dumps(batch.envelope), ids, batch.user_agent))
            events += len(ids)
    return envelopes


def post_until_accepted(http: httpx.Client, endpoint: str, key: str, envelope: Envelope, ledger: Ledger) -> None:
    """Post one envelope like the SDK: the same body again after a connection error or a 503."""
    headers = {"X-Vigil-Key": key, "Content-Type": "application/json", "User-Agent": envelope.user_agent}
    deadline = time.monotonic() + 120
    backoff = 0.1
    while True:
        assert time.monotonic() < deadline, f"an envelope was not accepted within 120 s: {envelope.event_ids[:3]}"
        try:
            response = http.post(endpoint, content=envelope.body, headers=headers)
        except httpx.TransportError:
            ledger.retried()
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
            continue
        if response.status_code in (429, 503):
            ledger.retried()
            time.sleep(retry_after_seconds(response))
            continue
        assert response.status_code == 202, f"{response.status_code}: {response.text[:300]}"
        answer = response.json()
        assert answer["accepted"] == len(envelope.event_ids) and not answer["rejected"], answer
        ledger.sent(envelope)
        return


def send_all(url: str, project: projects.Project, envelopes: list[Envelope], ledger: Ledger) -> None:
    endpoint = f"{url}/api/{project.id}/events"
    with httpx.Client(timeout=30) as http:
        for envelope in envelopes:
            post_until_accepted(http, endpoint, project.key, envelope, ledger)


@pytest.fixture
def collector_run(kafka, clickhouse, vigil_env, tmp_path):
    """A collector and a processor of their own (topics, group, project) on the session services."""
    run = uuid.uuid4().hex[:8]
    topics = {"events": f"failures.{run}.events", "dlq": f"failures.{run}.dlq"}
    ensure_topics(kafka.bootstrap, {topics["events"]: 4, topics["dlq"]: 1})
    env = {**vigil_env, "VIGIL_EVENTS_TOPIC": topics["events"], "VIGIL_DLQ_TOPIC": topics["dlq"],
           "VIGIL_PROCESSOR_GROUP": f"failures-{run}", "VIGIL_RATE_LIMIT_PER_KEY": "1000000",
           "VIGIL_RATE_LIMIT_PER_IP": "1000000"}
    project = projects.create(clickhouse.client(), f"failures-{run}")
    collector, url = processes.collector(env, tmp_path / "collector.log")
    processor = processes.VigilProcess(["process"], env, tmp_path / "processor.log").start()
    yield project, url, topics, collector, processor
    collector.stop()
    processor.stop()


@pytest.mark.parametrize("crash", [False, True], ids=["SIGTERM", "SIGKILL"])
def test_collector_restarted_under_load_every_event_clients_sent_lands_once(crash, collector_run, kafka, clickhouse):
    project, url, topics, collector, processor = collector_run
    envelopes = sdk_envelopes(random.Random(), HTTP_EVENTS)
    ledger = Ledger()
    shares = [envelopes[client::CLIENTS] for client in range(CLIENTS)]

    with ThreadPoolExecutor(CLIENTS) as pool:
        clients = [pool.submit(send_all, url, project, share, ledger) for share in shares]
        while len(ledger.accepted) < HTTP_EVENTS // 3:
            assert not any(client.done() for client in clients), [c.exception() for c in clients if c.done()]
            time.sleep(0.05)
        restarted_at = len(ledger.accepted)
        collector.restart(crash=crash)
        for client in clients:
            client.result()

    sent_events = sum(len(envelope.event_ids) for envelope in envelopes)
    signal_name = "SIGKILL" if crash else "SIGTERM"
    print(f"\ncollector {signal_name}ed after {restarted_at:,} events accepted; {ledger.retries:,} retries by "
          f"{CLIENTS} clients")
    assert len(ledger.accepted) == sent_events
    assert ledger.retries > 0, "no client noticed the restart; it was not under load"
    assert_exactly_once(clickhouse.client(), project.id, ledger.accepted, processor,
                        f"collector {signal_name}ed under load")
    print(f"Kafka holds {kafka_messages(kafka.bootstrap, topics['events']):,} messages for "
          f"{sent_events:,} events")
