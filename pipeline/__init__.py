"""Vigil: frontend monitoring on Kafka, Quix Streams and ClickHouse.

The package follows the data path: ``contract`` (what an event is) → ``collector``
(HTTP in, Kafka out) → ``broker`` (the embedded Kafka) → ``processor`` (Quix Streams,
Kafka in, ClickHouse out) → ``warehouse`` (schema, embedded server, queries).
"""

__version__ = "0.1.0"
