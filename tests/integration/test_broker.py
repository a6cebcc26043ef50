"""The embedded Kafka broker: a real Apache Kafka 4 in KRaft mode, as `vigil kafka` runs it.

These tests own their broker (they restart and kill it), so they do not share the
session's ``kafka`` fixture.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from pipeline import settings as settings_module
from pipeline.embedded import kafka_broker
from pipeline.broker.topics import SIGNALS_TOPIC, ensure_topics
from tests.support.kafka import KafkaBroker, free_ports

pytestmark = pytest.mark.integration

PARTITIONS = 3  # not Kafka's default (1) nor Vigil's (4): shows the setting is applied


@pytest.fixture(scope="module")
def settings():
    return dataclasses.replace(settings_module.load(), topic_partitions=PARTITIONS)


@pytest.fixture(scope="module")
def broker(settings, tmp_path_factory):
    with KafkaBroker(tmp_path_factory.mktemp("broker"), settings=settings) as broker:
        yield broker


def unique_topic(prefix: str) -> str:
    return f"test.{prefix}.{uuid.uuid4().hex[:8]}"


def produce(bootstrap: str, topic: str, messages: list[tuple[str, str]], **config) -> None:
    """Send (key, value) pairs the way the collector does (acks=all, idempotent) and wait for acks."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, **config})
    failures = []
    for key, value in messages:
        producer.produce(topic, key=key, value=value, on_delivery=lambda err, _msg: err and failures.append(err))
    assert producer.flush(30) == 0, "messages still unacknowledged after 30 s"
    assert failures == []


def consume(bootstrap: str, topic: str, count: int, group: str | None = None, timeout: float = 30.0,
            **config) -> list[tuple[str, str, int]]:
    """Read ``count`` messages as (key, value, partition), from the group's committed offset or the start."""
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group or f"test-{uuid.uuid4().hex[:8]}",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        **config,
    })
    consumer.subscribe([topic])
    received: list[tuple[str, str, int]] = []
    deadline = time.monotonic() + timeout
    try:
        while len(received) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            received.append((message.key().decode(), message.value().decode(), message.partition()))
        if group is not None and received:
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return received


def partition_counts(bootstrap: str, topics: list[str]) -> dict[str, int]:
    metadata = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10)
    return {name: len(metadata.topics[name].partitions) for name in topics if name in metadata.topics}


def test_vigil_topics_exist_with_the_configured_partition_count(broker, settings):
    names = [settings.events_topic, settings.dlq_topic, SIGNALS_TOPIC]

    assert partition_counts(broker.bootstrap, names) == {name: PARTITIONS for name in names}


def test_messages_round_trip_and_one_key_stays_on_one_partition(broker, settings):
    topic = settings.events_topic
    messages = [(f"session-{i % 5}", f"event-{i}") for i in range(200)]

    produce(broker.bootstrap, topic, messages)
    received = consume(broker.bootstrap, topic, len(messages))

    assert sorted((key, value) for key, value, _ in received) == sorted(messages)
    partitions_per_key: dict[str, set[int]] = {}
    for key, _, partition in received:
        partitions_per_key.setdefault(key, set()).add(partition)
    assert all(len(partitions) == 1 for partitions in partitions_per_key.values())


def test_topics_created_on_first_use_get_the_configured_partitions(broker):
    topic = unique_topic("autocreated")

    produce(broker.bootstrap, topic, [("k", "v")])

    assert partition_counts(broker.bootstrap, [topic]) == {topic: PARTITIONS}


def test_ensure_topics_is_idempotent_and_leaves_existing_topics_alone(broker):
    topic = unique_topic("ensure")

    first = ensure_topics(broker.bootstrap, {topic: 2})
    second = ensure_topics(broker.bootstrap, {topic: 2})
    asked_for_more = ensure_topics(broker.bootstrap, {topic: 6})

    assert (first, second, asked_for_more) == ({topic: "created"}, {topic: "exists"}, {topic: "exists"})
    assert partition_counts(broker.bootstrap, [topic]) == {topic: 2}


