"""The embedded ClickHouse server (`vigil clickhouse`) lets in only Vigil's two users, and
neither reaches outside the database: no files, URLs, remote servers or programs."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import clickhouse_connect
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError

from pipeline.embedded.clickhouse_sql import insert_target
from tests.support.clickhouse import ClickHouseServer

WRITER, READER = "vigil", "vigil_reader"


def _password(user: str) -> str:
    return os.environ["VIGIL_CLICKHOUSE_PASSWORD" if user == WRITER else "VIGIL_CLICKHOUSE_READER_PASSWORD"]


def _post(port: int, sql: str, headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> tuple[int, str]:
    query = "?" + urllib.parse.urlencode(params) if params else ""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/{query}", data=sql.encode(), headers=headers or {}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _client(port: int, user: str, password: str | None = None, database: str = "vigil"):
    return clickhouse_connect.get_client(
        dsn=f"http://{user}:{urllib.parse.quote(password or _password(user), safe='')}@127.0.0.1:{port}/{database}",
        autogenerate_session_id=False,
    )


def test_a_query_without_credentials_is_refused(clickhouse):
    status, body = _post(clickhouse.port, "SELECT name FROM vigil.projects")
    assert status == 403
    assert body.startswith("Code: 516. DB::Exception: default: Authentication failed") and "(AUTHENTICATION_FAILED)" in body


@pytest.mark.parametrize("user", [WRITER, READER, "default", "root"])
def test_a_wrong_password_is_refused(clickhouse, user):
    status, body = _post(clickhouse.port, "SELECT 1", _basic(user, "not-the-password"))
    assert status == 403 and "Code: 516." in body and "(AUTHENTICATION_FAILED)" in body
    with pytest.raises(DatabaseError, match="AUTHENTICATION_FAILED"):
        _client(clickhouse.port, user, "not-the-password").query("SELECT 1")


def test_ping_needs_no_credentials_as_on_clickhouse(clickhouse):
    with urllib.request.urlopen(f"http://127.0.0.1:{clickhouse.port}/ping", timeout=10) as response:
        assert response.read() == b"Ok.\n"


def test_the_vigil_user_signs_in_with_credentials_in_the_url(clickhouse):
    client = _client(clickhouse.port, WRITER)
    assert client.query("SELECT currentDatabase()").result_rows == [("vigil",)]
    assert client.command("SELECT count() > 0 FROM system.tables WHERE database = 'vigil'") == 1


@pytest.mark.parametrize("how", ["basic", "headers", "parameters"])
def test_every_way_clickhouse_takes_credentials_works(clickhouse, how):
    password = _password(WRITER)
    headers = {"basic": _basic(WRITER, password), "headers": {"X-ClickHouse-User": WRITER, "X-ClickHouse-Key": password}}.get(how)
    params = {"user": WRITER, "password": password} if how == "parameters" else None
    assert _post(clickhouse.port, "SELECT 1 + 1", headers, params) == (200, "2\n")


def test_the_reader_reads_and_writes_only_its_state_tables(clickhouse):
    reader = _client(clickhouse.port, READER)
    assert reader.query("SELECT count() FROM events").result_rows[0][0] >= 0
    reader.command(
        "INSERT INTO funnels (project_id, name, definition, deleted, updated_at, updated_by, version) "
        "VALUES (999999, 'access test', '{}', 1, now(), 'test', 1)"
    )
    refused = [
        "INSERT INTO events (event_id) VALUES (generateUUIDv4())",
        "INSERT INTO projects (id, name) VALUES (999999, 'stolen')",
        "ALTER TABLE events DELETE WHERE 1",
        "ALTER TABLE funnels ADD COLUMN sneaky UInt8",
        "DROP TABLE funnels",
        "TRUNCATE TABLE events",
        "CREATE TABLE vigil.reader_made (n UInt8) ENGINE = MergeTree ORDER BY n",
        "CREATE USER mallory IDENTIFIED BY 'x'",
        "GRANT INSERT ON *.* TO vigil_reader_role",
        "SET ROLE vigil_writer",
        "SET ROLE ALL",
    ]
    for sql in refused:
        with pytest.raises(DatabaseError, match="ACCESS_DENIED|Not enough privileges"):
            reader.command(sql)


OUTSIDE = [
    "SELECT * FROM file('/etc/passwd', 'LineAsString')",
    "SELECT * FROM file('/etc/passwd')",
    "SELECT file('/etc/passwd')",
    "SELECT `file`('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM url('http://127.0.0.1:1/', 'LineAsString')",
    "SELECT * FROM remote('127.0.0.1:9000', system.one)",
    "SELECT * FROM remoteSecure('127.0.0.1:9440', system.one)",
    "SELECT * FROM executable('id', 'LineAsString', 'line String')",
    "SELECT * FROM s3('http://127.0.0.1:1/bucket/x.csv')",
    "SELECT * FROM mysql('127.0.0.1:3306', 'db', 't', 'u', 'p')",
    "SELECT * FROM postgresql('127.0.0.1:5432', 'db', 't', 'u', 'p')",
    "SELECT * FROM hdfs('hdfs://127.0.0.1:9000/x', 'TSV', 'a String')",
    "SELECT * FROM gcs('http://127.0.0.1:1/bucket/x.csv')",
    "SELECT * FROM iceberg('http://127.0.0.1:1/bucket/x')",
    "SELECT * FROM icebergLocal('/etc')",
    "SELECT * FROM sqlite('/etc/passwd', 't')",
    "SELECT * FROM azureBlobStorage('DefaultEndpointsProtocol=http;AccountName=a;AccountKey=a;"
    "BlobEndpoint=http://127.0.0.1:1/a', 'c', 'x.csv')",
    "SELECT * FROM executablePool('id', 'LineAsString', 'line String')",
    "CREATE DATABASE leak ENGINE = Filesystem('/etc')",
    "INSERT INTO FUNCTION url('http://127.0.0.1:1/', 'CSV', 'a String') VALUES ('x')",
    "SELECT 1 INTO OUTFILE '/tmp/vigil-access-test-out'",
    "INSERT INTO funnels FROM INFILE '/etc/passwd' FORMAT LineAsString",
    "INSERT INTO FUNCTION file('/tmp/vigil-access-test-out', 'CSV', 'n UInt8') VALUES (1)",
    "CREATE TABLE vigil.stolen (line String) ENGINE = File(LineAsString, '/etc/passwd')",
    "CREATE TABLE vigil.fetched (line String) ENGINE = URL('http://127.0.0.1:1/', LineAsString)",
    "CREATE DICTIONARY vigil.leak (a UInt64, b String) PRIMARY KEY a "
    "SOURCE(FILE(path '/etc/passwd' format 'TSV')) LAYOUT(FLAT()) LIFETIME(0)",
    "SYSTEM SHUTDOWN",
    "BACKUP TABLE vigil.projects TO File('/tmp/vigil-access-test-backup')",
]


@pytest.mark.parametrize("user", [WRITER, READER])
@pytest.mark.parametrize("sql", OUTSIDE)
def test_nothing_outside_the_database_is_reachable(clickhouse, user, sql):
    status, body = _post(clickhouse.port, sql, _basic(user, _password(user)))
    assert status in (403, 404), body  # refused by a grant or the server: never run
    assert "root:" not in body
    assert not os.path.exists("/tmp/vigil-access-test-out")


def test_generated_passwords_are_kept_0600_and_reused_after_a_restart(tmp_path):
    with ClickHouseServer(tmp_path / "vigil", generate_passwords=True) as server:
        files = [tmp_path / "vigil" / f"clickhouse-{user}.password" for user in (WRITER, READER)]
        for path in files:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
        first = [path.read_text() for path in files]
        assert _client(server.port, WRITER, server.password(WRITER), "").command("SELECT 1") == 1
        assert _post(server.port, "SELECT 1")[0] == 403
        server.restart()
        assert [path.read_text() for path in files] == first
        assert _client(server.port, READER, server.password(READER), "").command("SELECT 2") == 2
        # every `vigil` command on that data directory signs in with it, with no URL credentials
        env_free = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_CLICKHOUSE_")}
        result = subprocess.run(
            [sys.executable, "-c", "from pipeline.warehouse.client import connect; print(connect(database='').command('SELECT 42'))"],
            env=dict(env_free, VIGIL_DATA_DIR=str(server.data_dir), VIGIL_CLICKHOUSE_PORT=str(server.port)),
            capture_output=True, text=True, timeout=60,
        )
        assert result.stdout.strip() == "42", result.stderr


def test_vigil_clickhouse_password_is_honoured(tmp_path, monkeypatch):
    monkeypatch.setenv("VIGIL_CLICKHOUSE_PASSWORD", "chosen p@ss:word/")
    with ClickHouseServer(tmp_path / "vigil") as server:
        assert _client(server.port, WRITER, "chosen p@ss:word/", "").command("SELECT 3") == 3
        assert _post(server.port, "SELECT 1", _basic(WRITER, "chosen p@ss:word/")) == (200, "1\n")
        assert _post(server.port, "SELECT 1", _basic(WRITER, os.environ.get("VIGIL_CLICKHOUSE_READER_PASSWORD", "x")))[0] == 403
        assert not (tmp_path / "vigil" / "clickhouse-vigil.password").exists()


@pytest.mark.parametrize(
    ("sql", "table"),
    [
        (b"INSERT INTO funnels (a) VALUES", "funnels"),
        (b"insert into vigil.alert_rules FORMAT Native", "alert_rules"),
        (b"INSERT INTO TABLE `other db`.`alert_mutes` (a)", "alert_mutes"),
        (b"INSERT /* c */ INTO \"error_group_states\" SELECT 1", "error_group_states"),
        (b"INSERT INTO FUNCTION file('x') VALUES", None),
        (b"INSERT INTO events VALUES", "events"),
        (b"SELECT 1", None),
    ],
)
def test_the_server_reads_an_inserts_target_table(sql, table):
    assert insert_target(sql) == table


def test_the_reader_writes_its_state_tables_in_any_database(clickhouse):
    writer = _client(clickhouse.port, WRITER)
    writer.command("CREATE DATABASE IF NOT EXISTS access_other")
    writer.command("CREATE TABLE IF NOT EXISTS access_other.alert_mutes (n UInt8) ENGINE = MergeTree ORDER BY n")
    writer.command("CREATE TABLE IF NOT EXISTS access_other.events (n UInt8) ENGINE = MergeTree ORDER BY n")
    reader = _client(clickhouse.port, READER, database="access_other")
    reader.command("INSERT INTO alert_mutes VALUES (1)")
    assert reader.command("SELECT count() FROM alert_mutes") == 1
    with pytest.raises(DatabaseError, match="ACCESS_DENIED"):
        reader.command("INSERT INTO events VALUES (1)")
    with pytest.raises(DatabaseError, match="ACCESS_DENIED"):
        reader.command("ALTER TABLE alert_mutes DELETE WHERE 1")
