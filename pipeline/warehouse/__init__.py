"""The warehouse: ClickHouse schema (``migrations/``), users and grants, the client.

Every process reaches ClickHouse through :func:`connect` (user ``vigil``) or
:func:`connect_reader` (user ``vigil_reader``: dashboard, notebooks, alerts) — a
``clickhouse-connect`` HTTP client on ``VIGIL_CLICKHOUSE_URL``, which is either a real
ClickHouse server or the embedded one started by ``vigil clickhouse``
(:mod:`pipeline.embedded.clickhouse_server`); users and grants are in :mod:`pipeline.warehouse.access`.
"""

from pipeline.warehouse.client import connect, connect_reader, ensure_database, wait_until_ready

__all__ = ["connect", "connect_reader", "ensure_database", "wait_until_ready"]
