"""Dead letters → the DLQ topic (``vigil.events.dlq``): a Quix Streams sink with its own producer.

Each dead letter goes out keyed like the message it came from (the session id) through an
idempotent producer (acks=all, the Java client's partitioner: a session's dead letters
share its input's partition). :meth:`DeadLetterSink.flush` waits until Kafka acknowledged
every one of them; it runs in the checkpoint before Quix Streams commits the offsets, so a
drop is on the DLQ topic or its message will be read again, as with Quix's own
``to_topic``. A refusal or a timeout backs off (``SinkBackpressureError``): the checkpoint
is read again from Kafka, nothing is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from confluent_kafka import KafkaException, Producer
from quixstreams.models import HeadersTuples
from quixstreams.sinks import BaseSink, SinkBackpressureError

from pipeline.broker.connection import kafka_config
from pipeline.processor.counters import Counters
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def dead_letter_producer_config(settings: Settings, timeout: float) -> dict[str, Any]:
    """librdkafka settings of the DLQ producer: durable (idempotent, acks=all), keyed as the input,
    a message given up on after ``timeout`` seconds."""
    return kafka_config(settings, **{
        "client.id": "vigil-processor-dlq",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 20,
        "compression.type": "lz4",
        # the Java client's partitioner, as the collector's: a session's dead letters share its partition
        "partitioner": "murmur2_random",
        "message.timeout.ms": max(int(timeout * 1000), 1000),
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 1000,
        "socket.keepalive.enable": True,
        "log.connection.close": False,
    })


class DeadLetterSink(BaseSink):
    """Dead-letter records (bytes, keyed like their input message) to ``settings.dlq_topic``."""

    def __init__(self, settings: Settings, *, counters: Counters | None = None, timeout: float = 30.0,
                 retry_after: float = 1.0) -> None:
        super().__init__(on_client_connect_success=lambda: None, on_client_connect_failure=lambda _error: None)
        self.topic = settings.dlq_topic
        self.counters = counters or Counters()
        self.timeout = timeout
        self.retry_after = retry_after
        self._failure: str | None = None
        self._producer: Producer | None = Producer(dead_letter_producer_config(settings, timeout))

    def add(self, value: bytes, key: Any, timestamp: int = 0, headers: HeadersTuples = (),
            topic: str = "", partition: int = 0, offset: int = 0) -> None:
        """Send one record now; :meth:`flush` waits for its acknowledgement."""
        producer = self._producer
        while True:
            try:
                producer.produce(self.topic, value, key=key, on_delivery=self._delivered)  # type: ignore[union-attr]
                break
            except BufferError:  # librdkafka's queue is full: let deliveries drain, then retry
                producer.poll(0.1)  # type: ignore[union-attr]
        producer.poll(0)  # type: ignore[union-attr]

    def _delivered(self, error: Any, _message: Any) -> None:
        if error is not None and self._failure is None:
            self._failure = str(error)

    def flush(self) -> None:
        """Every record acknowledged by Kafka, or back off (the checkpoint is read again)."""
        remaining = self._wait()
        failure, self._failure = self._failure, None
        if remaining or failure:
            self.counters.backpressured += 1
            log.warning("the DLQ topic %s did not take %s; this checkpoint will be re-read from Kafka",
                        self.topic, failure or f"{remaining} dead letter(s) within {self.timeout:.0f}s")
            raise SinkBackpressureError(retry_after=self.retry_after)

    def _wait(self) -> int:
        """Wait for the acknowledgements; the records still unacknowledged after ``timeout``."""
        try:
            return self._producer.flush(self.timeout)  # type: ignore[union-attr]
        except KafkaException as exc:
            self._failure = self._failure or str(exc)
            return 0

    def on_paused(self) -> None:
        """Backpressure elsewhere: the checkpoint's messages are read again and their dead letters
        produced again; settle what is in flight and forget its failures."""
        self._wait()
        self._failure = None

    def close(self) -> None:
        """Let go of the producer, so librdkafka's threads end with it (left alone they go on
        calling a broker that may be gone, and every restart of the stream would leak one).

        After a clean stop Quix Streams' final checkpoint has flushed every dead letter. After a
        failed one, what is still queued belongs to messages whose offsets were not committed:
        they will be read again and their dead letters produced again, so the queue is purged
        rather than waited for (waiting could only put the same dead letter on the topic twice).
        """
        if self._producer is not None:
            self._producer.purge()
            self._producer.flush(0)  # serve the purged messages' delivery reports
            self._producer = None  # the last reference: the producer is destroyed here
