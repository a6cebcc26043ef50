"""Vigil: frontend monitoring on Kafka, Quix Streams and ClickHouse.

One subpackage per stage of the data path, each importing only the ones below it
(``lint-imports`` checks it; the contracts are in ``pyproject.toml``, the picture in
``ARCHITECTURE.md``):

- ``commands`` — one module per ``vigil`` subcommand;
- ``embedded`` — the local Kafka broker and ClickHouse server, and ``vigil up``'s supervisor;
- ``alerts`` — threshold rules, their evaluation and notification; ``simulation`` — the shop;
- ``ingest`` — the collector (HTTP in, Kafka out); ``stream`` — the processor and the signals
  (Kafka in, ClickHouse out), their steps and sinks; ``queries`` — the read model;
- ``quality`` — Great Expectations suites and reports;
- ``warehouse`` — ClickHouse: client, schema, users, projects; ``broker`` — Kafka: connection, topics;
- ``contract`` — what an event is (v1 schema, Sentry's format, Web Vitals thresholds);
- ``settings`` — every ``VIGIL_*`` variable, the only module at this level.
"""

__version__ = "0.1.0"
