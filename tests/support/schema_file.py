"""``make schema``: write ``pipeline/warehouse/schema.sql`` again from the migrations.

Starts a scratch embedded ClickHouse, applies every migration to a fresh database and writes
what they leave (:func:`pipeline.warehouse.schema.dump`). Run it after adding a migration;
``tests/integration/test_schema.py`` fails until the file matches.
"""

from __future__ import annotations

import sys
import uuid

from pipeline.warehouse import schema
from pipeline.warehouse.migrator import apply_migrations
from tests.support.clickhouse import ClickHouseServer


def migrated_schema(server: ClickHouseServer) -> str:
    """The schema the migrations leave in a database of their own on ``server`` (dropped after)."""
    name = f"schema_{uuid.uuid4().hex[:10]}"
    client = server.client(database=name)
    try:
        apply_migrations(client)
        return schema.dump(client)
    finally:
        client.command(f"DROP DATABASE IF EXISTS {name}")
        client.close()


def main() -> int:
    with ClickHouseServer() as server:
        text = migrated_schema(server)
    schema.SCHEMA_FILE.write_text(text, encoding="utf-8")
    print(f"wrote {schema.SCHEMA_FILE} ({text.count('CREATE ')} tables and views)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
