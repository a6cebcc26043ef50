"""``vigil migrate`` applies the schema once, in order, and refuses edited history."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid

import pytest

from pipeline.settings import REPO_ROOT, redacted
from pipeline.warehouse.migrator import MIGRATIONS_DIR, MigrationError, apply_migrations, discover, split_statements

pytestmark = pytest.mark.integration
PASSWORD = "s3cret-pw"


@pytest.fixture
def fresh_db(clickhouse):
    """A client on a database of its own (created by connect), dropped afterwards."""
    name = f"migrate_{uuid.uuid4().hex[:10]}"
    client = clickhouse.client(database=name)
    yield client
    client.command(f"DROP DATABASE IF EXISTS {name}")
    client.close()


def tables(client) -> set[str]:
    return {row[0] for row in client.query("SELECT name FROM system.tables WHERE database = currentDatabase()").result_rows}


def test_migrations_apply_once_and_create_the_schema(fresh_db):
    every = [m.name for m in discover()]
    assert every[0] == "001_events.sql"
    assert apply_migrations(fresh_db) == every
    assert {"events", "projects", "schema_migrations"} <= tables(fresh_db)
    assert apply_migrations(fresh_db) == []  # idempotent: a second run is a no-op
    recorded = fresh_db.query("SELECT version, name, length(checksum) FROM schema_migrations ORDER BY version").result_rows
    assert recorded == [(m.version, m.name, 64) for m in discover()]
    engine = fresh_db.command("SELECT engine FROM system.tables WHERE database = currentDatabase() AND name = 'events'")
    assert engine == "ReplacingMergeTree"


def test_new_migration_files_apply_in_number_order(fresh_db, tmp_path):
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    apply_migrations(fresh_db, directory)
    (directory / "011_later.sql").write_text("CREATE TABLE IF NOT EXISTS later (n UInt8) ENGINE = Memory;\n")
    (directory / "010_sooner.sql").write_text(
        "-- two statements; a ';' inside a string or comment does not split\n"
        "CREATE TABLE IF NOT EXISTS sooner (s String DEFAULT 'a;b') ENGINE = Memory; /* ; */\n"
        "INSERT INTO sooner (s) VALUES ('x;y');\n"
    )
    assert apply_migrations(fresh_db, directory) == ["010_sooner.sql", "011_later.sql"]
    assert fresh_db.command("SELECT s FROM sooner") == "x;y"
    assert {"later", "sooner"} <= tables(fresh_db)


def test_an_edited_applied_migration_is_refused(fresh_db, tmp_path):
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    apply_migrations(fresh_db, directory)
    edited = directory / "001_events.sql"
    edited.write_text(edited.read_text() + "\n-- a harmless-looking edit\n")
    with pytest.raises(MigrationError, match="001_events.sql was changed after it was applied"):
        apply_migrations(fresh_db, directory)


def test_a_failing_statement_names_the_file_and_statement(fresh_db, tmp_path):
    directory = tmp_path / "migrations"
    directory.mkdir()
    (directory / "001_broken.sql").write_text("CREATE TABLE ok (n UInt8) ENGINE = Memory;\nCREATE TABLE broken (n NoSuchType) ENGINE = Memory;\n")
    with pytest.raises(MigrationError, match=r"001_broken.sql, statement 2 failed"):
        apply_migrations(fresh_db, directory)
    assert fresh_db.command("SELECT count() FROM schema_migrations") == 0  # not recorded: it will run again


def test_badly_named_files_are_refused(tmp_path):
    (tmp_path / "events.sql").write_text("SELECT 1")
    with pytest.raises(MigrationError, match="NNN_what_it_does.sql"):
        discover(tmp_path)


def test_split_statements_respects_strings_and_comments():
    script = """
    -- comment; with a semicolon
    CREATE TABLE a (s String DEFAULT 'x;y', t String DEFAULT 'it\\'s;') ENGINE = Memory;
    /* block; comment */ SELECT "col;name", `other;name` FROM a;
    ;
    """
    assert split_statements(script) == [
        "-- comment; with a semicolon\n    CREATE TABLE a (s String DEFAULT 'x;y', t String DEFAULT 'it\\'s;') ENGINE = Memory",
        '/* block; comment */ SELECT "col;name", `other;name` FROM a',
    ]


def test_vigil_migrate_command(clickhouse):
    env = dict(clickhouse.env, VIGIL_CLICKHOUSE_DATABASE=f"cli_{uuid.uuid4().hex[:10]}")
    first = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "migrate"], cwd=REPO_ROOT, env={**_base_env(), **env},
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    assert "applied 001_events.sql" in first.stdout
    again = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "migrate"], cwd=REPO_ROOT, env={**_base_env(), **env},
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "schema up to date" in again.stdout
    clickhouse.client().command(f"DROP DATABASE IF EXISTS {env['VIGIL_CLICKHOUSE_DATABASE']}")


def test_vigil_migrate_with_a_password_in_the_url_never_prints_it(clickhouse):
    # docker-compose's way: the password inside VIGIL_CLICKHOUSE_URL (the embedded server checks it)
    url, password = clickhouse.url, clickhouse.password()
    assert f"vigil:{password}@" in url
    env = dict(clickhouse.env, VIGIL_CLICKHOUSE_URL=url, VIGIL_CLICKHOUSE_DATABASE=f"cli_{uuid.uuid4().hex[:10]}",
               VIGIL_CLICKHOUSE_PASSWORD="")
    done = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "migrate"], cwd=REPO_ROOT, env={**_base_env(), **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{redacted(url)} database {env['VIGIL_CLICKHOUSE_DATABASE']}" in done.stdout  # where, but not the password
    assert password not in done.stdout + done.stderr
    clickhouse.client().command(f"DROP DATABASE IF EXISTS {env['VIGIL_CLICKHOUSE_DATABASE']}")


def test_vigil_migrate_explains_an_unreachable_server(tmp_path):
    from tests.support.clickhouse import free_port

    env = {**_base_env(), "VIGIL_CLICKHOUSE_URL": f"http://vigil:{PASSWORD}@127.0.0.1:{free_port()}"}
    script = "import sys; from pipeline.commands import migrate; migrate.READY_TIMEOUT_S = 1; sys.exit(migrate.main(None))"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "Is `vigil clickhouse` running?" in done.stderr and "VIGIL_CLICKHOUSE_URL" in done.stderr
    assert "http://vigil:***@127.0.0.1" in done.stderr and PASSWORD not in done.stdout + done.stderr


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
