"""The Quix Streams services outlive a broker restart: a commit Kafka can retry restarts the stream."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from quixstreams.checkpointing.exceptions import CheckpointConsumerCommitError
from quixstreams.internal_producer import KafkaProducerTransactionCommitFailed

from pipeline.stream import runner as streaming


class _Sink:
    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


class _FlushOnlySink:
    """A sink without resources of its own (most of Quix Streams' own): nothing to close."""


class _Stream:
    """Stands in for a Quix Application: ``run()`` raises the given errors, one per run, then returns."""

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.runs = 0
        self.built: list[_Sink] = []

    def build(self) -> streaming.Stream:
        """A fresh application (as the services' factories make one per run), with its own sink."""
        sink = _Sink()
        self.built.append(sink)
        return streaming.Stream(self, (_FlushOnlySink(), sink))  # type: ignore[arg-type]

    def run(self) -> None:
        self.runs += 1
        if self.errors:
            raise self.errors.pop(0)


def test_a_commit_kafka_can_retry_restarts_the_stream_instead_of_ending_the_processor(monkeypatch):
    monkeypatch.setattr(streaming.time, "sleep", lambda _seconds: None)
    stream = _Stream([CheckpointConsumerCommitError(KafkaError(KafkaError.NOT_COORDINATOR)),
                      CheckpointConsumerCommitError(KafkaError(KafkaError.COORDINATOR_LOAD_IN_PROGRESS))])
    streaming.run_until_stopped(stream.build)
    assert stream.runs == 3


def test_a_commit_refused_for_good_still_ends_the_processor(monkeypatch):
    monkeypatch.setattr(streaming.time, "sleep", lambda _seconds: None)
    stream = _Stream([CheckpointConsumerCommitError(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED))])
    with pytest.raises(CheckpointConsumerCommitError):
        streaming.run_until_stopped(stream.build)
    assert stream.runs == 1


def test_kafka_timing_out_while_the_stream_is_built_retries_instead_of_ending_the_processor(monkeypatch):
    # a broker of a cluster SIGKILLed moments ago is still named the controller for a few seconds;
    # Quix Streams' topic inspection (describe_configs, in app.topic()) then times out waiting for it
    monkeypatch.setattr(streaming.time, "sleep", lambda _seconds: None)
    stream = _Stream([])
    failures = [KafkaException(KafkaError(KafkaError._TIMED_OUT, "Timed out waiting for controller")),
                KafkaException(KafkaError(KafkaError._TRANSPORT))]

    def build() -> streaming.Stream:
        if failures:
            raise failures.pop(0)
        return stream.build()

    streaming.run_until_stopped(build)
    assert stream.runs == 1 and not failures


def test_kafka_refusing_the_stream_for_good_still_ends_the_processor(monkeypatch):
    monkeypatch.setattr(streaming.time, "sleep", lambda _seconds: None)

    def build() -> streaming.Stream:
        raise KafkaException(KafkaError(KafkaError.TOPIC_AUTHORIZATION_FAILED))

    with pytest.raises(KafkaException):
        streaming.run_until_stopped(build)


def test_every_application_run_closes_its_sinks_also_when_the_run_failed(monkeypatch):
    monkeypatch.setattr(streaming.time, "sleep", lambda _seconds: None)
    stream = _Stream([CheckpointConsumerCommitError(KafkaError(KafkaError.NOT_COORDINATOR)),
                      CheckpointConsumerCommitError(KafkaError(KafkaError.GROUP_AUTHORIZATION_FAILED))])
    with pytest.raises(CheckpointConsumerCommitError):
        streaming.run_until_stopped(stream.build)
    # a restart does not leak the failed run's writer thread and DLQ producer
    assert [sink.closed for sink in stream.built] == [1, 1]


def test_a_checkpoint_transaction_kafka_can_retry_restarts_the_stream(monkeypatch):
    # exactly-once: a broker restart can fail a checkpoint's transaction; a fresh application
    # (a new transactional producer) reads the aborted checkpoint's messages again
    monkeypatch.setattr(streaming.time, "sleep", lambda _seconds: None)
    stream = _Stream([KafkaProducerTransactionCommitFailed("All Kafka commit_transaction attempts failed"),
                      KafkaException(KafkaError(KafkaError._TIMED_OUT, "commit timed out", retriable=True)),
                      KafkaException(KafkaError(KafkaError._STATE, "abortable", txn_requires_abort=True))])
    streaming.run_until_stopped(stream.build)
    assert stream.runs == 4


def test_a_fatal_transaction_error_still_ends_the_processor(monkeypatch):
    monkeypatch.setattr(streaming.time, "sleep", lambda _seconds: None)
    stream = _Stream([KafkaException(KafkaError(KafkaError._FENCED, "fenced", fatal=True))])
    with pytest.raises(KafkaException):
        streaming.run_until_stopped(stream.build)
    assert stream.runs == 1
