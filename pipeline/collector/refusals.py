"""Refusals, counted (what Sentry calls outcomes): by minute, project, transport and reason.

A refused request never reaches Kafka, so neither the DLQ nor any table would know of it.
The collector counts each one where it becomes an answer (:meth:`RefusalLog.record`): a
whole request refused (``unit`` = ``request``, any 4xx/5xx with a reason) and each event
refused inside a batch (``unit`` = ``event``). Counting is a dict increment on the request
path; each worker keeps its counts in memory and inserts them into ClickHouse's
``refusals_minute`` (075) every ``VIGIL_REFUSALS_FLUSH`` seconds and at shutdown, on a
thread, so ClickHouse never slows or blocks an answer.

Why straight into ClickHouse rather than through Kafka: the counts must outlive a Kafka
outage (``kafka_unavailable`` is one of the refusals worth seeing), they need no
processor to be running, and the collector already reaches ClickHouse for its projects.
When ClickHouse is away the counts wait, frozen in batches, and each batch is retried as
the same block with the same ``insert_deduplication_token`` — an insert that timed out but
did land is not counted twice. At most :data:`MAX_PENDING_ROWS` rows wait; beyond that the
oldest batch is dropped, logged and counted (``vigil_collector_refusal_counts_lost``).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from pipeline.collector.metrics import CollectorMetrics
    from pipeline.settings import Settings

log = logging.getLogger(__name__)

TABLE = "refusals_minute"
COLUMNS = ("minute", "project_id", "transport", "reason", "unit", "refusals")
# the endpoint of a path (pipeline.collector.routes) → the transport a refusal is counted under
TRANSPORTS = {"events": "events", "pixel.gif": "pixel", "ws": "websocket", "envelope": "sentry_envelope",
              "store": "sentry_store"}
OTHER = "other"  # a path that names no endpoint (scanners, typos), /healthz
UNIFIED = "unified"  # a unified (Sentry-like) document, whichever transport carried it
REQUEST, EVENT = "request", "event"
# distinct keys one worker keeps apart between two flushes; past it a refusal's project is
# counted as 0, so a flood of made-up project ids costs bounded memory and rows
MAX_KEYS = 10_000
# rows waiting for ClickHouse at most (a few MB); the oldest batch goes first beyond it
MAX_PENDING_ROWS = 200_000
SHUTDOWN_FLUSH_TIMEOUT_S = 5.0

Key = tuple[int, int, str, str, str]  # minute (epoch seconds), project id, transport, reason, unit
Insert = Callable[[list[tuple], str], None]  # rows, deduplication token


def transport_of(endpoint: str | None) -> str:
    """The transport a refusal on this endpoint is counted under (before the body is known)."""
    return TRANSPORTS.get(endpoint or "", OTHER)


def answer_outcome(status: int, answer: dict[str, Any] | None) -> tuple[str | None, list[str], int]:
    """What an answer says: (its refusal reason, None if not refused; the reasons of the events
    refused inside the batch; how many events were accepted)."""
    if not answer:
        return None, [], 0
    reason = answer.get("error") if status >= 400 else None
    rejected = [item["reason"] for item in answer.get("rejected") or ()]
    return reason, rejected, answer.get("accepted") or 0


@dataclass(frozen=True, slots=True)
class Batch:
    """Counts frozen for one insert; a retry sends the very same rows with the same token."""

    rows: list[tuple]
    token: str

    @property
    def refusals(self) -> int:
        return sum(row[-1] for row in self.rows)


def clickhouse_insert(settings: Settings) -> Insert:
    """Rows → ``refusals_minute`` over one clickhouse-connect client, (re)connected when needed."""
    from pipeline.warehouse.client import connect

    client = None

    def insert(rows: list[tuple], token: str) -> None:
        nonlocal client
        if client is None:
            client = connect(settings, connect_timeout=3, send_receive_timeout=10)
        try:
            client.insert(TABLE, rows, column_names=COLUMNS, settings={"insert_deduplication_token": token})
        except Exception:
            client = None  # reconnect next time (ClickHouse restarted, connection dropped)
            raise

    return insert


class RefusalLog:
    """One worker's refusal counts: counted in memory, flushed to ClickHouse in the background."""

    def __init__(self, insert: Insert | None, flush_s: float, metrics: CollectorMetrics, *,
                 max_keys: int = MAX_KEYS, max_pending_rows: int = MAX_PENDING_ROWS,
                 clock: Callable[[], float] = time.time) -> None:
        self.insert = insert  # None: count for /metrics only (an app built without a warehouse)
        self.flush_s = flush_s
        self.metrics = metrics
        self.max_keys = max_keys
        self.max_pending_rows = max_pending_rows
        self.clock = clock
        self.counts: Counter[Key] = Counter()
        self.pending: list[Batch] = []
        self.lost = 0  # refusals dropped unsaved (ClickHouse away too long)
        self.failing_since: float | None = None
        self._flushing: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None

    # ── counting (on the request path) ─────────────────────────────────────────────────

    def record(self, project_id: int, transport: str, reason: str | None, rejected: Iterable[str] = (),
               accepted: int = 0) -> None:
        """One answer: its refusal ``reason`` (None = not refused), its events' refusals and acceptances."""
        if reason is not None:
            self.add(project_id, transport, reason, REQUEST)
        for event_reason in rejected:
            self.add(project_id, transport, event_reason, EVENT)
        if accepted:
            self.metrics.accepted_events.labels(transport).inc(accepted)

    def add(self, project_id: int, transport: str, reason: str, unit: str, count: int = 1) -> None:
        minute = int(self.clock()) // 60 * 60
        key = (minute, project_id, transport, reason, unit)
        if key not in self.counts and len(self.counts) >= self.max_keys:
            key = (minute, 0, transport, reason, unit)
        self.counts[key] += count
        counter = self.metrics.refused_requests if unit == REQUEST else self.metrics.refused_events
        counter.labels(transport, reason).inc(count)

    # ── flushing (in the background) ───────────────────────────────────────────────────

    def freeze(self) -> None:
        """Move the counts so far into a pending batch; drop the oldest batches past the bound."""
        if self.counts:
            rows = [(datetime.fromtimestamp(minute, timezone.utc), project, transport, reason, unit, count)
                    for (minute, project, transport, reason, unit), count in self.counts.items()]
            self.counts = Counter()
            self.pending.append(Batch(rows, uuid.uuid4().hex))
        while sum(len(batch.rows) for batch in self.pending) > self.max_pending_rows and len(self.pending) > 1:
            dropped = self.pending.pop(0)
            self.lost += dropped.refusals
            self.metrics.refusal_counts_lost.inc(dropped.refusals)
            log.error("dropped the counts of %d refusals: ClickHouse has not taken them for %.0fs and at most "
                      "%d rows wait; check VIGIL_CLICKHOUSE_URL and that ClickHouse is up",
                      dropped.refusals, self.clock() - (self.failing_since or self.clock()), self.max_pending_rows)

    def _insert_all(self, batches: list[Batch]) -> int:
        """Insert batches in order (on a thread); returns how many landed before the first failure."""
        assert self.insert is not None
        for done, batch in enumerate(batches):
            try:
                self.insert(batch.rows, batch.token)
            except Exception as error:  # ClickHouse away or refusing: keep them for the next flush
                self.metrics.refusal_flush_failures.inc()
                if self.failing_since is None:
                    self.failing_since = self.clock()
                    log.warning("could not save refusal counts to ClickHouse (%s: %s); retrying every %gs",
                                type(error).__name__, str(error)[:300], self.flush_s)
                return done
        if self.failing_since is not None:
            log.info("refusal counts saved again after %.0fs", self.clock() - self.failing_since)
            self.failing_since = None
        return len(batches)

    async def flush(self) -> None:
        """Freeze the counts and insert every pending batch (one flush at a time)."""
        if self.insert is None:
            self.counts.clear()
            return
        if self._flushing is None:
            self._flushing = asyncio.Lock()
        async with self._flushing:
            self.freeze()
            if not self.pending:
                return
            batches = list(self.pending)
            landed = await asyncio.to_thread(self._insert_all, batches)
            del self.pending[:landed]  # only flush() changes pending, and it holds the lock

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            try:
                await self.flush()
            except Exception:  # a bug here must not end the counting
                log.exception("refusal counts flush failed")

    async def start(self) -> None:
        if self.insert is not None and self._task is None:
            self._task = asyncio.create_task(self._flush_forever(), name="vigil-refusals-flush")

    async def stop(self, timeout: float = SHUTDOWN_FLUSH_TIMEOUT_S) -> None:
        """Stop flushing on a timer and save what is counted, giving ClickHouse ``timeout`` seconds."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)  # its CancelledError, returned
            self._task = None
        if self.insert is None:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except asyncio.TimeoutError:
            pass
        unsaved = sum(batch.refusals for batch in self.pending) + sum(self.counts.values())
        if unsaved:
            log.error("shutting down with the counts of %d refusals unsaved: ClickHouse did not take them", unsaved)
