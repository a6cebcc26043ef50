"""Past one machine's Kafka: a 3-node KRaft cluster and two processors, each losing a member.

One cluster for the module (``tests/support/kafka_cluster.py``: the jars and start-up of
``vigil kafka --nodes 3``; replication factor 3, ``min.insync.replicas=2``), the session's
ClickHouse, and real ``vigil collect`` / ``vigil process`` processes:

- **a broker SIGKILLed under load**: clients post SDK envelopes to the collector at a steady
  pace; the node leading partition 0 of the events topic dies mid-load and the load goes on.
  Every request the collector answered 202 has its events in Kafka (read back from the topic)
  and in ClickHouse exactly once; a request refused (503, or no answer) is resent with the
  same event ids, as the SDK does, and may be missing only if the client gave up;
- **a processor SIGKILLed mid-run**: two ``vigil process`` in one consumer group share a
  4-partition topic; one dies; the group rebalances and the other takes over its partitions;
  every event is stored once.

Counts are ``events FINAL`` (what every Vigil query sees) and the raw row count beside it:
rows a processor inserted but whose offsets it had not committed are read and inserted again
by whoever takes the partition over, and stay as extra rows until ClickHouse merges them.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import orjson
import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, TopicPartition

from pipeline.broker.topics import ensure_topics
from pipeline.simulation.sender import retry_after_seconds
from pipeline.stream.runner import kafka_can_retry
from pipeline.warehouse import projects
from tests.e2e.test_failures import Envelope, raw_rows, sdk_envelopes, stamped_messages
from tests.integration.test_processor import produce, project_id
from tests.support import processes
from tests.support.kafka_cluster import KafkaCluster

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

LANDED_TIMEOUT = 180.0  # seconds for everything sent to reach ClickHouse once the load ended


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[KafkaCluster]:
    with KafkaCluster(tmp_path_factory.mktemp("kafka-cluster"), topics={}) as started:
        print(f"\n3-node Kafka cluster on {started.bootstrap} ready in {started.startup_seconds:.1f}s")
        yield started


def cluster_env(cluster: KafkaCluster, clickhouse, data_dir: Path, name: str, partitions: int = 4) -> dict[str, str]:
    """``VIGIL_*`` for a collector and processors of one test: its own topics (on the cluster, replicated
    3 times by the cluster's default) and consumer group, the session's ClickHouse, no rate limits."""
    run = f"{name}.{uuid.uuid4().hex[:8]}"
    events, dlq = f"{run}.events", f"{run}.dlq"
    ensure_topics(cluster.bootstrap, {events: partitions, dlq: partitions})
    return {"VIGIL_KAFKA_BROKERS": cluster.bootstrap, "VIGIL_CLICKHOUSE_URL": clickhouse.url,
            "VIGIL_DATA_DIR": str(data_dir), "VIGIL_EVENTS_TOPIC": events, "VIGIL_DLQ_TOPIC": dlq,
            "VIGIL_PROCESSOR_GROUP": run, "VIGIL_PROCESSOR_METRICS_PORT": "0",
            "VIGIL_RATE_LIMIT_PER_IP": "0", "VIGIL_RATE_LIMIT_PER_KEY": "0"}


def stored_counts(client, project: int) -> Counter[str]:
    """event id → rows in ``events FINAL`` (1 for every stored event, if nothing is doubled)."""
    rows = client.query("SELECT event_id, count() FROM events FINAL WHERE project_id = {p:UInt32} GROUP BY event_id",
                        parameters={"p": project}).result_rows
    return Counter({event_id: int(count) for event_id, count in rows})


def wait_until_stored(client, project: int, ids: set[str], processor: processes.VigilProcess) -> Counter[str]:
    """The stored counts once every id in ``ids`` is stored (and 2 s more, for a late repeat to show)."""
    deadline = time.monotonic() + LANDED_TIMEOUT
    while True:
        stored = stored_counts(client, project)
        missing = ids - stored.keys()
        if not missing:
            time.sleep(2)
            return stored_counts(client, project)
        assert processor.alive, f"the processor exited:\n{processor.log_tail()}"
        assert time.monotonic() < deadline, f"{len(missing):,} of {len(ids):,} events not stored after " \
                                            f"{LANDED_TIMEOUT:.0f}s:\n{processor.log_tail()}"
        time.sleep(0.5)


def topic_event_ids(bootstrap: str, topic: str) -> Counter[str]:
    """event id → messages holding it, over the whole topic (read up to its end offsets)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"read-back-{uuid.uuid4().hex[:8]}", "log_level": 2,
                         "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {number: consumer.get_watermark_offsets(TopicPartition(topic, number), timeout=10)[1]
                for number in partitions}
        consumer.assign([TopicPartition(topic, number, 0) for number in partitions])
        ids: Counter[str] = Counter()
        done = {number for number, end in ends.items() if end == 0}
        deadline = time.monotonic() + 60
        while len(done) < len(ends):
            assert time.monotonic() < deadline, f"could not read {topic} to its end: {ends}"
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            ids[orjson.loads(message.value())["event_id"]] += 1
            if message.offset() + 1 >= ends[message.partition()]:
                done.add(message.partition())
        return ids
    finally:
        consumer.close()


