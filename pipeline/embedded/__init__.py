"""The embedded servers: what ``vigil kafka`` and ``vigil clickhouse`` run on one machine.

:mod:`~pipeline.embedded.kafka_broker` runs the upstream Apache Kafka broker in KRaft mode
(its classpath pinned by ``pom.xml``, its logging by ``log4j2.xml``, both beside it); the
``clickhouse_*`` modules serve the chDB engine behind ClickHouse's HTTP interface. Nothing
else in Vigil needs them: every other process reaches Kafka and ClickHouse through their
ordinary clients (``VIGIL_KAFKA_BROKERS``, ``VIGIL_CLICKHOUSE_URL``), so real servers replace
these without a code change. :mod:`~pipeline.embedded.supervisor` is ``vigil up``: both servers and every
Vigil process on one machine, supervised.

May import: ``alerts``, ``simulation``, ``ingest``, ``stream``, ``quality``, ``warehouse``,
``broker``, ``contract``, ``settings`` (in practice the supervisor starts the others as
processes and imports only what prepares the warehouse).
"""
