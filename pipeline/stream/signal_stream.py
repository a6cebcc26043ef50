"""``vigil signals``: the Quix Streams application from ``vigil.events`` to 1-minute signals.

The stream, top to bottom::

    vigil.events (bytes, key = session id)
      └─ to_sample: steps.run (parse → require_project → put_received_at → validate →
         put_user_agent → drop_bots), then windows.sample_of; drops are counted, not dead-lettered
           └─ set_timestamp(event_time)          window by the event's own time
              └─ group_by(project_of)            repartition topic keyed by project id
                 └─ tumbling_window(1 min, grace VIGIL_SIGNALS_GRACE).agg(Count, Sum…, VitalPercentiles)
                    .final(closing_strategy="partition")
                    └─ signal_of → vigil.signals (key = project id)
                       └─ signal_row → ClickHouseSink(table="signals_minute")

Its own process and consumer group (``VIGIL_SIGNALS_GROUP``), beside ``vigil process``:
the processor's hot path stays free of state, and the windows' state (RocksDB under
``VIGIL_DATA_DIR/signals-state``, backed by a changelog topic) lives here. Every
``VIGIL_COMMIT_INTERVAL`` seconds a checkpoint writes the ClickHouse rows, then commits the
repartitioned events, the window state's changelog, the signals and the consumer offsets in
one Kafka transaction (Quix's exactly-once guarantee): after a crash each event is counted
once, and a window whose row was written in the lost checkpoint is written again with the
same numbers (the table is a ReplacingMergeTree by project and minute). Events later than
the grace period are counted and logged (:class:`SignalCounters`), never folded into a
window that was already emitted.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections import Counter
from datetime import timedelta
from typing import Any

from quixstreams import Application

from pipeline.broker.connection import quix_connection
from pipeline.broker.topics import SIGNALS_TOPIC
from pipeline.stream.counters import Counters
from pipeline.stream.sink import ClickHouseSink
from pipeline.stream.steps import (
    Dropped, Options, Step, drop_bots, parse, put_received_at, put_user_agent, require_project, run, steps_for,
    validate,
)
from pipeline.settings import Settings, redacted
from pipeline.stream.runner import Stream, run_until_stopped, start_service
from pipeline.stream.signal_windows import (
    COLUMNS, Sample, aggregations, event_time, project_of, sample_of, signal_of, signal_row,
)

log = logging.getLogger("pipeline.stream")

# the processor's cheap steps: enough to count exactly the events the processor stores
# (valid, from a project, not a bot) without its per-event enrichment
SIGNAL_STEPS: tuple[Step, ...] = (parse, require_project, put_received_at, validate, put_user_agent, drop_bots)
WINDOW = timedelta(minutes=1)
TABLE = "signals_minute"


class SignalCounters:
    """Events in, drops by reason, late events and windows out, logged every ``interval`` seconds."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self.consumed = 0
        self.dropped: Counter[str] = Counter()
        self.late = 0
        self.late_by_project: Counter[int] = Counter()
        self.windows = 0
        self._last_at = time.monotonic()
        self._late_logged = False

    def on_late(self, value: Any, key: Any, timestamp_ms: int, late_by_ms: int, start: int, end: int,
                name: str, topic: str, partition: int, offset: int) -> bool:
        """Quix's ``on_late`` hook: count the event; log the first of each interval in detail.

        Returns False so Quix does not log a warning per late event (a replay of old traffic
        would flood the log); the periodic line carries the count.
        """
        self.late += 1
        self.late_by_project[key] += 1
        if not self._late_logged:
            self._late_logged = True
            log.warning("an event of project %s is %.1f s past its minute's grace (window %s–%s, %s[%d] "
                        "offset %d): counted as late, not in any signal; raise VIGIL_SIGNALS_GRACE if "
                        "this is common", key, late_by_ms / 1000, start, end, topic, partition, offset)
        self.maybe_log()
        return False

    def maybe_log(self) -> None:
        """Log if ``interval`` passed."""
        if time.monotonic() - self._last_at >= self.interval:
            self.log()

    def log(self) -> None:
        drops = ", ".join(f"{reason}={count}" for reason, count in self.dropped.most_common()) or "none"
        late = ", ".join(f"project {project}={count}" for project, count in self.late_by_project.most_common(5))
        log.info("consumed %d · dropped %d (%s) · late %d%s · signals %d", self.consumed,
                 sum(self.dropped.values()), drops, self.late, f" ({late})" if late else "", self.windows)
        self._last_at = time.monotonic()
        self._late_logged = False


