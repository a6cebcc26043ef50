"""The embedded servers: what ``vigil kafka`` and ``vigil clickhouse`` run on one machine.

:mod:`~pipeline.embedded.kafka_broker` runs the upstream Apache Kafka broker in KRaft mode
(its classpath pinned by ``pom.xml``, its logging by ``log4j2.xml``, both beside it); the
``clickhouse_*`` modules serve the chDB engine behind ClickHouse's HTTP interface. Nothing
else in Vigil needs them: every other process reaches Kafka and ClickHouse through their
ordinary clients (``VIGIL_KAFKA_BROKERS``, ``VIGIL_CLICKHOUSE_URL``), so real servers replace
these without a code change. They may import the settings, ``pipeline.broker.topics`` (the
topics the broker creates) and ``pipeline.warehouse.access`` (the users and grants).
"""