# ── a broker SIGKILLed under load ──────────────────────────────────────────────────────

REQUESTS_PER_SECOND = 60
CLIENTS = 4
LOAD_EVENTS = 8_000  # ≈ 1,250 envelopes: ≈ 20 s at the pace above
ATTEMPTS = 4  # an envelope is posted at most this often, then the client gives up on it


@dataclass
class Ledger:
    """What the clients saw: answers by status, resends, and the event ids acknowledged or given up."""

    acknowledged: set[str] = field(default_factory=set)
    given_up: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)
    acknowledged_after_kill: int = 0
    killed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def note(self, answer: str, envelope: Envelope | None = None) -> None:
        with self.lock:
            self.answers[answer] += 1
            if answer == "202" and envelope is not None:
                self.acknowledged.update(envelope.event_ids)
                self.acknowledged_after_kill += self.killed


def post(http: httpx.Client, endpoint: str, key: str, envelope: Envelope, ledger: Ledger) -> None:
    """Post one envelope like the SDK: the same body again after a 503 or no answer, up to ATTEMPTS times."""
    headers = {"X-Vigil-Key": key, "Content-Type": "application/json", "User-Agent": envelope.user_agent}
    for attempt in range(ATTEMPTS):
        if attempt:
            ledger.note("resent")
        try:
            response = http.post(endpoint, content=envelope.body, headers=headers)
        except httpx.TransportError:
            ledger.note("no answer")
            time.sleep(1.0)
            continue
        if response.status_code == 503:
            ledger.note("503")
            time.sleep(retry_after_seconds(response))
            continue
        assert response.status_code == 202, f"{response.status_code}: {response.text[:300]}"
        assert response.json()["accepted"] == len(envelope.event_ids), response.text[:300]
        ledger.note("202", envelope)
        return
    with ledger.lock:
        ledger.given_up.update(envelope.event_ids)


def steady_load(url: str, project: projects.Project, envelopes: list[Envelope], ledger: Ledger) -> None:
    """One client's share, each envelope at its time slot (a steady pace, whatever the answers)."""
    endpoint = f"{url}/api/{project.id}/events"
    interval = CLIENTS / REQUESTS_PER_SECOND
    started = time.monotonic()
    with httpx.Client(timeout=30) as http:
        for index, envelope in enumerate(envelopes):
            time.sleep(max(0.0, started + index * interval - time.monotonic()))
            post(http, endpoint, project.key, envelope, ledger)


