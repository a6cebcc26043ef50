"""The processor's quality worker: GX suites on samples of flushed batches, off the hot path.

The sink calls :meth:`QualityMonitor.offer` with each chunk of rows it hands to ClickHouse.
``offer`` never blocks and does no work beyond a clock read: at most one chunk per
``interval`` seconds is taken (the first ``sample_rows`` rows, by reference — rows are
immutable tuples), put on a bounded queue, and a background thread validates it with
:class:`pipeline.quality.check.Checker` and writes the results to ``quality_results``.
If the worker is still busy with earlier chunks (the queue is full) the chunk is skipped
and counted; the stream never waits for Great Expectations.

Great Expectations is imported and its context built on the worker thread, once, so the
processor starts as fast as before. Quality checks are observations, not guarantees: a
failed check or insert is logged and counted, and never stops or slows the stream.

    monitor = QualityMonitor(settings)        # thread starts on the first offer
    sink = ClickHouseSink(settings, on_rows=monitor.offer)
    ...
    monitor.close()
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.stream import rows as processor_rows
from pipeline.settings import Settings

log = logging.getLogger(__name__)

_STOP = object()


@dataclass
class QualityCounters:
    """What the worker did since start (logged at :meth:`QualityMonitor.close`)."""

    offered: int = 0  # chunks the sink offered
    throttled: int = 0  # not taken: within `interval` of the last one taken
    skipped: int = 0  # not taken: the worker was busy (queue full)
    checked: int = 0  # chunks validated
    stored: int = 0  # result rows written to ClickHouse
    failed: int = 0  # checks or inserts that raised


class QualityMonitor:
    """A bounded queue and one daemon thread running the suites on sampled batches.

    ``check`` (rows → results) and ``store`` (results, batch size → None) default to GX and
    the ``quality_results`` table; the tests pass a slow ``check`` to show the stream is
    not held up.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        interval: float | None = None,
        sample_rows: int | None = None,
        queue_size: int = 1,
        columns: tuple[str, ...] = processor_rows.COLUMNS,
        check: Callable[[Sequence[tuple]], list[Any]] | None = None,
        store: Callable[[list[Any], int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.interval = settings.quality_interval_s if interval is None else interval
        self.sample_rows = settings.quality_sample_rows if sample_rows is None else sample_rows
        self.columns = columns
        self.counters = QualityCounters()
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._check = check
        self._store = store
        self._last_taken = float("-inf")
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = 0  # samples queued or being checked
        self.idle = threading.Event()  # set whenever the queue is drained and nothing is being checked
        self.idle.set()

    @property
    def enabled(self) -> bool:
        return self.interval >= 0 and self.sample_rows > 0

    # ── the hot path ────────────────────────────────────────────────────────────────────

    def offer(self, rows: list[tuple]) -> None:
        """Maybe take a sample of ``rows`` for checking; returns at once either way."""
        if not rows or not self.enabled:
            return
        self.counters.offered += 1
        now = time.monotonic()
        if now - self._last_taken < self.interval:
            self.counters.throttled += 1
            return
        if self._thread is None:
            self._start()
        sample = rows if len(rows) <= self.sample_rows else rows[: self.sample_rows]
        with self._lock:
            try:
                self._queue.put_nowait(sample)
            except queue.Full:
                self.counters.skipped += 1
                return
            self._pending += 1
            self.idle.clear()
        self._last_taken = now

    # ── the worker ──────────────────────────────────────────────────────────────────────

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="quality-worker", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        check, store = self._check, self._store
        if check is None or store is None:
            try:
                default_check, default_store = self._defaults()
            except Exception as exc:
                log.error("data-quality checks are off: cannot set up Great Expectations (%s: %s); "
                          "fix the suites in expectations/ and restart the processor", type(exc).__name__, exc)
                self._drain_forever()
                return
            check, store = check or default_check, store or default_store
        while True:
            sample = self._queue.get()
            if sample is _STOP:
                self.idle.set()
                return
            try:
                results = check(sample)
                self.counters.checked += 1
                store(results, len(sample))
                self.counters.stored += len(results)
                failing = [r.expectation for r in results if not getattr(r, "success", True)]
                if failing:
                    log.warning("data quality: %d of %d expectations failed on a %d-row sample: %s",
                                len(failing), len(results), len(sample), ", ".join(failing))
            except Exception as exc:  # an observation failing must not touch the stream
                self.counters.failed += 1
                log.warning("data-quality check not recorded (%s: %s)", type(exc).__name__, str(exc)[:300])
            finally:
                self._done()

    def _defaults(self) -> tuple[Callable, Callable]:
        from pipeline.quality.check import Checker, rows_frame
        from pipeline.quality.result_store import write_results
        from pipeline.warehouse.client import connect

        started = time.monotonic()
        checker = Checker()
        log.info("data quality: suites %s loaded in %.1fs; checking a %d-row sample at most every %.0fs",
                 ", ".join(f"{name} v{version}" for name, version in checker.versions.items()),
                 time.monotonic() - started, self.sample_rows, self.interval)
        client = None

        def check(sample: Sequence[tuple]) -> list:
            return checker.check_batch(rows_frame(sample, self.columns))

        def store(results: list, batch_rows: int) -> None:
            nonlocal client
            if client is None:
                client = connect(self.settings, connect_timeout=5, send_receive_timeout=30)
            try:
                write_results(client, results, source="processor", batch_rows=batch_rows)
            except Exception:
                client = None  # reconnect next time
                raise

        return check, store

    def _drain_forever(self) -> None:
        while True:
            sample = self._queue.get()
            if sample is _STOP:
                self.idle.set()
                return
            self.counters.failed += 1
            self._done()

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1
            if self._pending == 0:
                self.idle.set()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every taken sample is checked (tests, shutdown); False on timeout."""
        return self.idle.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Finish the sample in progress (up to ``timeout`` s) and stop the worker."""
        if self._thread is not None:
            try:
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                pass
            self._thread.join(timeout)
        c = self.counters
        log.info("data quality: %d batches offered, %d checked, %d skipped (worker busy), %d throttled, "
                 "%d results stored, %d failures", c.offered, c.checked, c.skipped, c.throttled, c.stored, c.failed)
