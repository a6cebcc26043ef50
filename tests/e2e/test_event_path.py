"""The whole event path, collector → Kafka → processor → ClickHouse, with real parts.

10,000 events of every type from simulated shop sessions, 1% of them broken in five
different ways and mixed into otherwise valid 50-event batches, sent over HTTP. Every valid
event must land in ClickHouse exactly once within 30 s of the last answer, and every
invalid one must be accounted for: refused in the collector's answer, or in the DLQ, with
its reason. Nothing silently dropped.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx
import orjson
import pytest
from confluent_kafka import Consumer

from pipeline import projects
from pipeline.simulation import shop_sessions
from pipeline.broker.topics import ensure_topics
from tests.support import processes

pytestmark = pytest.mark.e2e

TOTAL = 10_000
BATCH = 50
INVALID_EVERY = 100  # 1%

# how an event gets broken, and the reason the collector must give for it
BREAKAGES = [
    ("missing_field", "event_id", lambda e: e.pop("event_id")),
    ("unknown_value", "type", lambda e: e.update(type="pageview")),
    ("bad_format", "timestamp", lambda e: e.update(timestamp="yesterday at noon")),
    ("too_short", "event_id", lambda e: e.update(event_id="x")),
    ("too_many", "tags", lambda e: e.update(tags={f"t{i}": "v" for i in range(60)})),
]


def simulated_events(rng: random.Random, count: int) -> list[dict]:
    """``count`` events from simulated sessions, context merged in, stamped around now."""
    now = datetime.now(timezone.utc)
    events: list[dict] = []
    while len(events) < count:
        session = shop_sessions.generate_session(rng, now - timedelta(minutes=rng.uniform(1, 30)))
        for batch in session.batches:
            context = batch.envelope.get("context", {})
            events.extend({**context, **event} for event in batch.events)
    return events[:count]


@pytest.fixture
def pipeline_run(kafka, clickhouse, vigil_env, tmp_path):
    run = uuid.uuid4().hex[:8]
    topics = {"events": f"e2e.{run}.events", "dlq": f"e2e.{run}.dlq"}
    ensure_topics(kafka.bootstrap, {topics["events"]: 4, topics["dlq"]: 1})
    env = {**vigil_env, "VIGIL_EVENTS_TOPIC": topics["events"], "VIGIL_DLQ_TOPIC": topics["dlq"],
           "VIGIL_PROCESSOR_GROUP": f"e2e-{run}", "VIGIL_RATE_LIMIT_PER_KEY": "1000000",
           "VIGIL_RATE_LIMIT_PER_IP": "1000000"}
    project = projects.create(clickhouse.client(), f"e2e-{run}")
    collector, url = processes.collector(env, tmp_path / "collector.log")
    processor = processes.VigilProcess(["process"], env, tmp_path / "processor.log").start()
    yield project, url, topics, processor
    collector.stop()
    processor.stop()


def dlq_records(bootstrap: str, topic: str, settle: float = 5.0) -> list[dict]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    records, quiet_until = [], time.monotonic() + settle
    while time.monotonic() < quiet_until:
        message = consumer.poll(0.5)
        if message is not None and message.error() is None:
            records.append(orjson.loads(message.value()))
            quiet_until = time.monotonic() + settle
    consumer.close()
    return records


def test_ten_thousand_mixed_events_land_exactly_once_and_every_invalid_one_is_accounted_for(pipeline_run, kafka, clickhouse):
    project, url, topics, processor = pipeline_run
    rng = random.Random(2024)
    events = simulated_events(rng, TOTAL)
    broken: dict[int, tuple[str, str]] = {}
    for index in range(INVALID_EVERY // 2, TOTAL, INVALID_EVERY):
        reason, path, breakage = BREAKAGES[len(broken) % len(BREAKAGES)]
        breakage(events[index])
        broken[index] = (reason, path)
    assert len(broken) == TOTAL // INVALID_EVERY
    valid_ids = {e["event_id"] for i, e in enumerate(events) if i not in broken}
    assert len(valid_ids) == TOTAL - len(broken)  # the simulator's ids are unique

    batches = [events[i:i + BATCH] for i in range(0, TOTAL, BATCH)]
    sdk = {"name": "vigil-browser", "version": "0.1.0"}

    def send(offset_batch: tuple[int, list[dict]]) -> tuple[int, httpx.Response]:
        offset, batch = offset_batch
        body = orjson.dumps({"version": 1, "sdk": sdk, "events": batch})
        response = http.post(f"{url}/api/{project.id}/events", content=body,
                             headers={"X-Vigil-Key": project.key, "Content-Type": "application/json"})
        return offset, response

    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, [(i * BATCH, b) for i, b in enumerate(batches)]))
    finished = time.monotonic()

    accepted, refused = 0, {}
    for offset, response in answers:
        assert response.status_code == 202, response.text
        answer = response.json()
        accepted += answer["accepted"]
        for rejection in answer["rejected"]:
            refused[offset + rejection["index"]] = (rejection["reason"], rejection["path"])
    assert accepted == len(valid_ids)

    # every valid event lands exactly once within 30 s
    client = clickhouse.client()
    query = "SELECT count(), uniqExact(event_id) FROM events FINAL WHERE project_id = {p:UInt32}"
    while True:
        rows, unique = client.query(query, parameters={"p": project.id}).result_rows[0]
        if rows >= len(valid_ids) or time.monotonic() - finished > 30:
            break
        assert processor.alive, processor.log_tail()
        time.sleep(0.5)
    assert (rows, unique) == (len(valid_ids), len(valid_ids)), f"after {time.monotonic() - finished:.1f}s"
    stored = {r[0] for r in client.query("SELECT event_id FROM events FINAL WHERE project_id = {p:UInt32}",
                                         parameters={"p": project.id}).result_rows}
    assert stored == valid_ids

    # every invalid one is accounted for, with the reason it was broken for
    dlq = [r for r in dlq_records(kafka.bootstrap, topics["dlq"]) if r.get("event", {}).get("project_id") == project.id]
    accounted = dict(refused)
    assert len(accounted) + len(dlq) == len(broken)
    assert accounted == broken
    types = Counter(e["type"] for i, e in enumerate(events) if i not in broken)
    stored_types = dict(client.query("SELECT type, count() FROM events FINAL WHERE project_id = {p:UInt32} GROUP BY type",
                                     parameters={"p": project.id}).result_rows)
    assert stored_types == dict(types)