def to_sample(raw: bytes | None, counters: SignalCounters,
              steps: tuple[Step, ...] = SIGNAL_STEPS) -> Sample | None:
    """One message → its :data:`Sample`, or None (counted by reason) if the processor would not store it.

    The processor sends the same drops to the dead-letter topic; doing it here too would
    put every bad event there twice.
    """
    counters.consumed += 1
    if counters.consumed & 1023 == 0:  # the clock is read once every 1024 events only
        counters.maybe_log()
    outcome = run(raw, steps)
    if type(outcome) is Dropped:
        counters.dropped[outcome.reason] += 1
        return None
    return sample_of(outcome)


def build_app(settings: Settings, *, counters: SignalCounters | None = None,
              consumer_group: str | None = None) -> Stream:
    """The signals' Quix Streams application and its sink, ready to ``run()``."""
    counters = counters or SignalCounters()
    # only drop_headless matters to these steps; the visitor-id secret is not read here
    steps = steps_for(Options(drop_headless=settings.drop_headless, keep_full_ip=settings.keep_full_ip),
                      SIGNAL_STEPS)
    app = Application(
        broker_address=quix_connection(settings),  # bootstrap list and the cluster's TLS/SASL
        consumer_group=consumer_group or settings.signals_group,
        auto_offset_reset="earliest",
        commit_interval=settings.commit_interval_s,
        # Kafka transactions: the repartition messages, the changelog, the signals and the
        # consumer offsets of a checkpoint are committed together or not at all, so a crash
        # cannot leave half a checkpoint's events in the repartition topic to be counted twice
        processing_guarantee="exactly-once",
        state_dir=settings.data_dir / "signals-state",
        loglevel="INFO",
    )
    events_topic = app.topic(settings.events_topic, value_deserializer="bytes", key_deserializer="bytes")
    signals_topic = app.topic(SIGNALS_TOPIC, value_serializer="json", key_serializer="str")

    def sample(raw: bytes | None) -> Sample | None:
        return to_sample(raw, counters, steps)

    def is_sample(value: Sample | None) -> bool:
        return value is not None

    def signal(window: dict[str, Any], project_id: int, timestamp: int, headers: Any) -> dict[str, Any]:
        counters.windows += 1
        counters.maybe_log()
        return signal_of(window, project_id)

    def signal_key(value: dict[str, Any]) -> str:
        return str(value["project_id"])

    sdf = app.dataframe(events_topic)
    sdf = sdf.apply(sample).filter(is_sample)
    sdf = sdf.set_timestamp(event_time)
    sdf = sdf.group_by(project_of, name="project")
    # "partition": any project's events move the clock, so a quiet project's minute closes
    # on time instead of waiting for its own next event
    sdf = (sdf.tumbling_window(WINDOW, grace_ms=timedelta(seconds=settings.signals_grace_s), name="signals_1m",
                               on_late=counters.on_late)
           .agg(**aggregations())
           .final(closing_strategy="partition"))
    sdf = sdf.apply(signal, metadata=True)
    sdf.to_topic(signals_topic, key=signal_key)
    sink = ClickHouseSink(settings, table=TABLE, columns=COLUMNS, counters=Counters())
    sdf.apply(signal_row).sink(sink)
    return Stream(app, (sink,))


def serve(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT (Quix Streams commits the state and offsets and stops cleanly)."""
    settings = start_service("signals")
    if settings is None:
        return 1
    counters = SignalCounters()
    log.info("1-minute signals of %s → %s and ClickHouse %s (table %s); grace %gs; consumer group %s",
             settings.events_topic, SIGNALS_TOPIC, redacted(settings.clickhouse_url), TABLE, settings.signals_grace_s,
             settings.signals_group)
    try:
        run_until_stopped(lambda: build_app(settings, counters=counters))
    finally:
        counters.log()
    return 0
