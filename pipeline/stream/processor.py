"""``vigil process``: the Quix Streams application from ``vigil.events`` to ClickHouse.

The stream, top to bottom::

    vigil.events (bytes, key = session id)
      └─ EventSink (a BatchingSink) gathers the messages; every STEP_BATCH of them:
           enrich = process_many(): steps.run_many (parse → … → put_fingerprint, step by step
           over the batch), then rows.event_row → an Outcome per message
           └─ rows → ClickHouse ``events``, dead letters → vigil.events.dlq (same key),
              bots → nowhere (counted)
    vigil.events.dlq
      └─ dead_letter_row → ClickHouseSink → ClickHouse ``dead_letters`` (drops by reason are a query)

The sink inserts every ``VIGIL_SINK_BATCH_SIZE`` rows on a background thread while the
stream goes on. Checkpoints commit every ``VIGIL_PROCESSOR_COMMIT_INTERVAL`` seconds or every
:data:`CHUNKS_PER_CHECKPOINT` inserts, whichever comes first; the sink waits for its
inserts and the dead letters' acknowledgements before the offsets are committed
(at-least-once), and the warehouse collapses repeats by ``event_id``. Scale out by running more processors with the same
``VIGIL_PROCESSOR_GROUP``: Kafka splits the partitions between them.
"""

from __future__ import annotations

import argparse
import gc
import logging
from typing import Callable, Sequence

from quixstreams import Application, message_context

from pipeline.broker.connection import quix_connection
from pipeline.stream import user_agents
from pipeline.stream.counters import Counters
from pipeline.stream.dead_letters import Source, dead_letter
from pipeline.stream.processor_metrics import serve_metrics
from pipeline.stream.outcome import Outcome
from pipeline.stream.rows import event_row
from pipeline.stream.sink import ClickHouseSink, EventSink
from pipeline.quality.dlq_reader import COLUMNS as DEAD_LETTER_COLUMNS, dead_letter_row
from pipeline.stream.quality_monitor import QualityMonitor
from pipeline.stream.steps import FILTERED_REASONS, STEPS, Dropped, Options, Step, configure, run_many
from pipeline.settings import Settings, redacted
from pipeline.stream.runner import run_until_stopped, start_service

log = logging.getLogger("pipeline.stream")

# At most this many inserts per checkpoint at high rates (the interval bounds it otherwise):
# 15 chunks of 40,000 rows, what a crash may read again at most (30 s at 20,000 events/s).
CHUNKS_PER_CHECKPOINT = 15


def process(
    raw: bytes | None,
    steps: tuple[Step, ...] = STEPS,
    counters: Counters | None = None,
    source: Callable[[], Source | None] = lambda: None,
) -> Outcome:
    """One message → its :class:`Outcome`: the row, or the dead letter of the first drop."""
    return process_many((raw,), steps, counters, lambda _index: source())[0]


def process_many(
    raws: Sequence[bytes | None],
    steps: tuple[Step, ...] = STEPS,
    counters: Counters | None = None,
    source_of: Callable[[int], Source | None] = lambda _index: None,
) -> list[Outcome]:
    """Messages → their outcomes, in order (the steps run step by step over all of
    them: :func:`~pipeline.stream.steps.run_many`); ``source_of(i)`` says where message
    ``i`` was read from, asked only for a drop's dead letter."""
    if counters is not None:
        counters.consumed += len(raws)
    outcomes: list[Outcome] = []
    kept = 0
    for index, outcome in enumerate(run_many(raws, steps)):
        if type(outcome) is not Dropped:
            event = outcome
            try:
                row = event_row(event)
            except Exception as exc:  # a mapping bug must not stall the stream either
                log.error("event_row failed (%s: %s); the event goes to the DLQ as step_failed",
                          type(exc).__name__, str(exc)[:200])
                outcome = Dropped("step_failed", f"{type(exc).__name__}: {str(exc)[:500]}", step="event_row",
                                  event=event)
            else:
                if type(row) is not Dropped:
                    outcomes.append(Outcome(row=row))
                    kept += 1
                    continue
                # the event cannot be a row (its data cannot be written as JSON): a dead letter, never an insert
                row.step, row.event = "event_row", event
                outcome = row
        if counters is not None:
            counters.drop(outcome.reason)
        if outcome.reason in FILTERED_REASONS:  # a bot: counted, nothing to fix or replay
            outcomes.append(FILTERED)
        else:
            outcomes.append(Outcome(dead_letter=dead_letter(outcome, raws[index], source_of(index))))
    if counters is not None:
        counters.kept += kept
        counters.maybe_log()
    return outcomes


