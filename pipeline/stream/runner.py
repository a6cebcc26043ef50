"""What Vigil's Quix Streams services (``vigil process``, ``vigil signals``) share around ``app.run()``.

Both start the same way — settings from ``VIGIL_*``, logging, their topics created if
missing — and both must outlive a Kafka broker restart: Quix Streams ends ``run()`` on any
failed checkpoint commit, also when the cause is a group coordinator that is moving or still
loading, which a later retry gets past. On a cluster they must outlive a broker's loss too:
for a few seconds after a broker dies, the cluster may still name it as its controller, and
Quix Streams' topic inspection (``app.topic()``) times out waiting for it.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from typing import Callable

from confluent_kafka import KafkaError, KafkaException
from quixstreams import Application
from quixstreams.checkpointing.exceptions import CheckpointConsumerCommitError, CheckpointProducerTimeout
from quixstreams.internal_producer import KafkaProducerTransactionCommitFailed
from quixstreams.kafka.exceptions import KafkaProducerDeliveryError
from quixstreams.sinks import BaseSink

from pipeline import settings as settings_module
from pipeline.broker.topics import ensure_topics
from pipeline.settings import Settings

log = logging.getLogger(__name__)

# Kafka errors a commit may hit while the group coordinator moves or restarts (a broker
# restart, a leader change): retrying later succeeds, so they must not end the service
RETRIABLE_COMMIT_ERRORS = frozenset({
    KafkaError.NOT_COORDINATOR,
    KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
    KafkaError.COORDINATOR_NOT_AVAILABLE,
    KafkaError.REQUEST_TIMED_OUT,
    KafkaError.REBALANCE_IN_PROGRESS,
    KafkaError._TRANSPORT,
    KafkaError._TIMED_OUT,
    KafkaError._ALL_BROKERS_DOWN,
    KafkaError._WAIT_COORD,
})


@dataclass(frozen=True)
class Stream:
    """A Quix Streams application and the sinks it writes through that hold resources of their
    own (a writer thread, a producer, a timer), which :meth:`close` lets go of once ``run()``
    ended: Quix Streams has no hook for it, its sinks only ever get flushed."""

    app: Application
    sinks: tuple[BaseSink, ...] = ()

    def run(self) -> None:
        """Run until stopped (``app.run()``)."""
        self.app.run()

    def stop(self) -> None:
        """Ask the running stream to stop after the message in hand (``app.stop()``)."""
        self.app.stop()

    def close(self) -> None:
        """Close every sink that can be; a failure is logged and the others are closed still."""
        for sink in self.sinks:
            close = getattr(sink, "close", None)
            if close is None:
                continue
            try:
                close()
            except Exception:  # noqa: BLE001 - shutting down: report it and close the others
                log.exception("closing the sink %r failed", sink)


def start_service(command: str) -> Settings | None:
    """Settings, logging and topics for ``vigil <command>``; None (after saying why) if Kafka refuses."""
    settings = settings_module.load()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        ensure_topics(settings.kafka_brokers, settings=settings)
    except RuntimeError as exc:
        print(f"vigil {command}: {exc}", file=sys.stderr)
        return None
    return settings


def kafka_can_retry(error: KafkaError) -> bool:
    """Whether a later attempt may succeed: the cluster is recovering, not refusing."""
    return error.code() in RETRIABLE_COMMIT_ERRORS or error.retriable()


def run_until_stopped(make_stream: Callable[[], Stream], max_pause: float = 30.0) -> None:
    """Run the stream until it is stopped (SIGTERM/SIGINT), surviving failed commits Kafka can retry,
    and Kafka errors it can retry while the stream is being built.

    The offsets of a failed commit simply stay uncommitted: a fresh application (new
    consumer, same group) resumes from the last committed offsets, and everything
    downstream absorbs the re-read (the warehouse collapses rows by ``event_id``, windows
    by project and minute). Any other error still ends the process.
    """
    pause = 1.0
    while True:
        try:
            stream = make_stream()
        except KafkaException as exc:
            error = exc.args[0] if exc.args else None
            if not isinstance(error, KafkaError) or not kafka_can_retry(error):
                raise
            log.warning("Kafka did not answer while the stream was set up (%s: %s), a broker may be down; "
                        "trying again in %.0fs", error.name(), error.str(), pause)
            time.sleep(pause)
            pause = min(pause * 2, max_pause)
            continue
        try:
            stream.run()
            return
        except CheckpointConsumerCommitError as exc:
            if not kafka_can_retry(exc.error):
                raise
            log.warning("committing offsets failed (%s: %s), Kafka is recovering; the uncommitted "
                        "messages will be read again, restarting the stream in %.0fs",
                        exc.error.name(), exc.description, pause)
        except (KafkaException, KafkaProducerTransactionCommitFailed, CheckpointProducerTimeout,
                KafkaProducerDeliveryError) as exc:
            if not checkpoint_can_be_retried(exc):
                raise
            log.warning("the checkpoint's Kafka transaction failed (%s), Kafka is recovering; it is aborted "
                        "and its messages will be read again, restarting the stream in %.0fs", exc, pause)
        finally:
            stream.close()  # its threads and producer go before the next run makes its own
        time.sleep(pause)
        pause = min(pause * 2, max_pause)


def checkpoint_can_be_retried(exc: Exception) -> bool:
    """A checkpoint's transaction (exactly-once) failed in a way a fresh application gets past:
    Quix gave up retrying it, its produce timed out, or Kafka calls the error retriable or
    abortable (a broker restart). Never a fatal error (a fenced producer, a refused ACL)."""
    if not isinstance(exc, KafkaException):
        return True  # Quix's own: retries exhausted, a flush or a delivery that timed out
    error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
    return error is not None and not error.fatal() and (kafka_can_retry(error) or error.txn_requires_abort())
