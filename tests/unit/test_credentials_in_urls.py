"""Credentials inside configured URLs (docker-compose puts ClickHouse's password in
VIGIL_CLICKHOUSE_URL): masked wherever a URL or the settings are shown, and still usable
where the URL is used. `vigil migrate` with such a URL is tests/integration/test_migrate.py's."""

from __future__ import annotations

import base64

import pytest

from pipeline import settings as settings_module
from pipeline.settings import redacted
from pipeline.warehouse.client import ping_request


@pytest.mark.parametrize("address, shown", [
    ("http://vigil:s3cret@clickhouse:8123", "http://vigil:***@clickhouse:8123"),
    ("https://vigil:s3cret@ch.example.com:8443/vigil", "https://vigil:***@ch.example.com:8443/vigil"),
    ("http://vigil:p@ss@clickhouse:8123", "http://vigil:***@clickhouse:8123"),  # a raw @ in the password
    ("http://:s3cret@clickhouse:8123", "http://:***@clickhouse:8123"),
    ("http://clickhouse:8123/?password=s3cret&database=vigil", "http://clickhouse:8123/?password=***&database=vigil"),
    ("http://h/?key=s3cret&api_key=s3cret&access_token=s3cret&sentry_key=s3cret&secret=s3cret",
     "http://h/?key=***&api_key=***&access_token=***&sentry_key=***&secret=***"),
    ("u:s3cret@kafka-1:9092,kafka-2:9092", "u:***@kafka-1:9092,kafka-2:9092"),
])
def test_passwords_and_secret_parameters_are_masked(address, shown):
    assert redacted(address) == shown
    assert "s3cret" not in redacted(address) and "ss@" not in redacted(address)


@pytest.mark.parametrize("address", [
    "http://127.0.0.1:8123", "http://vigil@clickhouse:8123", "127.0.0.1:9092,127.0.0.1:9094",
    "http://h:8123/db?database=vigil&key=#top", "https://h/path?x=1#frag",
])
def test_addresses_without_credentials_are_shown_as_they_are(address):
    assert redacted(address) == address


def test_settings_repr_masks_every_credential(monkeypatch):
    monkeypatch.setenv("VIGIL_CLICKHOUSE_URL", "http://vigil:ch-pass@clickhouse:8123")
    monkeypatch.setenv("VIGIL_KAFKA_BROKERS", "svc:kafka-pass@kafka:9092")
    monkeypatch.setenv("VIGIL_SECRET", "salt-key")
    monkeypatch.setenv("VIGIL_SMTP_PASSWORD", "smtp-pass")
    config = settings_module.load()
    shown = repr(config)
    for secret in ("ch-pass", "kafka-pass", "salt-key", "smtp-pass"):
        assert secret not in shown and secret not in str(config)
    assert "clickhouse_url='http://vigil:***@clickhouse:8123'" in shown and "smtp_password='***'" in shown
    assert "clickhouse_database='vigil'" in shown  # everything else as the dataclass shows it
    assert config.clickhouse_url == "http://vigil:ch-pass@clickhouse:8123"  # the value itself is untouched


def test_an_empty_credential_shows_as_empty(monkeypatch):
    monkeypatch.delenv("VIGIL_SMTP_PASSWORD", raising=False)
    assert "smtp_password=''" in repr(settings_module.load())


def test_the_ping_sends_url_credentials_as_basic_auth():
    # urllib would take `vigil:p%40ss@clickhouse` for the host name and fail to resolve it
    request = ping_request("http://vigil:p%40ss@clickhouse:8123")
    assert request.full_url == "http://clickhouse:8123/ping"
    assert request.get_header("Authorization") == "Basic " + base64.b64encode(b"vigil:p@ss").decode()
    plain = ping_request("http://127.0.0.1:8123")
    assert plain.full_url == "http://127.0.0.1:8123/ping" and not plain.has_header("Authorization")


def test_the_embedded_clickhouse_logs_requests_without_their_password(caplog):
    """ClickHouse clients may send ``?user=…&password=…``; the server's request log masks it."""
    import logging

    from pipeline.embedded.clickhouse_handler import ClickHouseHandler

    handler = ClickHouseHandler.__new__(ClickHouseHandler)
    handler.client_address = ("127.0.0.1", 50000)
    with caplog.at_level(logging.DEBUG, logger="vigil.clickhouse"):
        handler.log_message('"%s" %s %s', "POST /?user=vigil&password=s3cret&database=vigil HTTP/1.1", "200", "-")
    assert "s3cret" not in caplog.text
    assert "password=***&database=vigil" in caplog.text
