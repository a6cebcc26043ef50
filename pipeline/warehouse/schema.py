"""The warehouse's current schema as one readable file: ``schema.sql`` beside the migrations.

The migrations are the history (each change a numbered file, never edited); this file is the
result — the DDL of every table and view they leave, as ClickHouse itself reports it
(``SHOW CREATE``), ordered by name. ``tests/integration/test_schema.py`` applies the migrations
to a fresh database and checks they produce exactly this file; ``make schema`` writes it again
after a new migration.
"""

from __future__ import annotations

import re
from pathlib import Path

from clickhouse_connect.driver import Client

SCHEMA_FILE = Path(__file__).resolve().parent / "schema.sql"
HEADER = """-- The warehouse's schema as the migrations leave it: every table and view, as ClickHouse reports
-- it (SHOW CREATE), by name. Generated — do not edit: add a migration, then run `make schema`.
"""


def dump(client: Client) -> str:
    """The DDL of every table and view in the client's database, by name, without the database's name."""
    database = client.command("SELECT currentDatabase()")
    names = [name for (name,) in client.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() AND NOT is_temporary ORDER BY name"
    ).result_rows]
    statements = []
    for name in names:
        ddl = client.query("SHOW CREATE TABLE {database:Identifier}.{name:Identifier}",
                           parameters={"database": database, "name": name}).result_rows[0][0]
        statements.append(_without_database(ddl, str(database)).rstrip() + ";")
    return HEADER + "\n" + "\n\n".join(statements) + "\n"


def _without_database(ddl: str, database: str) -> str:
    """``ddl`` with ``database.`` dropped before every name (the schema is the same in any database)."""
    return re.sub(rf"(?<![\w.`]){re.escape(database)}\.", "", ddl)
