"""Stream — the Quix Streams applications: Kafka in, ClickHouse (and Kafka) out.

- the processor (:mod:`~pipeline.stream.processor`, ``vigil process``), declared as the Quix
  Streams pipeline it is: ``vigil.events`` → the named steps of :mod:`~pipeline.stream.steps`
  (enrichment: user agents, geo, referrers, routes, bots, visitors, the session's page, PII,
  fingerprints, symbolication) → ``to_row``, the last named step (:mod:`~pipeline.stream.rows`),
  run over batches of messages by :mod:`~pipeline.stream.batches`; rows go to the one
  ClickHouse sink (:mod:`~pipeline.stream.sink`, also the DLQ reader's and the signals'), a
  step's drop becomes a dead letter (:mod:`~pipeline.stream.dead_letters`) for the DLQ's own
  sink (:mod:`~pipeline.stream.dlq_sink`); a sample of batches goes to the Great Expectations
  suites off the hot path (:mod:`~pipeline.stream.quality_monitor`); each stored row's sample
  goes to ``vigil.samples`` in the checkpoint's Kafka transaction (:mod:`~pipeline.stream.samples`);
- the signals (:mod:`~pipeline.stream.signal_stream`, ``vigil signals``): the processor's
  samples in 1-minute tumbling windows per project (:mod:`~pipeline.stream.signal_windows`) →
  ``vigil.signals`` and ClickHouse, for the alerts' fast path;
- :mod:`~pipeline.stream.runner`: what both share to start and stop cleanly.

May import: ``quality``, ``warehouse``, ``broker``, ``contract``, ``settings`` — not ``ingest``.
"""
