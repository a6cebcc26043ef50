"""Rows → ClickHouse: :class:`ClickHouseSink`, a Quix Streams ``BatchingSink``.

The one sink every stream writes ClickHouse through: the processor's events (their rows
handed over a batch at a time by :class:`~pipeline.processor.batches.StepBatches`), the
dead letters read back from the DLQ topic, and ``vigil signals``' minutes.

Quix Streams hands the sink each row and calls :meth:`ClickHouseSink.flush` at each
commit, *before* it commits the consumer offsets — so a row is either in ClickHouse or its
message will be read again (at-least-once). The table
is a ReplacingMergeTree keyed by ``event_id`` and read with ``FINAL``, which turns the
repeats into exactly-once results.

Rows go in with clickhouse-connect's Native insert through one reused insert context (no
per-row conversion, no ``DESCRIBE`` per batch); its compiled code pivots each block's rows
into columns.

Write-behind within a checkpoint: every ``chunk_rows`` rows (or fewer, once the oldest
waited ``max_delay`` seconds) are handed to one background writer thread, so ClickHouse
ingests a chunk while the stream goes on computing the next (on a small machine the
server's insert time is otherwise dead time for the processor); a checkpoint spans several
chunks, so only the last one's insert is waited for.
``flush()`` sends the rest and waits for every chunk of the checkpoint; only then does Quix
commit the offsets, so the guarantee is unchanged: a row whose offset is committed is in
ClickHouse. If any chunk failed, ``flush()`` fails the whole checkpoint; the chunks that
did land are written again on the retry and collapse by ``event_id``.

When ClickHouse cannot take the write (down, restarting, overloaded, schema not migrated
yet) the sink raises ``SinkBackpressureError``: Quix drops the batch, pauses every
partition for ``retry_after`` seconds, then resumes from the last committed offsets and
rebuilds the same rows — nothing is lost. The pause doubles on each failure, up to
``max_backoff``, and resets after a successful insert. Errors that retrying cannot fix (a
row ClickHouse refuses) stop the processor with the server's message, offsets uncommitted.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable

from clickhouse_connect.driver import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError, ProgrammingError
from clickhouse_connect.driver.insert import InsertContext
from quixstreams.sinks import BatchingSink, SinkBackpressureError, SinkBatch
from quixstreams.models import HeadersTuples

from pipeline.processor import rows
from pipeline.processor.counters import Counters
from pipeline.settings import Settings, redacted
from pipeline.warehouse.client import WarehouseUnavailable, connect
from pipeline.warehouse.migrate import pending_migrations

log = logging.getLogger(__name__)

# ClickHouse error codes that mean "not now" rather than "never"
TRANSIENT_CODES = frozenset({
    159,  # TIMEOUT_EXCEEDED
    164,  # READONLY
    202,  # TOO_MANY_SIMULTANEOUS_QUERIES
    203,  # NO_FREE_CONNECTION
    209,  # SOCKET_TIMEOUT
    210,  # NETWORK_ERROR
    236,  # ABORTED
    241,  # MEMORY_LIMIT_EXCEEDED
    242,  # TABLE_IS_READ_ONLY
    252,  # TOO_MANY_PARTS
    285,  # TOO_FEW_LIVE_REPLICAS
    319,  # UNKNOWN_STATUS_OF_INSERT
    394,  # QUERY_WAS_CANCELLED
    425,  # SYSTEM_ERROR
    999,  # KEEPER_EXCEPTION
    1000,  # POCO_EXCEPTION
})
# the schema is not there yet: wait for `vigil migrate` rather than die
SCHEMA_MISSING_CODES = frozenset({60, 81})  # UNKNOWN_TABLE, UNKNOWN_DATABASE


class ClickHouseSink(BatchingSink):
    """Insert rows (tuples in ``columns`` order; the processor's :data:`rows.COLUMNS` by default) into ``table``."""

    def __init__(
        self,
        settings: Settings,
        *,
        table: str = "events",
        columns: tuple[str, ...] = rows.COLUMNS,
        counters: Counters | None = None,
        min_backoff: float = 1.0,
        max_backoff: float = 30.0,
        timeout: float = 30.0,
        chunk_rows: int = 10_000,
        max_delay: float | None = None,
        on_rows: Callable[[list], None] | None = None,
        insert_settings: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(on_client_connect_success=self._connected, on_client_connect_failure=self._not_connected)
        self.settings = settings
        self.table = table
        self.columns = columns
        self.counters = counters or Counters()
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self.chunk_rows = chunk_rows
        # a partial chunk goes out once its first row waited this long (None: at the checkpoint)
        self.max_delay = max_delay
        self._pending_since = 0.0
        # sees each chunk as it goes to ClickHouse (the quality monitor: must return at once)
        self.on_rows = on_rows
        # ClickHouse settings of every insert (the processor's events: EVENT_INSERT_SETTINGS)
        self.insert_settings = insert_settings or {}
        self._backoff = min_backoff
        self._client: Client | None = None
        self._context: InsertContext | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse-sink")
        self._in_flight: list[Future] = []
        self._in_flight_rows: list[int] = []
        # the rows not sent yet, in arrival order (kept here rather than in BatchingSink's
        # per-partition SinkBatches: a checkpoint commits every partition's offsets together,
        # so the partition is not needed, and one list append per row is the cheapest)
        self._rows: list = []

    # ── lifecycle (BaseSink.start → setup → callbacks) ──────────────────────────────────

    def setup(self) -> None:
        self._ensure_context()

    def _connected(self) -> None:
        log.info("writing to %s, database %s, table %s",
                 redacted(self.settings.clickhouse_url), self.settings.clickhouse_database, self.table)

    def _not_connected(self, error: Exception | None) -> None:
        # Start anyway: the first flush retries with backpressure, so the processor comes
        # up before ClickHouse does (e.g. under `vigil up`) and waits for it.
        log.warning("ClickHouse is not ready yet (%s); will retry on the first write", error)

    def _ensure_client(self) -> Client:
        if self._client is None:
            # small timeouts: a hung server must turn into a retry well within Kafka's
            # max.poll.interval.ms, not block the consumer for clickhouse-connect's 300 s.
            # The Native block is encoded by clickhouse-connect's compiled codec
            # (clickhouse-connect-core): half the writer thread's CPU per row, and that is time
            # the stream thread would otherwise wait for the GIL.
            self._client = connect(self.settings, compress=False, connect_timeout=5, native_codec="rust",
                                   send_receive_timeout=self.timeout)
        return self._client

    def _ensure_context(self) -> InsertContext:
        if self._context is None:
            self._context = self._ensure_client().create_insert_context(
                self.table, column_names=list(self.columns), settings=self.insert_settings
            )
        return self._context

    def close(self) -> None:
        """Stop the writer thread and the HTTP client; the application calls it once ``run()`` ended
        (Quix Streams' final checkpoint has flushed by then, so nothing is in flight)."""
        self._writer.shutdown(wait=True)
        self._reset()

    def _reset(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing a broken connection may fail too; we drop it anyway
                pass
        self._client = None
        self._context = None

    # ── writing ─────────────────────────────────────────────────────────────────────────

    def add(self, value: Any, key: Any, timestamp: int, headers: HeadersTuples,
            topic: str, partition: int, offset: int) -> None:
        had = len(self._rows)
        self._rows.append(value)
        self._gathered(had)

    def extend(self, values: list) -> None:
        """Add many rows at once (the processor's, a step batch at a time): as many :meth:`add` calls."""
        if values:
            had = len(self._rows)
            self._rows.extend(values)
            self._gathered(had)

    def send_due(self) -> None:
        """Send the waiting rows if the first waited ``max_delay`` and no insert is in flight (the
        processor's timer asks, so the end of a burst goes out without waiting for a message)."""
        if (self.max_delay is not None and self._rows and self._writer_idle()
                and time.monotonic() - self._pending_since >= self.max_delay):
            self.send_pending()

    def _gathered(self, had: int) -> None:
        """Rows were added to the ``had`` waiting: send a full chunk, or a partial one whose first
        row waited ``max_delay``."""
        if len(self._rows) >= self.chunk_rows:
            self.send_pending()
        elif self.max_delay is not None:
            if not had:
                self._pending_since = time.monotonic()
            elif time.monotonic() - self._pending_since >= self.max_delay and self._writer_idle():
                self.send_pending()

    def _writer_idle(self) -> bool:
        """No insert in flight: a partial chunk sent now goes to ClickHouse at once.

        While one is in flight the rows keep gathering (up to ``chunk_rows``) instead: sent,
        they would only queue behind it, and many small inserts cost the server far more
        per row than a few big ones (every insert writes a part per table and per
        materialized view, and merges them later). So under load the chunks grow with the
        rate, and on a quiet stream rows still go out ``max_delay`` after they came.
        """
        return not self._in_flight or self._in_flight[-1].done()

    def write(self, batch: SinkBatch) -> None:
        """Insert one partition's batch now (Quix's per-batch hook; :meth:`flush` batches wider)."""
        values = [item.value for item in batch]
        self._raise_for(self._insert(values), len(values))

    def flush(self) -> None:
        """Send what is left of this checkpoint and wait until every chunk of it is in ClickHouse."""
        try:
            self.send_pending()
            failures = [error for error in (future.result() for future in self._in_flight) if error]
            rows = sum(self._in_flight_rows)
            self._raise_for(failures[0] if failures else None, rows)
        finally:
            self._in_flight.clear()
            self._in_flight_rows.clear()
            self._rows = []

    def on_paused(self) -> None:
        """Backpressure elsewhere: drop this checkpoint's rows (they will be re-read)."""
        for future in self._in_flight:
            future.result()
        self._in_flight.clear()
        self._in_flight_rows.clear()
        self._rows = []
        super().on_paused()

    def send_pending(self) -> None:
        """Hand the waiting rows to the writer thread now, whatever their number."""
        values = self._rows
        if not values:
            return
        self._rows = []
        self._in_flight.append(self._writer.submit(self._insert, values))
        self._in_flight_rows.append(len(values))
        if self.on_rows is not None:
            self.on_rows(values)

    def _insert(self, values: list) -> Exception | None:
        """Insert rows (on the writer thread); the error, if any, is returned for :meth:`flush`."""
        if not values:
            return None
        try:
            context = self._ensure_context()
            # rows as they are: clickhouse-connect pivots each Native block's rows into columns in
            # compiled code (0.6 µs a row here, against 1.4 for zip(*rows) and slicing the columns
            # into blocks), and this thread holds the GIL the stream thread needs meanwhile
            context.data = values
            self._client.data_insert(context)  # type: ignore[union-attr]
        except (DatabaseError, WarehouseUnavailable) as exc:
            return exc
        finally:
            if self._context is not None:
                self._context.data = None  # do not hold the chunk's memory until the next one
        self.counters.inserted += len(values)
        return None

    def _raise_for(self, error: Exception | None, row_count: int = 0) -> None:
        """Success resets the back-off; otherwise back off (transient) or stop (permanent)."""
        if error is None:
            self._backoff = self.min_backoff
            return
        if isinstance(error, (OperationalError, WarehouseUnavailable)):
            self._back_off(row_count, f"ClickHouse unreachable: {_first_line(error)}")
        code = getattr(error, "code", None)
        if code in SCHEMA_MISSING_CODES:
            self._back_off(row_count, f"table {self.settings.clickhouse_database}.{self.table} does not exist "
                                      f"yet; run `vigil migrate` ({_first_line(error)})")
        pending = self._pending_migrations() if isinstance(error, ProgrammingError) else None
        if pending:  # a column of a migration not applied (yet): `vigil migrate` may be running
            self._back_off(row_count, f"table {self.settings.clickhouse_database}.{self.table} lacks a column "
                                      f"({_first_line(error)}) and {len(pending)} migration(s) are not applied "
                                      f"yet ({', '.join(pending[:3])}…); run `vigil migrate`")
        # a bare DatabaseError without a code is an HTTP error from something in between (a
        # proxy's 502/503); ProgrammingError/DataError come from the client's own checks
        # (e.g. a column the table lacks) and retrying cannot fix them
        if code in TRANSIENT_CODES or (code is None and type(error) is DatabaseError):
            self._back_off(row_count, f"ClickHouse cannot take the insert now: {_first_line(error)}")
        raise RuntimeError(
            f"ClickHouse refused rows for {self.table} (code {code}): {_first_line(error)}. "
            "The offsets are not committed, so nothing is lost; check that `vigil migrate` ran with "
            "this version's migrations, then restart the processor."
        ) from error

    def _pending_migrations(self) -> list[str] | None:
        """This version's migrations the database lacks, or None (no ledger, or cannot tell)."""
        try:
            return pending_migrations(self._ensure_client())
        except Exception:  # noqa: BLE001 - only a hint for the error path; the error itself is raised
            return None

    def _back_off(self, row_count: int, why: str) -> None:
        retry_after = self._backoff
        self._backoff = min(self._backoff * 2, self.max_backoff)
        self.counters.backpressured += 1
        self._reset()
        log.warning("%s; this checkpoint's %d rows will be re-read from Kafka, pausing %.0fs",
                    why, row_count, retry_after)
        raise SinkBackpressureError(retry_after=retry_after)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


# The events inserts skip ClickHouse's merge-on-insert (``optimize_on_insert``): collapsing each
# inserted block as a merge would (ReplacingMergeTree's repeats in ``events``, the rollups'
# aggregate states in every view's table) is work every read does anyway, since ``events`` is
# read with FINAL and the rollups with -Merge and GROUP BY, and a block never meets the
# other inserts' blocks before a merge. It was 10–35 % of the server's CPU per row
# (compare: bench/clickhouse_inserts.py --insert-setting optimize_on_insert=1).
EVENT_INSERT_SETTINGS = {"optimize_on_insert": 0}
