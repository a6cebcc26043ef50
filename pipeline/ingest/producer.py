"""Produce events to Kafka and wait until Kafka acknowledged every one of them.

One idempotent librdkafka producer per collector process (``acks=all``, a few ms of linger,
lz4): requests hand it their messages and await a single asyncio future that resolves once
every delivery report for the batch came back — or fails on the first failed report, or
after ``VIGIL_KAFKA_ACK_TIMEOUT``.

Delivery reports are served by ``poll()``, which runs a Python callback per message and
takes the GIL for each. Who polls depends on the load:

- while requests wait for Kafka, the event loop itself polls every millisecond (a *pump*
  task): callbacks run on the thread that already holds the GIL and futures resolve in
  place — no lock handover per message, which under load is what a polling thread costs;
- while nothing waits, a background thread polls (so error callbacks and librdkafka's logs
  are served, and a lone request is answered the moment its report arrives), handing
  resolved futures to the loop once per poll.

Kafka down is not fatal to the collector: messages time out, requests get 503, and
librdkafka reconnects by itself when the broker returns. Should the idempotent producer
hit a *fatal* error (it then refuses all further work), it is replaced by a fresh one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from pipeline.broker.connection import producer_config
from pipeline.ingest.problems import RETRY_AFTER_UNAVAILABLE, Problem, problem
from pipeline.settings import Settings, redacted

log = logging.getLogger(__name__)
kafka_log = logging.getLogger("pipeline.ingest.librdkafka")

# the background thread's poll timeout while idle, and the pump's period while busy
IDLE_POLL_S = 0.05
PUMP_PERIOD_S = 0.001
# delivery failures are logged at most this often (one line summarises the rest)
FAILURE_LOG_INTERVAL_S = 10.0


class _Delivery:
    """One request's messages in flight: settled when all are acknowledged, or one failed."""

    __slots__ = ("future", "remaining", "error", "settled")

    def __init__(self, future: asyncio.Future[None], count: int, settled: deque[_Delivery]) -> None:
        self.future = future
        self.remaining = count
        self.error: KafkaError | None = None
        self.settled = settled

    def on_delivery(self, error: KafkaError | None, _message: Any) -> None:
        # runs in whichever thread polled; the deque hands the delivery to the event loop
        if error is not None:
            if self.error is None:
                self.error = error
                self.settled.append(self)
            return
        self.remaining -= 1
        if self.remaining == 0 and self.error is None:
            self.settled.append(self)


class KafkaDeliveryFailed(Exception):
    """Kafka reported a failed delivery for one of the batch's messages."""


class KafkaAckTimeout(Exception):
    """Kafka did not acknowledge the batch in time."""


