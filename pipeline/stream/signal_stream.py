"""``vigil signals``: the Quix Streams application from ``vigil.samples`` to 1-minute signals.

The stream, top to bottom::

    vigil.samples (packed samples, key = project id; read committed)
      └─ samples.unpack (expand: one value per stored event)
         └─ set_timestamp(event_time)          window by the event's own time
            └─ tumbling_window(1 min, grace VIGIL_SIGNALS_GRACE).agg(Count, Sum…, VitalPercentiles)
               .final(closing_strategy="partition")
               └─ signal_of → vigil.signals (key = project id)
                  └─ signal_row → ClickHouseSink(table="signals_minute")

The processor validates and enriches each event once and, for every row it stores, produces
its sample to ``vigil.samples`` in its own Kafka transaction (:mod:`pipeline.stream.samples`):
the signals run no step and drop nothing (drops are counted where they happen, in the
processor and its dead-letter topic), and a message is already keyed by its project, so the
windows need no repartition.

Its own process and consumer group (``VIGIL_SIGNALS_GROUP``), beside ``vigil process``:
the processor's hot path stays free of state, and the windows' state (RocksDB under
``VIGIL_DATA_DIR/signals-state``, backed by a changelog topic) lives here. Every
``VIGIL_COMMIT_INTERVAL`` seconds a checkpoint writes the ClickHouse rows, then commits the
window state's changelog, the signals and the consumer offsets in one Kafka transaction
(Quix's exactly-once guarantee): after a crash each sample is counted once, and a window
whose row was written in the lost checkpoint is written again with the same numbers (the
table is a ReplacingMergeTree by project and minute). Events later than the grace period
are counted and logged (:class:`SignalCounters`), never folded into a window that was
already emitted.
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
from pipeline.stream.samples import MalformedSamples, Sample, unpack
from pipeline.stream.sink import ClickHouseSink
from pipeline.settings import Settings, redacted
from pipeline.stream.runner import Stream, run_until_stopped, start_service
from pipeline.stream.signal_windows import COLUMNS, aggregations, event_time, signal_of, signal_row

log = logging.getLogger("pipeline.stream")

WINDOW = timedelta(minutes=1)
TABLE = "signals_minute"


class SignalCounters:
    """Samples in, malformed messages, late events and windows out, logged every ``interval`` seconds."""

    def __init__(self, interval: float = 30.0) -> None:
        self.interval = interval
        self.consumed = 0
        self.malformed = 0
        self.late = 0
        self.late_by_project: Counter[str] = Counter()
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
        late = ", ".join(f"project {project}={count}" for project, count in self.late_by_project.most_common(5))
        log.info("consumed %d · malformed %d · late %d%s · signals %d", self.consumed, self.malformed,
                 self.late, f" ({late})" if late else "", self.windows)
        self._last_at = time.monotonic()
        self._late_logged = False


def samples_of(value: bytes | None, key: Any, counters: SignalCounters) -> list[Sample]:
    """One ``vigil.samples`` message → its samples (Quix's ``apply(expand=True)`` emits each).

    A message that is not this version's samples (or not keyed by a project id) is counted
    and logged, not counted as events: the processor would have to be of another version.
    """
    try:
        if not (isinstance(key, str) and key.isdigit()):
            raise MalformedSamples(f"a samples message must be keyed by its project id, got {key!r}")
        samples = unpack(value)
    except MalformedSamples as exc:
        counters.malformed += 1
        log.error("skipping a message on the samples topic: %s", exc)
        return []
    before = counters.consumed
    counters.consumed += len(samples)
    if before >> 10 != counters.consumed >> 10:  # the clock is read once every 1024 samples only
        counters.maybe_log()
    return samples


def build_app(settings: Settings, *, counters: SignalCounters | None = None,
              consumer_group: str | None = None) -> Stream:
    """The signals' Quix Streams application and its sink, ready to ``run()``."""
    counters = counters or SignalCounters()
    app = Application(
        broker_address=quix_connection(settings),  # bootstrap list and the cluster's TLS/SASL
        consumer_group=consumer_group or settings.signals_group,
        auto_offset_reset="earliest",
        commit_interval=settings.commit_interval_s,
        # Kafka transactions: the changelog, the signals and the consumer offsets of a
        # checkpoint are committed together or not at all; and the consumer reads committed
        # messages only, so a processor's aborted samples (a crash) are never counted
        processing_guarantee="exactly-once",
        state_dir=settings.data_dir / "signals-state",
        loglevel="INFO",
    )
    samples_topic = app.topic(settings.samples_topic, value_deserializer="bytes", key_deserializer="str")
    signals_topic = app.topic(SIGNALS_TOPIC, value_serializer="json", key_serializer="str")

    def samples(value: bytes | None, key: Any, timestamp: int, headers: Any) -> list[Sample]:
        return samples_of(value, key, counters)

    def signal(window: dict[str, Any], project: str, timestamp: int, headers: Any) -> dict[str, Any]:
        counters.windows += 1
        counters.maybe_log()
        return signal_of(window, int(project))

    def signal_key(value: dict[str, Any]) -> str:
        return str(value["project_id"])

    sdf = app.dataframe(samples_topic)
    sdf = sdf.apply(samples, expand=True, metadata=True)
    sdf = sdf.set_timestamp(event_time)
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
             settings.samples_topic, SIGNALS_TOPIC, redacted(settings.clickhouse_url), TABLE, settings.signals_grace_s,
             settings.signals_group)
    try:
        run_until_stopped(lambda: build_app(settings, counters=counters))
    finally:
        counters.log()
    return 0
