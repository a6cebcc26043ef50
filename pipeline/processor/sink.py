"""Rows → ClickHouse's ``events`` table: a Quix Streams ``BatchingSink``.

Quix Streams collects the rows of each topic partition between checkpoints and calls
:meth:`ClickHouseSink.flush` at each commit, *before* it commits the consumer offsets — so
a row is either in ClickHouse or its message will be read again (at-least-once). The table
is a ReplacingMergeTree keyed by ``event_id`` and read with ``FINAL``, which turns the
repeats into exactly-once results.

Rows go in with clickhouse-connect's column-oriented Native insert through one reused
insert context (no per-row conversion, no ``DESCRIBE`` per batch). All partitions' rows of
a checkpoint go in as one insert: one part per commit instead of one per partition.

When ClickHouse cannot take the write (down, restarting, overloaded, schema not migrated
yet) the sink raises ``SinkBackpressureError``: Quix drops the batch, pauses every
partition for ``retry_after`` seconds, then resumes from the last committed offsets and
rebuilds the same rows — nothing is lost. The pause doubles on each failure, up to
``max_backoff``, and resets after a successful insert. Errors that retrying cannot fix (a
row ClickHouse refuses) stop the processor with the server's message, offsets uncommitted.
"""

from __future__ import annotations

import logging
from itertools import chain
from typing import Iterable

from clickhouse_connect.driver import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from clickhouse_connect.driver.insert import InsertContext
from quixstreams.sinks import BatchingSink, SinkBackpressureError, SinkBatch
from quixstreams.sinks.base.item import SinkItem

from pipeline.processor import rows
from pipeline.processor.counters import Counters
from pipeline.settings import Settings
from pipeline.warehouse.client import WarehouseUnavailable, connect

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
    """Insert the processor's rows (:data:`rows.COLUMNS` order) into ClickHouse."""

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
    ) -> None:
        super().__init__(on_client_connect_success=self._connected, on_client_connect_failure=self._not_connected)
        self.settings = settings
        self.table = table
        self.columns = columns
        self.counters = counters or Counters()
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.timeout = timeout
        self._backoff = min_backoff
        self._client: Client | None = None
        self._context: InsertContext | None = None

    # ── lifecycle (BaseSink.start → setup → callbacks) ──────────────────────────────────

    def setup(self) -> None:
        self._ensure_context()

    def _connected(self) -> None:
        log.info("writing to %s, database %s, table %s",
                 self.settings.clickhouse_url, self.settings.clickhouse_database, self.table)

    def _not_connected(self, error: Exception | None) -> None:
        # Start anyway: the first flush retries with backpressure, so the processor comes
        # up before ClickHouse does (e.g. under `vigil up`) and waits for it.
        log.warning("ClickHouse is not ready yet (%s); will retry on the first write", error)

    def _ensure_context(self) -> InsertContext:
        if self._client is None:
            # small timeouts: a hung server must turn into a retry well within Kafka's
            # max.poll.interval.ms, not block the consumer for clickhouse-connect's 300 s
            self._client = connect(self.settings, compress=False, connect_timeout=5,
                                   send_receive_timeout=self.timeout)
        if self._context is None:
            self._context = self._client.create_insert_context(
                self.table, column_names=list(self.columns), column_oriented=True
            )
        return self._context

    def _reset(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing a broken connection may fail too; we drop it anyway
                pass
        self._client = None
        self._context = None

    # ── writing ─────────────────────────────────────────────────────────────────────────

    def write(self, batch: SinkBatch) -> None:
        """Insert one partition's batch (Quix's per-batch hook; :meth:`flush` merges them)."""
        self._insert(batch)

    def flush(self) -> None:
        """Insert every partition's rows of this checkpoint in one go, then drop the batches."""
        try:
            batches = [batch for batch in self._batches.values() if not batch.empty()]
            if batches:
                self._insert(chain.from_iterable(batches))
        finally:
            self._batches.clear()

    def _insert(self, items: Iterable[SinkItem]) -> None:
        values = [item.value for item in items]
        if not values:
            return
        columns = list(zip(*values))
        try:
            context = self._ensure_context()
            context.data = columns
            self._client.data_insert(context)  # type: ignore[union-attr]
        except (OperationalError, WarehouseUnavailable) as exc:
            self._back_off(len(values), f"ClickHouse unreachable: {_first_line(exc)}")
        except DatabaseError as exc:
            code = getattr(exc, "code", None)
            if code in SCHEMA_MISSING_CODES:
                self._back_off(len(values), f"table {self.settings.clickhouse_database}.{self.table} does not exist "
                                            f"yet; run `vigil migrate` ({_first_line(exc)})")
            elif code is None or code in TRANSIENT_CODES:
                self._back_off(len(values), f"ClickHouse cannot take the insert now: {_first_line(exc)}")
            else:
                raise RuntimeError(
                    f"ClickHouse refused {len(values)} rows for {self.table} (code {code}): {_first_line(exc)}. "
                    "The offsets are not committed, so nothing is lost; check that `vigil migrate` ran with "
                    "this version's migrations, then restart the processor."
                ) from exc
        else:
            self._backoff = self.min_backoff
            self.counters.inserted += len(values)
        finally:
            if self._context is not None:
                self._context.data = None  # do not hold the batch's memory until the next one

    def _back_off(self, row_count: int, why: str) -> None:
        retry_after = self._backoff
        self._backoff = min(self._backoff * 2, self.max_backoff)
        self.counters.backpressured += 1
        self._reset()
        log.warning("%s; %d rows will be re-read from Kafka, pausing %.0fs", why, row_count, retry_after)
        raise SinkBackpressureError(retry_after=retry_after)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
