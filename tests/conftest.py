"""Session-wide real services for integration and end-to-end tests.

One real Kafka broker and one embedded ClickHouse server (chDB behind ClickHouse's HTTP
interface) are started per test session on free loopback ports with throw-away data
directories; tests that need them ask for the ``kafka`` / ``clickhouse`` fixtures. Tests that
break a service on purpose (kill -9, restart) start their own instance instead.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

# the embedded ClickHouse requires passwords: one pair for the whole test session, inherited by
# every server (tests/support/clickhouse.py) and every `vigil …` subprocess a test starts
os.environ.setdefault("VIGIL_CLICKHOUSE_PASSWORD", secrets.token_urlsafe(16))
os.environ.setdefault("VIGIL_CLICKHOUSE_READER_PASSWORD", secrets.token_urlsafe(16))


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    from tests.support.kafka import KafkaBroker

    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def clickhouse(tmp_path_factory):
    from pipeline.warehouse.migrator import apply_migrations
    from tests.support.clickhouse import ClickHouseServer

    server = ClickHouseServer(tmp_path_factory.mktemp("clickhouse"))
    server.start()
    apply_migrations(server.client())
    yield server
    server.stop()


@pytest.fixture
def vigil_env(kafka, clickhouse, tmp_path) -> dict[str, str]:
    """Environment for a `vigil …` subprocess wired to the session's broker and warehouse."""
    env = dict(os.environ)
    env.update(
        VIGIL_KAFKA_BROKERS=kafka.bootstrap,
        VIGIL_CLICKHOUSE_URL=clickhouse.url,
        VIGIL_DATA_DIR=str(Path(tmp_path) / "vigil"),
    )
    return env