class EventProducer:
    """Produces to ``settings.events_topic``; :meth:`send` returns only once Kafka acknowledged."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topic = settings.events_topic
        self.ack_timeout_s = settings.kafka_ack_timeout_s
        self._config = producer_config(settings)
        self._producer = self._new_producer()
        self._settled: deque[_Delivery] = deque()  # appended by callbacks, drained on the loop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._flush_timeout_s = 5.0
        self._waiting = 0  # requests awaiting delivery reports (event-loop thread only)
        self._idle = threading.Event()  # set while none waits: the background thread polls
        self._idle.set()
        self._pump: asyncio.Task[None] | None = None
        # (deadline, delivery) in the order requests started waiting: with one timeout for all,
        # that is deadline order, so the pump only ever looks at the front
        self._deadlines: deque[tuple[float, _Delivery]] = deque()
        self._fatal: KafkaError | None = None
        self._replacing = threading.Lock()
        self._failures = 0
        self._last_failure_log = 0.0

    def _new_producer(self) -> Producer:
        return Producer({**self._config, "error_cb": self._on_error, "logger": kafka_log})

    # ── lifecycle ──────────────────────────────────────────────────────────────────────

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the background poller; futures are resolved on ``loop``."""
        self._loop = loop
        self._thread = threading.Thread(target=self._poll_while_idle, name="vigil-kafka-poll", daemon=True)
        self._thread.start()

    async def close(self, timeout_s: float = 5.0) -> None:
        """Flush what is in flight (waiting requests still get their answers), then stop."""
        self._flush_timeout_s = timeout_s
        self._stopping.set()
        self._idle.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, timeout_s + 1.0)
        self._drain()

    def _poll_while_idle(self) -> None:
        loop = self._loop
        assert loop is not None
        while not self._stopping.is_set():
            if not self._idle.wait(IDLE_POLL_S):
                continue  # requests are waiting: the pump on the event loop polls
            self._producer.poll(IDLE_POLL_S)
            if self._settled:
                self._wake(loop)
            self._check_fatal()
        remaining = self._producer.flush(self._flush_timeout_s)
        if remaining:
            log.warning("%d message(s) were still unacknowledged when the collector stopped", remaining)
        if self._settled:
            self._wake(loop)

    def _wake(self, loop: asyncio.AbstractEventLoop) -> None:
        """From the background thread: have the loop resolve what was settled (once per poll)."""
        try:
            loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop closed under us during shutdown
            pass

    async def _pump_while_waiting(self) -> None:
        """Poll on the event loop while any request waits for Kafka; time out the overdue."""
        loop = asyncio.get_running_loop()
        deadlines = self._deadlines
        try:
            while self._waiting:
                try:
                    self._producer.poll(0)
                    self._drain()
                    self._check_fatal()
                except Exception:  # keep pumping: the deadlines below must still be enforced
                    log.exception("polling Kafka's delivery reports failed")
                now = loop.time()
                while deadlines and (deadlines[0][1].future.done() or deadlines[0][0] <= now):
                    _, delivery = deadlines.popleft()
                    if not delivery.future.done():
                        delivery.future.set_exception(KafkaAckTimeout())
                await asyncio.sleep(PUMP_PERIOD_S)
        finally:
            self._pump = None
            deadlines.clear()  # nobody waits any more: every entry is settled

    def _drain(self) -> None:
        """Resolve the futures of settled deliveries (event-loop thread)."""
        settled = self._settled
        while settled:
            delivery = settled.popleft()
            if delivery.future.done():  # timed out already
                continue
            if delivery.error is not None:
                delivery.future.set_exception(KafkaDeliveryFailed(delivery.error))
            else:
                delivery.future.set_result(None)

    def _check_fatal(self) -> None:
        """A fatal error leaves an idempotent producer unusable: fail what it holds, start anew."""
        if self._fatal is None or not self._replacing.acquire(blocking=False):
            return
        try:
            if self._fatal is None:
                return
            log.error("Kafka producer hit a fatal error (%s); replacing it with a new producer", self._fatal)
            self._fatal = None
            broken, self._producer = self._producer, self._new_producer()
            try:
                broken.purge()
                broken.flush(0)  # delivers the purge errors to the waiting requests
            except KafkaException:
                pass
        finally:
            self._replacing.release()

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            self._fatal = error
        elif error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            log.warning("Kafka at %s: %s", redacted(self.settings.kafka_brokers), error.str())
        else:
            log.info("Kafka: %s", error.str())

    # ── the hot path ───────────────────────────────────────────────────────────────────

    async def send(self, messages: list[tuple[bytes, bytes]]) -> None:
        """Produce ``(key, value)`` messages; return once Kafka acknowledged all of them.

        Raises a 503 :class:`~pipeline.ingest.problems.Problem` (``kafka_unavailable`` or
        ``kafka_timeout``) otherwise — then some of the messages may still have been written,
        which is safe: events carry their ``event_id`` and the warehouse keeps one copy.
        """
        loop = self._loop
        assert loop is not None, "EventProducer.start(loop) was not called"
        delivery = _Delivery(loop.create_future(), len(messages), self._settled)
        on_delivery = delivery.on_delivery
        produce = self._producer.produce
        topic = self.topic
        try:
            for key, value in messages:
                produce(topic, value, key, on_delivery=on_delivery)
        except BufferError:
            self._note_failure("the local queue to Kafka is full")
            raise problem("kafka_unavailable",
                          f"the collector's queue to Kafka ({redacted(self.settings.kafka_brokers)}) is full — "
                          "Kafka is slow or down; nothing was acknowledged, resend later",
                          retry_after=RETRY_AFTER_UNAVAILABLE) from None
        except KafkaException as error:
            self._note_failure(error.args[0].str())
            raise problem("kafka_unavailable", f"Kafka refused the events ({error.args[0].str()}); resend later",
                          retry_after=RETRY_AFTER_UNAVAILABLE) from None
        self._deadlines.append((loop.time() + self.ack_timeout_s, delivery))
        self._waiting += 1
        if self._waiting == 1:
            self._idle.clear()
        if self._pump is None:
            self._pump = loop.create_task(self._pump_while_waiting())
        try:
            await delivery.future
        except KafkaDeliveryFailed as failed:
            error: KafkaError = failed.args[0]
            self._note_failure(error.str())
            if error.code() == KafkaError._MSG_TIMED_OUT:
                raise self._timeout_problem() from None
            raise problem("kafka_unavailable", f"Kafka did not store the events ({error.str()}); resend later",
                          retry_after=RETRY_AFTER_UNAVAILABLE) from None
        except KafkaAckTimeout:
            self._note_failure("no acknowledgement in time")
            raise self._timeout_problem() from None
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                self._idle.set()

    def _timeout_problem(self) -> Problem:
        return problem("kafka_timeout",
                       f"Kafka ({redacted(self.settings.kafka_brokers)}) did not acknowledge the events within "
                       f"{self.ack_timeout_s:g}s; resend later (events are de-duplicated by event_id)",
                       retry_after=RETRY_AFTER_UNAVAILABLE)

    def _note_failure(self, what: str) -> None:
        self._failures += 1
        now = time.monotonic()
        if now - self._last_failure_log >= FAILURE_LOG_INTERVAL_S:
            log.warning("Kafka delivery failed: %s (%d failed request(s) since the last report)", what, self._failures)
            self._failures = 0
            self._last_failure_log = now

    # ── health ─────────────────────────────────────────────────────────────────────────

    def describe(self, timeout_s: float = 2.0) -> dict[str, Any]:
        """Ask the cluster for the events topic's metadata (blocking). Raises if Kafka can't be reached."""
        metadata = self._producer.list_topics(self.topic, timeout=timeout_s)
        topic = metadata.topics.get(self.topic)
        info: dict[str, Any] = {
            "bootstrap": redacted(self.settings.kafka_brokers),
            "brokers": len(metadata.brokers),
            "topic": self.topic,
            "partitions": len(topic.partitions) if topic is not None and topic.error is None else 0,
            "queued_messages": len(self._producer),
        }
        if topic is None or topic.error is not None:
            info["topic_error"] = topic.error.str() if topic is not None else "missing"
        return info

