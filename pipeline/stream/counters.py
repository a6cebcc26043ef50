"""What the processor did, counted: events in, rows stored, drops by reason.

Logged as one line every ``interval`` seconds (and at shutdown), so an operator tailing
``vigil process`` sees throughput and the drop mix without a metrics stack; the DLQ
topic holds the details.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

log = logging.getLogger("pipeline.stream")


class Counters:
    """Running totals since start, and a periodic log line with the rates since the last."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self.consumed = 0
        self.kept = 0
        self.dropped: Counter[str] = Counter()
        self.inserted = 0
        self.backpressured = 0
        self.checkpoints = 0  # the sink's flushes (Quix Streams' commits)
        self.checkpoint_wait_s = 0.0  # the stream's time in them: the last inserts and dead letters
        self._started = self._last_at = time.monotonic()
        self._last_consumed = 0
        self._last_inserted = 0

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1

    def maybe_log(self) -> None:
        """Log if ``interval`` passed (the processor asks once per batch of messages)."""
        if time.monotonic() - self._last_at >= self.interval:
            self.log()

    def log(self) -> None:
        now = time.monotonic()
        elapsed = max(now - self._last_at, 1e-9)
        drops = ", ".join(f"{reason}={count}" for reason, count in self.dropped.most_common()) or "none"
        log.info(
            "consumed %d (%.0f/s) · to ClickHouse %d (%.0f/s) · dropped %d (%s) · sink back-offs %d · "
            "checkpoints %d (%.1fs waiting for their inserts)",
            self.consumed, (self.consumed - self._last_consumed) / elapsed,
            self.inserted, (self.inserted - self._last_inserted) / elapsed,
            sum(self.dropped.values()), drops, self.backpressured, self.checkpoints, self.checkpoint_wait_s,
        )
        self._last_at, self._last_consumed, self._last_inserted = now, self.consumed, self.inserted
