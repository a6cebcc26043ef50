"""``vigil process``: the Quix Streams application from ``vigil.events`` to ClickHouse.

The stream, top to bottom (declared in :func:`build_app`)::

    vigil.events (bytes, key = session id)
      └─ StepBatches: STEP_BATCH messages at a time through the steps, step by step:
           parse → require_project → put_received_at → validate → put_client_ip → put_user_agent
           → drop_bots → put_geo → put_visitor_id → anonymize_ip → scrub_pii → put_page
           → put_traffic_source → symbolicate → put_fingerprint → to_row
           ├─ rows → ClickHouseSink → ClickHouse ``events``
           │   └─ their samples → vigil.samples (key = project id) → ``vigil signals``
           ├─ dead letters → DeadLetterSink → vigil.events.dlq (same key)
           └─ bots → nowhere (counted)
    vigil.events.dlq
      └─ dead_letter_row → ClickHouseSink → ClickHouse ``dead_letters`` (drops by reason are a query)

The steps' settings are one :class:`~pipeline.stream.steps.Options` object, read from the
settings once and bound to the steps that need them. The sink inserts every
``VIGIL_SINK_BATCH_SIZE`` rows on a background thread while the stream goes on. Checkpoints
commit every ``VIGIL_PROCESSOR_COMMIT_INTERVAL`` seconds or every :data:`CHUNKS_PER_CHECKPOINT`
inserts, whichever comes first; the inserts and the dead letters' acknowledgements are waited
for before the offsets are committed (at-least-once), and the warehouse collapses repeats by
``event_id``. The samples of the stored rows (:mod:`pipeline.stream.samples`) go out through
the application's own producer in a Kafka transaction per checkpoint (Quix Streams'
exactly-once guarantee): they and the consumed offsets are committed together after the
sinks flushed, and a crash aborts both, so the signals count each stored event once. Scale
out by running more processors with the same ``VIGIL_PROCESSOR_GROUP``: Kafka splits the
partitions between them.
"""

from __future__ import annotations

import argparse
import gc
import logging

from quixstreams import Application, message_context

from pipeline.broker.connection import quix_connection
from pipeline.stream import user_agents
from pipeline.stream.batches import StepBatches
from pipeline.stream.counters import Counters
from pipeline.stream.dlq_sink import DeadLetterSink
from pipeline.stream.processor_metrics import serve_metrics
from pipeline.stream.rows import COLUMNS, Row, event_row
from pipeline.stream.samples import SampleOutput
from pipeline.stream.sink import EVENT_INSERT_SETTINGS, ClickHouseSink
from pipeline.stream.steps import STEPS, Dropped, Event, Options, Step, steps_for
from pipeline.quality.dlq_reader import COLUMNS as DEAD_LETTER_COLUMNS, dead_letter_row
from pipeline.stream.quality_monitor import QualityMonitor
from pipeline.settings import Settings, redacted
from pipeline.stream.runner import Stream, run_until_stopped, start_service

log = logging.getLogger("pipeline.stream")

# At most this many inserts per checkpoint at high rates (the interval bounds it otherwise):
# 15 chunks of 40,000 rows, what a crash may read again at most (30 s at 20,000 events/s).
CHUNKS_PER_CHECKPOINT = 15
# A checkpoint's Kafka transaction must commit within its timeout: a checkpoint lasts up to
# VIGIL_PROCESSOR_COMMIT_INTERVAL, then waits for its last insert (up to the sink's 30 s), so the
# timeout is twice the interval plus 30 s (90 s by default, where librdkafka's default is 60 s),
# at most the brokers' default transaction.max.timeout.ms (15 min). After a crash the signals
# wait up to this long for the dead processor's open transaction to be aborted before they read on.
MIN_TRANSACTION_TIMEOUT_S, MAX_TRANSACTION_TIMEOUT_S = 60.0, 900.0


def to_row(event: Event) -> Row | Dropped:
    """The last step: the enriched event → its ``events`` row (``rows.event_row``, in
    :data:`~pipeline.stream.rows.COLUMNS` order), or a drop if its data cannot be written as JSON."""
    return event_row(event)


def processor_steps(options: Options, steps: tuple[Step, ...] = STEPS) -> tuple[Step, ...]:
    """What the processor does to each message, in order: ``steps`` (parse first) with ``options``
    bound, then :func:`to_row`."""
    return (*steps_for(options, steps), to_row)