def test_a_broker_sigkilled_under_load_loses_no_acknowledged_event_and_doubles_none(cluster, clickhouse, tmp_path):
    env = cluster_env(cluster, clickhouse, tmp_path / "vigil", "broker-loss")
    topic = env["VIGIL_EVENTS_TOPIC"]
    client = clickhouse.client()
    project = projects.create(client, f"broker-loss-{uuid.uuid4().hex[:8]}")
    collector, url = processes.collector(env, tmp_path / "collector.log")
    processor = processes.VigilProcess(["process"], env, tmp_path / "processor.log").start()
    envelopes = sdk_envelopes(random.Random(), LOAD_EVENTS)
    ledger = Ledger()
    victim: int | None = None
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            clients = [pool.submit(steady_load, url, project, envelopes[n::CLIENTS], ledger) for n in range(CLIENTS)]
            while ledger.answers["202"] < len(envelopes) // 3:
                assert not any(c.done() for c in clients), [c.exception() for c in clients if c.done()]
                time.sleep(0.05)
            victim = cluster.leader_of(topic, 0)
            leaders = Counter(leader for leader, _ in cluster.replicas(topic).values())
            cluster.kill(victim)
            ledger.killed = True
            acknowledged_at_kill = ledger.answers["202"]
            print(f"\nnode {victim} (leader of {leaders[victim]} of the topic's 4 partitions) SIGKILLed after "
                  f"{acknowledged_at_kill:,} of {len(envelopes):,} requests acknowledged")
            for client_thread in clients:
                client_thread.result()
        replicas_after = cluster.replicas(topic)
        print(f"after the load: leaders and in-sync replicas by partition {replicas_after}")
        assert acknowledged_at_kill < len(envelopes) * 0.6, "the load was nearly over when the node died"
        assert ledger.acknowledged_after_kill > 0, "nothing was acknowledged after the kill: the load did not go on"
        assert all(victim not in isr and leader != victim for leader, isr in replicas_after.values())

        in_kafka = topic_event_ids(cluster.bootstrap, topic)
        stored = wait_until_stored(client, project.id, ledger.acknowledged, processor)
        sent = {event_id for envelope in envelopes for event_id in envelope.event_ids}
        doubled = sum(count - 1 for count in stored.values())
        print(f"requests {len(envelopes):,} · answers {dict(ledger.answers)} · events acknowledged "
              f"{len(ledger.acknowledged):,}, given up {len(ledger.given_up):,} · in Kafka {len(in_kafka):,} ids in "
              f"{sum(in_kafka.values()):,} messages · stored (events FINAL) {len(stored):,} · doubled {doubled} · "
              f"rows before merging {raw_rows(client, project.id):,}")
        assert not ledger.acknowledged - in_kafka.keys(), "the collector acknowledged events Kafka does not hold"
        assert not ledger.acknowledged - stored.keys(), "acknowledged events are missing from ClickHouse"
        assert doubled == 0, [event_id for event_id, count in stored.items() if count > 1][:5]
        assert stored.keys() <= sent, "ClickHouse holds events nobody sent"
        assert stored.keys() - ledger.acknowledged <= ledger.given_up  # stored unacknowledged: only given-up ones
        assert processor.alive and collector.alive, processor.log_tail() + collector.log_tail()
    finally:
        collector.stop()
        processor.stop()
        if victim is not None and not cluster.running(victim):  # the next test wants all three
            rejoined = cluster.start_node(victim)
            caught_up = cluster.wait_for_full_isr(topic)
            print(f"node {victim} back in {rejoined:.1f}s, all replicas of {topic} in sync {caught_up:.1f}s later")


# ── a processor SIGKILLed mid-run ──────────────────────────────────────────────────────

PROCESSOR_EVENTS = 60_000


def group_assignment(cluster: KafkaCluster, group: str, topic: str) -> tuple[str, list[list[int]]]:
    """The group's state and each member's partitions of ``topic`` (one sorted list per member)."""
    description = cluster.admin().describe_consumer_groups([group], request_timeout=10)[group].result(timeout=20)
    shares = sorted(sorted(tp.partition for tp in member.assignment.topic_partitions if tp.topic == topic)
                    for member in description.members)
    return description.state.name, shares


