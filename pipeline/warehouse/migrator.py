"""``vigil migrate``: apply ``pipeline/warehouse/migrations/NNN_*.sql`` in order, once each.

Every applied file is recorded with its SHA-256 in the ``schema_migrations`` table, so
re-running is a no-op, and a file edited after it was applied is refused (a changed schema
goes into a new numbered file). Only standard ClickHouse SQL: the same command migrates a
real ClickHouse server and the embedded chDB one. With a cluster (``VIGIL_CLICKHOUSE_CLUSTER``)
every statement, the ledger's too, is rendered for it first (:mod:`.cluster_schema`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from clickhouse_connect.driver import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from pipeline.warehouse.cluster_schema import FOREGROUND_INSERT, ClusterStatement, Renderer, Topology


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
LEDGER = "schema_migrations"
READY_TIMEOUT_S = 30.0  # how long `vigil migrate` waits for ClickHouse to answer
_FILE_RE = re.compile(r"^(\d{3,})_[A-Za-z0-9_]+\.sql$")

LEDGER_DDL = f"""
CREATE TABLE IF NOT EXISTS {LEDGER}
(
    version     UInt32,
    name        String,
    checksum    String,
    applied_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY version
"""


class MigrationError(RuntimeError):
    """A migration cannot be applied; the message says which file and what to do."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    checksum: str

    @property
    def statements(self) -> list[str]:
        return split_statements(self.path.read_text(encoding="utf-8"))


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files in ``directory``, ordered by their number."""
    found: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_RE.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNN_what_it_does.sql (e.g. 002_vitals_rollup.sql)")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name} and {found[version].name} share the number {version:03d}; renumber one of them")
        found[version] = Migration(version, path.name, path, hashlib.sha256(path.read_bytes()).hexdigest())
    return [found[v] for v in sorted(found)]


def split_statements(sql: str) -> list[str]:
    """Split a SQL script on top-level ``;`` (not inside strings, quoted names or comments)."""
    statements: list[str] = []
    current: list[str] = []
    meaningful = False  # the current statement has something besides whitespace and comments
    i, size = 0, len(sql)
    while i < size:
        ch = sql[i]
        if ch in "'\"`":
            end = i + 1
            while end < size and sql[end] != ch:
                end += 2 if sql[end] == "\\" else 1
            current.append(sql[i:end + 1])
            meaningful, i = True, end + 1
        elif sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            end = size if end < 0 else end
            current.append(sql[i:end])
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = size if end < 0 else end + 2
            current.append(sql[i:end])
            i = end
        elif ch == ";":
            if meaningful:
                statements.append("".join(current).strip())
            current, meaningful, i = [], False, i + 1
        else:
            current.append(ch)
            meaningful = meaningful or not ch.isspace()
            i += 1
    if meaningful:
        statements.append("".join(current).strip())
    return statements


def render_for_cluster(migrations: list[Migration], topology: Topology) -> tuple[list[ClusterStatement],
                                                                                  dict[int, list[ClusterStatement]]]:
    """The cluster's databases and ledger, and each migration's statements, rendered for ``topology``
    (all of them in order: a statement's rendering depends on the tables created before it)."""
    renderer = Renderer(topology)
    setup = renderer.databases() + renderer.render(LEDGER_DDL.strip())
    return setup, {migration.version: [rendered for statement in migration.statements
                                       for rendered in renderer.render(statement)] for migration in migrations}


def run(client: Client, statement: ClusterStatement) -> None:
    """Run one rendered statement in its database, with its settings."""
    settings: dict[str, object] = dict(statement.settings)
    if statement.database:
        settings["database"] = statement.database
    client.command(statement.sql, settings=settings)


def applied_versions(client: Client, cluster: Topology | None = None) -> dict[int, tuple[str, str]]:
    """version → (name, checksum) of the migrations recorded in the ledger."""
    if cluster is None:
        client.command(LEDGER_DDL)
    else:
        for statement in render_for_cluster([], cluster)[0]:
            run(client, statement)
    result = client.query(f"SELECT version, any(name), any(checksum) FROM {LEDGER} GROUP BY version ORDER BY version")
    return {int(version): (name, checksum) for version, name, checksum in result.result_rows}


def pending_migrations(client: Client, directory: Path = MIGRATIONS_DIR) -> list[str] | None:
    """This version's migrations the database has not recorded yet; None when it has no ledger.

    Read-only (unlike :func:`applied_versions`, it does not create the ledger): a process
    that finds a table without a column it expects asks this to tell "``vigil migrate`` has
    not caught up (yet)" from "this is not a Vigil schema".
    """
    ledger = client.query("SELECT count() FROM system.tables WHERE database = currentDatabase() AND name = {name:String}",
                          parameters={"name": LEDGER}).result_rows[0][0]
    if not ledger:
        return None
    applied = {int(row[0]) for row in client.query(f"SELECT DISTINCT version FROM {LEDGER}").result_rows}
    return [migration.name for migration in discover(directory) if migration.version not in applied]


def apply_migrations(client: Client, directory: Path = MIGRATIONS_DIR, cluster: Topology | None = None) -> list[str]:
    """Apply the migrations not yet recorded, in order; returns the names of those applied.
    ``cluster``: render them for that cluster first (``client`` on the Distributed tables' database).

    Raises :class:`MigrationError` if an applied file was changed since, or a statement fails.
    """
    migrations = discover(directory)
    rendered = render_for_cluster(migrations, cluster)[1] if cluster else {}
    applied = applied_versions(client, cluster)
    newly: list[str] = []
    for migration in migrations:
        if migration.version in applied:
            name, checksum = applied[migration.version]
            if checksum != migration.checksum:
                raise MigrationError(
                    f"{migration.name} was changed after it was applied as {name} "
                    f"(recorded sha256 {checksum[:12]}…, file now {migration.checksum[:12]}…). "
                    "Never edit an applied migration: restore the file and put the change in a new "
                    "NNN_*.sql file."
                )
            continue
        statements = rendered[migration.version] if cluster else [ClusterStatement(sql, "") for sql in migration.statements]
        for number, statement in enumerate(statements, start=1):
            try:
                run(client, statement)
            except DatabaseError as exc:
                raise MigrationError(f"{migration.name}, statement {number} failed: {exc}") from exc
        client.insert(
            LEDGER,
            [[migration.version, migration.name, migration.checksum, datetime.now(timezone.utc)]],
            column_names=["version", "name", "checksum", "applied_at"],
            settings=FOREGROUND_INSERT if cluster else None,
        )
        newly.append(migration.name)
    return newly
