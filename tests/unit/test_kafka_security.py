"""Every Kafka client Vigil makes carries the cluster's TLS/SASL settings (VIGIL_KAFKA_*),
and the SASL password never shows in what Vigil logs."""

from __future__ import annotations

import socket
import types

import pytest

from pipeline import settings as settings_module
from pipeline.broker import connection

PASSWORD = "k4fka-s3cret-p4ss"
ENVIRONMENT = {
    "VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
    "VIGIL_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "VIGIL_KAFKA_SASL_USERNAME": "vigil",
    "VIGIL_KAFKA_SASL_PASSWORD": PASSWORD,
    "VIGIL_KAFKA_SSL_CA_LOCATION": "/etc/vigil/kafka-ca.pem",
    "VIGIL_KAFKA_SSL_CERTIFICATE_LOCATION": "/etc/vigil/client.pem",
    "VIGIL_KAFKA_SSL_KEY_LOCATION": "/etc/vigil/client.key",
    "VIGIL_KAFKA_SSL_KEY_PASSWORD": "key-s3cret",
    "VIGIL_KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM": "https",
}
EXPECTED = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "vigil",
    "sasl.password": PASSWORD,
    "ssl.ca.location": "/etc/vigil/kafka-ca.pem",
    "ssl.certificate.location": "/etc/vigil/client.pem",
    "ssl.key.location": "/etc/vigil/client.key",
    "ssl.key.password": "key-s3cret",
    "ssl.endpoint.identification.algorithm": "https",
}


class Recorded(Exception):
    """Raised by a stand-in Kafka client once it has seen its configuration."""


class Recorder:
    configs: list[dict] = []

    def __init__(self, config: dict, *args, **kwargs) -> None:
        Recorder.configs.append(dict(config))
        raise Recorded


@pytest.fixture
def secured(monkeypatch, tmp_path):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        monkeypatch.setenv("VIGIL_KAFKA_BROKERS", f"127.0.0.1:{sock.getsockname()[1]}")
        monkeypatch.setenv("VIGIL_DATA_DIR", str(tmp_path))
        Recorder.configs = []
        yield settings_module.load()


def _carries(config: dict) -> None:
    carried = {name: config.get(name) for name in EXPECTED}
    carried["security.protocol"] = str(carried["security.protocol"]).upper()  # Quix writes it in lower case
    assert carried == EXPECTED
    assert config["bootstrap.servers"] == settings_module.load().kafka_brokers


def test_the_collector_producer(secured):
    from pipeline.collector.producer import producer_config

    _carries(producer_config(secured))


def test_the_processor_dlq_producer(secured, monkeypatch):
    from pipeline.processor import dlq_sink

    monkeypatch.setattr(dlq_sink, "Producer", Recorder)
    with pytest.raises(Recorded):
        dlq_sink.DeadLetterSink(secured)
    _carries(Recorder.configs[-1])
    assert Recorder.configs[-1]["client.id"] == "vigil-processor-dlq"


@pytest.mark.parametrize("module", ["pipeline.processor.app", "pipeline.signals.app"])
def test_the_quix_streams_applications(secured, module, monkeypatch):
    import importlib

    import quixstreams.models.topics.admin as quix_admin

    # Quix opens its admin client while building the app; a stand-in keeps it off the network
    monkeypatch.setattr(quix_admin, "AdminClient", Recorder)
    with pytest.raises(Recorded):
        importlib.import_module(module).build_app(secured)
    _carries(Recorder.configs[-1])


def test_the_alert_evaluators_signals_consumer(secured, monkeypatch):
    import confluent_kafka

    from pipeline.alerts.service import AlertService

    monkeypatch.setattr(confluent_kafka, "Consumer", Recorder)
    with pytest.raises(Recorded):
        AlertService(secured, types.SimpleNamespace(store=None)).consumer()
    _carries(Recorder.configs[-1])


def test_topic_admin_healthcheck_and_the_supervisors_probe(secured, monkeypatch):
    import confluent_kafka.admin

    from pipeline import healthcheck, supervisor
    from pipeline.broker import topics

    monkeypatch.setattr(topics, "AdminClient", Recorder)
    monkeypatch.setattr(confluent_kafka.admin, "AdminClient", Recorder)
    with pytest.raises(Recorded):
        topics.ensure_topics(secured.kafka_brokers, {"t": 1}, settings=secured)
    with pytest.raises(Recorded):
        healthcheck.check_consumer_group(secured.kafka_brokers, "vigil-processor", secured)
    assert supervisor._kafka_ready(secured)() is False  # the probe's admin client refused to start
    assert len(Recorder.configs) == 3
    for config in Recorder.configs:
        _carries(config)


def test_nothing_is_added_for_the_embedded_broker(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    config = connection.kafka_config(settings_module.load())
    assert set(config) == {"bootstrap.servers"}


def test_the_passwords_never_show_in_logged_settings(secured):
    shown = repr(secured) + str(secured) + settings_module.redacted(secured.kafka_brokers)
    shown += str(connection.redacted_config(connection.kafka_config(secured)))
    assert PASSWORD not in shown and "key-s3cret" not in shown
    assert "SCRAM-SHA-512" in shown  # the rest is there


@pytest.mark.parametrize(
    ("environment", "complaint"),
    [
        ({"VIGIL_KAFKA_SECURITY_PROTOCOL": "TLS"}, "not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"),
        ({"VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "needs VIGIL_KAFKA_SASL_MECHANISM"),
        ({"VIGIL_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "VIGIL_KAFKA_SASL_MECHANISM": "PLAIN"},
         "needs VIGIL_KAFKA_SASL_USERNAME and VIGIL_KAFKA_SASL_PASSWORD"),
        ({"VIGIL_KAFKA_SASL_USERNAME": "vigil", "VIGIL_KAFKA_SASL_PASSWORD": "x"}, "set it to SASL_SSL"),
    ],
)
def test_settings_that_cannot_work_say_what_to_change(monkeypatch, environment, complaint):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=complaint):
        connection.kafka_config(settings_module.load())


def test_the_embedded_broker_listens_on_loopback_only(tmp_path):
    from pipeline.embedded.kafka_broker import broker_properties

    properties = broker_properties(tmp_path, 9092, 9093, settings_module.load())
    listeners = next(line for line in properties.splitlines() if line.startswith("listeners="))
    assert listeners == "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
    advertised = next(line for line in properties.splitlines() if line.startswith("advertised.listeners="))
    assert advertised == "advertised.listeners=PLAINTEXT://127.0.0.1:9092"
