"""The producer's promise, where no broker answers: a request gets its 503 in time, never
a 2xx, and the waiting machinery winds down. (Delivery against a real broker, and a broker
stopped and restarted under a running collector, are in tests/integration/test_collector.py.)"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from confluent_kafka import KafkaException

from pipeline import settings as settings_module
from pipeline.ingest.problems import Problem
from pipeline.ingest.producer import EventProducer
from tests.support.kafka import free_ports


def producer_without_broker(ack_timeout_s: float) -> EventProducer:
    # a closed port on loopback: librdkafka keeps trying to connect, nothing acknowledges
    settings = dataclasses.replace(settings_module.load(), kafka_brokers=f"127.0.0.1:{free_ports(1)[0]}",
                                   kafka_ack_timeout_s=ack_timeout_s)
    return EventProducer(settings)


def test_unacknowledged_events_are_a_503_within_the_ack_timeout():
    async def scenario():
        loop = asyncio.get_running_loop()
        producer = producer_without_broker(ack_timeout_s=1.0)
        producer.start(loop)
        started = loop.time()
        outcomes = await asyncio.gather(
            *(producer.send([(b"s_1", b'{"event_id": "e%d"}' % i)]) for i in range(20)), return_exceptions=True)
        elapsed = loop.time() - started
        waiting_after = producer._waiting
        await producer.close(timeout_s=0.5)
        return outcomes, elapsed, waiting_after

    outcomes, elapsed, waiting_after = asyncio.run(scenario())
    assert all(isinstance(outcome, Problem) for outcome in outcomes), outcomes
    assert {(o.status, o.reason) for o in outcomes} <= {(503, "kafka_timeout"), (503, "kafka_unavailable")}
    assert all(o.retry_after and o.retry_after >= 1 for o in outcomes)
    assert 0.9 <= elapsed < 2.5
    assert waiting_after == 0


def test_health_says_kafka_cannot_be_reached():
    producer = producer_without_broker(ack_timeout_s=1.0)
    with pytest.raises(KafkaException):
        producer.describe(timeout_s=0.5)
