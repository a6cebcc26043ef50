"""Quality — Great Expectations suites (``expectations/*.json``) over processor batches and recent events.

- :mod:`pipeline.quality.check` — load the suites, ``check_batch(frame)`` → result rows;
- :mod:`pipeline.stream.quality_monitor` — the processor's background worker (off the hot path);
- :mod:`pipeline.quality.result_store` — the ``quality_results`` table (migration 030);
- :mod:`pipeline.quality.dlq_reader` — the DLQ topic → the ``dead_letters`` table;
- ``vigil quality report`` (recent data → GX Data Docs) is :mod:`pipeline.commands.quality`.

Importing this package does not import Great Expectations (slow: seconds); the modules that
need it import it when first used. May import: ``warehouse``, ``broker``, ``contract``, ``settings``.
"""
