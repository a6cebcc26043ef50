"""How every Kafka client Vigil makes connects: the bootstrap list and, for a production
cluster, TLS and SASL — librdkafka's own options, set through ``VIGIL_KAFKA_*`` variables.

The embedded broker (`vigil kafka`) listens on 127.0.0.1 only and without authentication, so
none of this is needed on one machine. Against a cluster that requires it::

    VIGIL_KAFKA_BROKERS=kafka-1.example:9094,kafka-2.example:9094
    VIGIL_KAFKA_SECURITY_PROTOCOL=SASL_SSL
    VIGIL_KAFKA_SASL_MECHANISM=SCRAM-SHA-512
    VIGIL_KAFKA_SASL_USERNAME=vigil
    VIGIL_KAFKA_SASL_PASSWORD=…
    VIGIL_KAFKA_SSL_CA_LOCATION=/etc/vigil/kafka-ca.pem

Every client goes through :func:`kafka_config` (confluent-kafka producers, consumers and admin
clients) or :func:`quix_connection` (the Quix Streams applications of ``vigil process`` and
``vigil signals``), so they all carry the same options.
"""

from __future__ import annotations

from typing import Any

from pipeline.settings import Settings

# librdkafka option → the Settings field (VIGIL_KAFKA_<FIELD>) that sets it
SECURITY_OPTIONS = {
    "security.protocol": "kafka_security_protocol",
    "sasl.mechanism": "kafka_sasl_mechanism",
    "sasl.username": "kafka_sasl_username",
    "sasl.password": "kafka_sasl_password",
    "ssl.ca.location": "kafka_ssl_ca_location",
    "ssl.certificate.location": "kafka_ssl_certificate_location",
    "ssl.key.location": "kafka_ssl_key_location",
    "ssl.key.password": "kafka_ssl_key_password",
    "ssl.endpoint.identification.algorithm": "kafka_ssl_endpoint_identification",
}
SECRET_OPTIONS = frozenset({"sasl.password", "ssl.key.password"})
PROTOCOLS = ("plaintext", "ssl", "sasl_plaintext", "sasl_ssl")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI", "OAUTHBEARER")


def security_config(settings: Settings) -> dict[str, str]:
    """The TLS/SASL options that are set (none for the embedded broker); raises ``ValueError``
    saying what to change when they cannot work together."""
    options = {option: getattr(settings, name) for option, name in SECURITY_OPTIONS.items() if getattr(settings, name)}
    protocol = options.get("security.protocol", "plaintext").lower()
    if protocol not in PROTOCOLS:
        raise ValueError(f"VIGIL_KAFKA_SECURITY_PROTOCOL={options['security.protocol']!r} is not one of "
                         f"{', '.join(p.upper() for p in PROTOCOLS)}")
    mechanism = options.get("sasl.mechanism")
    if protocol.startswith("sasl"):
        if mechanism is None or mechanism.upper() not in MECHANISMS:
            raise ValueError(f"VIGIL_KAFKA_SECURITY_PROTOCOL={protocol.upper()} needs VIGIL_KAFKA_SASL_MECHANISM, one of "
                             f"{', '.join(MECHANISMS)} (got {mechanism!r})")
        if mechanism.upper() in ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512") and not (
                options.get("sasl.username") and options.get("sasl.password")):
            raise ValueError(f"SASL {mechanism.upper()} needs VIGIL_KAFKA_SASL_USERNAME and VIGIL_KAFKA_SASL_PASSWORD")
    elif mechanism or options.get("sasl.username") or options.get("sasl.password"):
        raise ValueError(f"VIGIL_KAFKA_SASL_* is set but VIGIL_KAFKA_SECURITY_PROTOCOL is {protocol.upper()}: "
                         "set it to SASL_SSL (or SASL_PLAINTEXT) for the SASL settings to be used")
    return options


def kafka_config(settings: Settings, **extra: Any) -> dict[str, Any]:
    """librdkafka configuration for a client of ``settings.kafka_brokers``: bootstrap list,
    TLS/SASL options, then ``extra`` (dots in option names as ``extra={"client.id": …}``)."""
    return {"bootstrap.servers": settings.kafka_brokers, **security_config(settings), **extra}


def quix_connection(settings: Settings):
    """The same, as Quix Streams' ``ConnectionConfig`` (its ``Application(broker_address=…)``)."""
    from quixstreams.kafka.configuration import ConnectionConfig

    return ConnectionConfig.from_librdkafka_dict(kafka_config(settings))


def redacted_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` fit for a log line: secret values masked."""
    from pipeline.settings import MASK

    return {name: (MASK if name in SECRET_OPTIONS and value else value) for name, value in config.items()}


def producer_config(settings: Settings) -> dict[str, Any]:
    """librdkafka settings: durable (idempotent, acks=all) yet batched across requests."""
    return {
        **kafka_config(settings),  # bootstrap list and the cluster's TLS/SASL
        "client.id": "vigil-collector",  # the processor's DLQ producer names itself
        "enable.idempotence": True,
        "acks": "all",
        # batches form across concurrent requests; a request waits at most this long for company
        "linger.ms": 5,
        "compression.type": "lz4",
        # the Java client's partitioner: a session lands on the same partition whoever produces it
        "partitioner": "murmur2_random",
        # give up on a message about when the request waiting for it gives up, so a Kafka outage
        # does not pile up minutes of messages nobody waits for any more
        "message.timeout.ms": max(int(settings.kafka_ack_timeout_s * 1000), 1000),
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 1000,
        "socket.keepalive.enable": True,
        "log.connection.close": False,
    }