def build_app(
    settings: Settings,
    *,
    options: Options | None = None,
    steps: tuple[Step, ...] = STEPS,
    counters: Counters | None = None,
    consumer_group: str | None = None,
    quality: QualityMonitor | None = None,
    dead_letter_counters: Counters | None = None,
) -> Stream:
    """The processor's Quix Streams application and its sinks, ready to ``run()``.

    ``options`` are the steps' settings (default: read from ``settings``, once).
    """
    counters = counters or Counters()
    options = options or Options.from_settings(settings)
    app = Application(
        broker_address=quix_connection(settings),  # bootstrap list and the cluster's TLS/SASL
        consumer_group=consumer_group or settings.processor_group,
        auto_offset_reset="earliest",
        commit_interval=settings.processor_commit_interval_s,
        # the sink inserts every VIGIL_SINK_BATCH_SIZE rows while the stream goes on; a
        # checkpoint waits for the last insert, so checkpoints are rarer than inserts
        commit_every=settings.sink_batch_size * CHUNKS_PER_CHECKPOINT,
        # Kafka transactions: the samples of a checkpoint's rows and its consumed offsets are
        # committed together, after the sinks flushed; a crash aborts both
        processing_guarantee="exactly-once",
        producer_extra_config={"transaction.timeout.ms": transaction_timeout_ms(settings)},
        # the processor keeps no state of its own yet; Quix still wants a directory for it
        state_dir=settings.data_dir / "processor-state",
        loglevel="INFO",
    )
    events_topic = app.topic(settings.events_topic, value_deserializer="bytes", key_deserializer="bytes")
    dlq_topic = app.topic(settings.dlq_topic, value_deserializer="bytes", key_deserializer="bytes")
    app.topic(settings.samples_topic, value_serializer="bytes", key_serializer="bytes")  # created if missing
    events_dataframe = app.dataframe(events_topic)
    producer = events_dataframe.processing_context.producer  # the application's, transactional

    def produce_samples(topic: str, key: bytes, value: bytes) -> None:
        producer.produce(topic=topic, key=key, value=value)

    # events: one chain, no branches, no per-message apply (see StepBatches for why)
    events = StepBatches(
        processor_steps(options, steps),
        rows=ClickHouseSink(settings, table="events", columns=COLUMNS, counters=counters,
                            chunk_rows=settings.sink_batch_size, max_delay=settings.sink_max_delay_s,
                            on_rows=quality.offer if quality is not None else None,
                            insert_settings=EVENT_INSERT_SETTINGS),
        dead_letters=DeadLetterSink(settings, counters=counters),
        samples=SampleOutput(settings.samples_topic, produce_samples),
        counters=counters, max_delay=settings.sink_max_delay_s, session_pages=options.session_pages,
    )
    events_dataframe.sink(events)

    # the DLQ read back into ClickHouse's dead_letters table: drops by reason are queryable
    def dead_letter_row_of(record: bytes | None) -> tuple:
        context = message_context()
        return dead_letter_row(record, context.topic, context.partition, context.offset)

    dead_letters = ClickHouseSink(settings, table="dead_letters", columns=DEAD_LETTER_COLUMNS,
                                  counters=dead_letter_counters or Counters())
    app.dataframe(dlq_topic).apply(dead_letter_row_of).sink(dead_letters)
    return Stream(app, (events, dead_letters))


def transaction_timeout_ms(settings: Settings) -> int:
    """librdkafka's ``transaction.timeout.ms`` for the processor: twice a checkpoint's interval plus
    time for its last insert, within :data:`MIN_TRANSACTION_TIMEOUT_S`…:data:`MAX_TRANSACTION_TIMEOUT_S`."""
    seconds = 2 * settings.processor_commit_interval_s + 30.0
    return int(min(max(MIN_TRANSACTION_TIMEOUT_S, seconds), MAX_TRANSACTION_TIMEOUT_S) * 1000)


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


def serve(args: argparse.Namespace) -> int:
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
        options = Options.from_settings(settings)  # the secret, the GeoIP database, the source maps: once
        run_until_stopped(lambda: build_app(settings, options=options, counters=counters, quality=quality,
                                            dead_letter_counters=dead_letter_counters))
    finally:
        counters.log()
        quality.close()
        if metrics_server is not None:
            metrics_server.shutdown()
    return 0