# what a filtered event becomes: neither a row nor a dead letter (both branches skip it)
FILTERED = Outcome()


def build_app(
    settings: Settings,
    *,
    steps: tuple[Step, ...] = STEPS,
    counters: Counters | None = None,
    consumer_group: str | None = None,
    quality: QualityMonitor | None = None,
    dead_letter_counters: Counters | None = None,
) -> Application:
    """The processor's Quix Streams application, ready to ``run()``."""
    counters = counters or Counters()
    configure(Options.from_settings(settings))  # the steps' settings, read once
    app = Application(
        broker_address=quix_connection(settings),  # bootstrap list and the cluster's TLS/SASL
        consumer_group=consumer_group or settings.processor_group,
        auto_offset_reset="earliest",
        commit_interval=settings.processor_commit_interval_s,
        # the sink inserts every VIGIL_SINK_BATCH_SIZE rows while the stream goes on; a
        # checkpoint waits for the last insert, so checkpoints are rarer than inserts
        commit_every=settings.sink_batch_size * CHUNKS_PER_CHECKPOINT,
        # the processor keeps no state of its own yet; Quix still wants a directory for it
        state_dir=settings.data_dir / "processor-state",
        loglevel="INFO",
    )
    events_topic = app.topic(settings.events_topic, value_deserializer="bytes", key_deserializer="bytes")
    dlq_topic = app.topic(settings.dlq_topic, value_deserializer="bytes", key_deserializer="bytes")

    def enrich(raws: list[bytes | None], source_of: Callable[[int], Source]) -> list[Outcome]:
        """Run the steps and map each event to its row; a drop becomes its dead letter."""
        return process_many(raws, steps, counters, source_of)

    # one chain, no branches, no per-message apply: the sink gathers the messages and runs
    # the steps over a batch of them at a time (see EventSink for why)
    events = app.dataframe(events_topic)
    sink = EventSink(settings, enrich=enrich, counters=counters, chunk_rows=settings.sink_batch_size,
                     max_delay=settings.sink_max_delay_s, on_rows=quality.offer if quality is not None else None)
    events.sink(sink)
    # Quix runs a dataframe's periodic tasks on every pass of its loop, also when no message
    # came: the sink's tick sends on what waited VIGIL_SINK_MAX_DELAY at the end of a burst
    events._registry.register_periodic_task(sink.tick)  # noqa: SLF001 - Quix's own hook for operators' timers

    # the DLQ read back into ClickHouse's dead_letters table: drops by reason are queryable
    def dead_letter_row_of(record: bytes | None) -> tuple:
        context = message_context()
        return dead_letter_row(record, context.topic, context.partition, context.offset)

    app.dataframe(dlq_topic).apply(dead_letter_row_of).sink(
        ClickHouseSink(settings, table="dead_letters", columns=DEAD_LETTER_COLUMNS,
                       counters=dead_letter_counters or Counters()))
    return app


def tune_gc() -> None:
    """Make the cyclic garbage collector cheap for a stream of short-lived, acyclic objects.

    Events, rows and Kafka messages are freed by reference counting; the cyclic collector
    only adds passes over every live object (the sink's pending batch, the UA parser's
    matchers). Freezing what exists after start-up and collecting less often saves about a
    quarter of the per-event CPU time.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def main(args: argparse.Namespace) -> int:
    """Run the processor until SIGTERM/SIGINT (Quix Streams commits and stops cleanly)."""
    settings = start_service("process")
    if settings is None:
        return 1
    user_agents.warm_up()
    tune_gc()
    counters, dead_letter_counters = Counters(), Counters()
    metrics_server = serve_metrics(settings, counters, dead_letter_counters)  # /metrics, VIGIL_PROCESSOR_METRICS_PORT
    quality = QualityMonitor(settings)  # GX loads on its own thread, on the first sampled batch
    log.info(
        "processing %s → ClickHouse %s (database %s), rejects → %s; consumer group %s",
        settings.events_topic, redacted(settings.clickhouse_url), settings.clickhouse_database,
        settings.dlq_topic, settings.processor_group,
    )
    try:
        run_until_stopped(lambda: build_app(settings, counters=counters, quality=quality,
                                            dead_letter_counters=dead_letter_counters))
    finally:
        counters.log()
        quality.close()
        if metrics_server is not None:
            metrics_server.shutdown()
    return 0
