"""Vigil's Kafka topics, created idempotently through the Kafka admin API.

Used by ``vigil kafka`` once the embedded broker answers, and usable against any cluster
(``VIGIL_KAFKA_BROKERS``): an existing topic is left exactly as it is, a missing one is
created with the configured partition count and the cluster's default replication factor.
"""

from __future__ import annotations

import logging
import time

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from pipeline import settings as settings_module
from pipeline.broker.connection import security_config
from pipeline.settings import Settings, redacted

log = logging.getLogger(__name__)

# windowed aggregates → alert signals (`vigil signals` writes, the alert evaluator reads)
SIGNALS_TOPIC = "vigil.signals"

# -1 = the cluster's default.replication.factor (KIP-464): 1 on the embedded single-node
# broker, whatever the operator chose on a real cluster
CLUSTER_DEFAULT_REPLICATION = -1


def vigil_topics(settings: Settings | None = None) -> dict[str, int]:
    """The topics Vigil needs, each with its partition count."""
    s = settings or settings_module.load()
    return {name: s.topic_partitions for name in (s.events_topic, s.dlq_topic, s.samples_topic, SIGNALS_TOPIC)}


def ensure_topics(
    bootstrap: str,
    topics: dict[str, int] | None = None,
    settings: Settings | None = None,
    timeout: float = 30.0,
) -> dict[str, str]:
    """Create every topic in ``topics`` (name → partitions) that does not exist yet.

    ``topics`` defaults to :func:`vigil_topics`. Returns name → ``"created"`` or
    ``"exists"``. Safe to call any number of times, also concurrently: a topic that someone
    else created first counts as existing. An existing topic with a different partition
    count is kept (Kafka cannot shrink a topic, and growing one would move keys between
    partitions) and a warning says so. Raises ``RuntimeError`` naming the topic and the
    broker's reason when a topic cannot be created within ``timeout`` seconds.
    """
    wanted = dict(topics) if topics is not None else vigil_topics(settings)
    if not wanted:
        return {}
    for name, partitions in wanted.items():
        if partitions < 1:
            raise ValueError(f"topic {name!r}: partitions must be at least 1, got {partitions}")

    # the bootstrap list given; TLS/SASL from settings (none for the embedded broker)
    admin = AdminClient({**(security_config(settings) if settings is not None else {}), "bootstrap.servers": bootstrap})
    deadline = time.monotonic() + timeout
    outcome: dict[str, str] = {}
    last_error: KafkaError | None = None
    missing = _missing_topics(admin, wanted, outcome, deadline, bootstrap)
    while missing:
        remaining = max(deadline - time.monotonic(), 1.0)
        futures = admin.create_topics(
            [NewTopic(name, num_partitions=wanted[name], replication_factor=CLUSTER_DEFAULT_REPLICATION)
             for name in missing],
            operation_timeout=min(remaining, 10.0),
            request_timeout=min(remaining, 15.0),
        )
        retry: list[str] = []
        for name, future in futures.items():
            try:
                future.result()
                outcome[name] = "created"
                log.info("created topic %s with %d partitions", name, wanted[name])
            except KafkaException as exc:
                error: KafkaError = exc.args[0]
                if error.code() == KafkaError.TOPIC_ALREADY_EXISTS:
                    outcome[name] = "exists"
                elif error.retriable() or error.code() == KafkaError._TIMED_OUT:
                    retry.append(name)
                    last_error = error
                else:
                    raise RuntimeError(
                        f"could not create Kafka topic {name!r} ({wanted[name]} partitions) on {redacted(bootstrap)}: "
                        f"{error.str()}. Check the broker's log, or create the topic by hand."
                    ) from exc
        if retry and time.monotonic() >= deadline:
            reason = last_error.str() if last_error else "timed out"
            raise RuntimeError(
                f"could not create Kafka topics {retry} on {redacted(bootstrap)} within {timeout:.0f}s: {reason}. "
                "Is the cluster healthy (enough brokers for its replication factor)?"
            )
        if retry:
            time.sleep(0.5)
        missing = retry
    return outcome


def _missing_topics(
    admin: AdminClient, wanted: dict[str, int], outcome: dict[str, str], deadline: float, bootstrap: str
) -> list[str]:
    """Record topics that already exist in ``outcome`` and return the ones to create."""
    try:
        metadata = admin.list_topics(timeout=max(deadline - time.monotonic(), 1.0))
    except KafkaException as exc:
        raise RuntimeError(
            f"Kafka at {redacted(bootstrap)} did not answer a metadata request: {exc.args[0].str()}. "
            "Start it with `vigil kafka`, or point VIGIL_KAFKA_BROKERS at a running cluster."
        ) from exc
    missing = []
    for name, partitions in wanted.items():
        existing = metadata.topics.get(name)
        if existing is None or existing.error is not None:
            missing.append(name)
            continue
        outcome[name] = "exists"
        if len(existing.partitions) != partitions:
            log.warning(
                "topic %s exists with %d partitions, not the configured %d; keeping it as it is "
                "(grow it with kafka-topics --alter if you need more consumers)",
                name, len(existing.partitions), partitions,
            )
    return missing


def main() -> int:
    """``python -m pipeline.broker.topics``: create Vigil's topics on ``VIGIL_KAFKA_BROKERS``."""
    s = settings_module.load()
    try:
        outcome = ensure_topics(s.kafka_brokers, settings=s)
    except RuntimeError as exc:
        print(f"error: {exc}")
        return 1
    for name, partitions in vigil_topics(s).items():
        print(f"{name}: {outcome[name]} ({partitions} partitions wanted)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