def test_transactional_writes_are_visible_to_read_committed_consumers(broker):
    # Quix Streams' exactly-once mode needs the transaction state log on a 1-broker cluster
    topic = unique_topic("transactions")
    ensure_topics(broker.bootstrap, {topic: 1})
    producer = Producer({"bootstrap.servers": broker.bootstrap, "transactional.id": f"test-{uuid.uuid4().hex}"})
    producer.init_transactions(30)
    producer.begin_transaction()
    producer.produce(topic, key="committed", value="1")
    producer.commit_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, key="aborted", value="2")
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce(topic, key="committed-later", value="3")
    producer.commit_transaction(30)

    received = consume(broker.bootstrap, topic, 2, **{"isolation.level": "read_committed"})

    assert [key for key, _, _ in received] == ["committed", "committed-later"]


def test_a_second_broker_on_the_same_data_dir_is_refused(broker, settings):
    # two brokers writing one KRaft metadata log corrupt it
    other_port, other_controller_port = free_ports(2)

    with pytest.raises(RuntimeError, match=f"in use by another Kafka broker \\(pid {broker.process.pid}\\)"):
        kafka_broker.start_broker(broker.data_dir, other_port, other_controller_port, settings)


def test_messages_and_committed_offsets_survive_a_restart(settings, tmp_path):
    topic = unique_topic("restart")
    group = "restart-group"
    with KafkaBroker(tmp_path / "kafka", settings=settings, topics={topic: 2}) as broker:
        bootstrap = broker.bootstrap
        produce(bootstrap, topic, [(f"k{i}", f"before-{i}") for i in range(50)])
        first_20 = {value for _, value, _ in consume(bootstrap, topic, 20, group=group, timeout=15)}
        assert len(first_20) == 20

        broker.restart()

        assert broker.bootstrap == bootstrap
        everything = consume(bootstrap, topic, 50)
        assert sorted(value for _, value, _ in everything) == sorted(f"before-{i}" for i in range(50))
        # the group resumes right after what it committed before the restart
        rest = {value for _, value, _ in consume(bootstrap, topic, 30, group=group, timeout=15)}
        assert rest == {value for _, value, _ in everything} - first_20


def test_acknowledged_messages_survive_a_crash(settings, tmp_path):
    topic = unique_topic("crash")
    with KafkaBroker(tmp_path / "kafka", settings=settings, topics={topic: 2}) as broker:
        acknowledged = [(f"k{i}", f"acked-{i}") for i in range(100)]
        produce(broker.bootstrap, topic, acknowledged)

        broker.kill()
        broker.start()

        received = consume(broker.bootstrap, topic, len(acknowledged))
        assert sorted((key, value) for key, value, _ in received) == sorted(acknowledged)


def test_wait_until_ready_says_what_to_do_when_nothing_listens():
    (port,) = free_ports(1)

    with pytest.raises(kafka_broker.BrokerNotReady, match="VIGIL_KAFKA_BROKERS"):
        kafka_broker.wait_until_ready(f"127.0.0.1:{port}", timeout=1.0)


def test_vigil_kafka_prints_ready_creates_topics_and_stops_cleanly_on_sigterm(tmp_path):
    settings = settings_module.load()
    port, controller_port = free_ports(2)
    data_dir = tmp_path / "vigil"
    data_dir.mkdir()
    # reuse the jars this machine already has instead of fetching them again
    (data_dir / "lib").symlink_to(kafka_broker.ensure_jars(settings).parent, target_is_directory=True)
    env = dict(
        os.environ,
        VIGIL_DATA_DIR=str(data_dir),
        VIGIL_KAFKA_PORT=str(port),
        VIGIL_KAFKA_CONTROLLER_PORT=str(controller_port),
        VIGIL_KAFKA_BROKERS=f"127.0.0.1:{port}",
        VIGIL_TOPIC_PARTITIONS="2",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline.cli", "kafka"], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        output = []
        for line in process.stdout:
            output.append(line)
            if line.startswith("Kafka ready"):
                break
        assert any(line.startswith("Kafka ready") for line in output), "".join(output)
        assert partition_counts(f"127.0.0.1:{port}", ["vigil.events", "vigil.events.dlq", SIGNALS_TOPIC]) == {
            "vigil.events": 2, "vigil.events.dlq": 2, SIGNALS_TOPIC: 2,
        }
        assert (data_dir / "kafka" / "data" / "meta.properties").is_file()

        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    assert process.returncode == 0, "".join(output) + rest
    assert "Kafka stopped." in rest
    assert not kafka_broker.port_in_use(port), "the JVM outlived `vigil kafka`"