def shared_by(cluster: KafkaCluster, group: str, topic: str, members: int) -> list[list[int]] | None:
    """Each member's partitions once the group is stable with ``members`` members all holding some; else None."""
    try:
        state, shares = group_assignment(cluster, group, topic)
    except KafkaException as exc:  # the group's coordinator is still loading, or moving
        if kafka_can_retry(exc.args[0]):
            return None
        raise
    return shares if state == "STABLE" and len(shares) == members and all(shares) else None


def committed_offsets(cluster: KafkaCluster, group: str, topic: str, partitions: int) -> dict[int, int]:
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, n) for n in range(partitions)])
    result = cluster.admin().list_consumer_group_offsets([request], request_timeout=10)[group].result()
    return {tp.partition: tp.offset for tp in result.topic_partitions}


def wait_for(condition, what: str, timeout: float, *alive: processes.VigilProcess):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        for process in alive:
            assert process.alive, f"a processor exited while waiting for {what}:\n{process.log_tail()}"
        assert time.monotonic() < deadline, f"no {what} after {timeout:.0f}s"
        time.sleep(0.5)


def test_two_processors_share_the_partitions_and_one_sigkilled_loses_and_doubles_nothing(
        cluster, clickhouse, tmp_path):
    env = cluster_env(cluster, clickhouse, tmp_path, "processor-loss")
    topic, group = env["VIGIL_EVENTS_TOPIC"], env["VIGIL_PROCESSOR_GROUP"]
    env.update(VIGIL_SINK_BATCH_SIZE="2000", VIGIL_PROCESSOR_COMMIT_INTERVAL="1")
    project = project_id()
    client = clickhouse.client()
    messages, sent = stamped_messages(PROCESSOR_EVENTS, project)

    # each processor its own data dir (its Quix state) as on two machines
    first, second = (processes.VigilProcess(["process"], {**env, "VIGIL_DATA_DIR": str(tmp_path / name)},
                                            tmp_path / f"{name}.log") for name in ("first", "second"))
    try:
        first.start()
        second.start()
        shares = wait_for(lambda: shared_by(cluster, group, topic, 2), "two members sharing the partitions", 120,
                          first, second)
        print(f"\ntwo processors in group {group}: partitions {shares}")
        produce(cluster.bootstrap, topic, messages)
        del messages
        wait_for(lambda: raw_rows(client, project) >= PROCESSOR_EVENTS // 4, "a quarter of the events stored", 120,
                 first, second)
        offsets = committed_offsets(cluster, group, topic, 4)
        first.kill()
        killed_at = time.monotonic()
        rows_at_kill = raw_rows(client, project)
        print(f"first processor SIGKILLed with {rows_at_kill:,} rows stored; committed offsets {offsets}")
        assert rows_at_kill < PROCESSOR_EVENTS, "the run was over before the kill; produce more events"
        assert all(offset > 0 for offset in offsets.values()), f"a partition was not processed before the kill: {offsets}"

        taken_over = wait_for(lambda: shared_by(cluster, group, topic, 1), "one member owning the partitions", 120,
                              second)
        assert taken_over == [[0, 1, 2, 3]], taken_over
        print(f"the second took over all partitions {taken_over} {time.monotonic() - killed_at:.0f}s after the kill")
        stored = wait_until_stored(client, project, sent, second)
        rows, unique = (int(value) for value in client.query(
            "SELECT count(), uniqExact(event_id) FROM events FINAL WHERE project_id = {p:UInt32}",
            parameters={"p": project}).result_rows[0])
        raw = raw_rows(client, project)
        print(f"sent {len(sent):,} · events FINAL count() {rows:,} · uniqExact(event_id) {unique:,} · rows before "
              f"merging {raw:,} (the second re-read up to {rows_at_kill - sum(offsets.values()):,} events the first had "
              f"inserted but not committed; {raw - rows:,} repeats not merged away yet)")
        assert (rows, unique) == (len(sent), len(sent))
        assert set(stored) == sent
        assert second.alive, second.log_tail()
    finally:
        first.stop()
        second.stop()
