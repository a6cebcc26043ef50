"""Stream — the Quix Streams applications: Kafka in, ClickHouse (and Kafka) out.

- the processor (:mod:`~pipeline.stream.processor`, ``vigil process``): ``vigil.events`` →
  the named steps of :mod:`~pipeline.stream.steps` (enrichment: user agents, geo, referrers,
  routes, bots, visitors, PII, fingerprints, symbolication) → one ``events`` row
  (:mod:`~pipeline.stream.rows`) → ClickHouse (:mod:`~pipeline.stream.sink`); an event a step
  drops becomes a DLQ record (:mod:`~pipeline.stream.dead_letters`); a sample of batches goes
  to the Great Expectations suites off the hot path (:mod:`~pipeline.stream.quality_monitor`);
- the signals (:mod:`~pipeline.stream.signal_stream`, ``vigil signals``): the same events in
  1-minute tumbling windows per project (:mod:`~pipeline.stream.signal_windows`) →
  ``vigil.signals`` and ClickHouse, for the alerts' fast path;
- :mod:`~pipeline.stream.runner`: what both share to start and stop cleanly.

May import: ``quality``, ``warehouse``, ``broker``, ``contract``, ``settings`` — not ``ingest``.
"""
