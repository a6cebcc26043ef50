"""The warehouse: ClickHouse schema (``migrations/``), the embedded chDB server, the client.

Every process reaches ClickHouse through :func:`connect` — a ``clickhouse-connect`` HTTP
client on ``VIGIL_CLICKHOUSE_URL``, which is either a real ClickHouse server or the embedded
one started by ``vigil clickhouse`` (:mod:`pipeline.warehouse.server`).
"""

from pipeline.warehouse.client import connect, ensure_database, wait_until_ready

__all__ = ["connect", "ensure_database", "wait_until_ready"]
