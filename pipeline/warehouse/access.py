"""Who may use ClickHouse: Vigil's two users, what each is granted, and where their passwords live.

* ``vigil`` (role ``vigil_writer``): everything the pipeline does — migrations, the processor's
  inserts, projects, retention. Password: ``VIGIL_CLICKHOUSE_PASSWORD``, else the one
  ``vigil clickhouse`` generated in ``<VIGIL_DATA_DIR>/clickhouse-vigil.password``.
* ``vigil_reader`` (role ``vigil_reader_role``): the dashboard, the notebooks and the alert
  evaluator. It reads every table and may insert only into the small state tables those write
  themselves (saved funnels, error-group states, alert rules/channels/mutes/history/deliveries,
  test-notification requests); it cannot insert events, change or drop anything. Password: ``VIGIL_CLICKHOUSE_READER_PASSWORD``,
  else ``<VIGIL_DATA_DIR>/clickhouse-vigil_reader.password``.

Neither role holds a ``SOURCES`` grant (FILE, URL, REMOTE, S3, MYSQL, POSTGRES, ODBC, JDBC, HDFS,
AZURE, …), so every table function and table engine that reaches outside the database is refused
by ClickHouse itself, nor ``CREATE DICTIONARY`` / ``CREATE FUNCTION``, ``SYSTEM`` beyond merges and
view refreshes, or access management. The same grants are in the compose deployment's
``deploy/clickhouse/users.xml`` (a unit test keeps the two equal) and, for the embedded server,
in the users file :func:`embedded_config` writes for chDB. A grant names one database; the
embedded server, whose one engine may hold several Vigil databases (the tests make one per
test), runs a reader's ``INSERT`` into a table named like a state table in
``vigil_reader_state`` (SELECT and INSERT, nothing else) — the server reads the target table
from the statement.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from pipeline.warehouse.secretfile import read_or_create
from pipeline.settings import Settings

WRITER = "vigil"
READER = "vigil_reader"
WRITER_ROLE = "vigil_writer"
READER_ROLE = "vigil_reader_role"
ROLE_OF_USER = {WRITER: WRITER_ROLE, READER: READER_ROLE}
# embedded server only: the role a reader's INSERT into a state table runs in, whatever the
# database (Vigil's tests and side-by-side installs use several; a grant names one)
READER_STATE_ROLE = "vigil_reader_state"

# the tables the dashboard and the alert evaluator write (their own state, never telemetry)
READER_STATE_TABLES = (
    "funnels", "error_group_states",
    "alert_rules", "alert_channels", "alert_mutes", "alert_history", "alert_deliveries", "alert_test_requests",
)

WRITER_PRIVILEGES = (
    "SELECT, INSERT, ALTER, CREATE DATABASE, CREATE TABLE, CREATE VIEW, CREATE TEMPORARY TABLE, "
    "DROP DATABASE, DROP TABLE, DROP VIEW, TRUNCATE, OPTIMIZE, SHOW, SYSTEM MERGES, SYSTEM VIEWS, KILL QUERY"
)


def role_grants(database: str, local_database: str | None = None) -> dict[str, list[str]]:
    """The GRANT statements of each role (identifiers of ``database`` backquoted).

    ``local_database``: on a cluster (``VIGIL_CLICKHOUSE_CLUSTER``) the database of the replicated
    tables behind ``database``'s Distributed ones. The shards run a Distributed insert as the user
    who sent it (the cluster's ``<secret>``), so the reader may insert into the state tables there
    too; the writer runs the migrations' ``ON CLUSTER`` DDL, which needs the ``CLUSTER`` grant.
    """
    databases = [database] + ([local_database] if local_database else [])
    writer = WRITER_PRIVILEGES + (", CLUSTER" if local_database else "")
    return {
        WRITER_ROLE: [f"GRANT {writer} ON *.*"],
        READER_ROLE: ["GRANT SELECT, SHOW ON *.*"] + [f"GRANT INSERT ON {_backquoted(db)}.{table}"
                                                      for db in databases for table in READER_STATE_TABLES],
    }


def _backquoted(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def embedded_role_grants(database: str) -> dict[str, list[str]]:
    """:func:`role_grants` and the embedded server's state-table role (SELECT and INSERT only;
    the server uses it for nothing but a reader's INSERT into one of READER_STATE_TABLES)."""
    return {**role_grants(database), READER_STATE_ROLE: ["GRANT SELECT, INSERT ON *.*"]}


def reader_role_for_insert(table: str | None) -> str:
    """The role a reader's INSERT into ``table`` (None: not a plain table) runs in."""
    return READER_STATE_ROLE if table in READER_STATE_TABLES else READER_ROLE


def roles_xml(grants_by_role: dict[str, list[str]], indent: str = "  ") -> str:
    """The ``<roles>`` section of a ClickHouse users file."""
    lines = [f"{indent}<roles>"]
    for role, grants in grants_by_role.items():
        lines.append(f"{indent}  <{role}>")
        lines.append(f"{indent}    <grants>")
        lines += [f"{indent}      <query>{escape(grant)}</query>" for grant in grants]
        lines.append(f"{indent}    </grants>")
        lines.append(f"{indent}  </{role}>")
    lines.append(f"{indent}</roles>")
    return "\n".join(lines)


# -- passwords and addresses (clients) ------------------------------------------------------


def password_file(data_dir: Path, user: str) -> Path:
    return data_dir / f"clickhouse-{user}.password"


def password(settings: Settings, user: str) -> str:
    """``user``'s password: its ``VIGIL_CLICKHOUSE_*PASSWORD`` setting, else the generated one in
    the data directory (created on first use, by whichever Vigil process comes first)."""
    configured = settings.clickhouse_password if user == WRITER else settings.clickhouse_reader_password
    return configured or read_or_create(password_file(settings.data_dir, user))


def url_user(url: str) -> str | None:
    """The user named in ``url`` (``http://user:pass@host``), or None."""
    userinfo, at, _ = urlsplit(url).netloc.rpartition("@")
    return unquote(userinfo.partition(":")[0]) if at else None


def with_credentials(url: str, user: str, secret: str) -> str:
    """``url`` with ``user:secret@`` in place of any credentials it had."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}:{quote(secret, safe='')}@{host}"))


def writer_url(settings: Settings) -> str:
    """``VIGIL_CLICKHOUSE_URL`` as is when it names a user, else with ``vigil``'s credentials."""
    url = settings.clickhouse_url
    return url if url_user(url) is not None else with_credentials(url, WRITER, password(settings, WRITER))


def reader_url(settings: Settings) -> str:
    """The address the dashboard, notebooks and alerts use: ``vigil_reader``'s credentials in
    place of ``vigil``'s (or of none); a URL naming any other user is used as it is."""
    url = settings.clickhouse_url
    if url_user(url) not in (None, WRITER):
        return url
    return with_credentials(url, READER, password(settings, READER))


# -- the embedded server ---------------------------------------------------------------------


def request_credentials(authorization: str | None, user_header: str | None, key_header: str | None,
                        params: dict[str, str]) -> tuple[str, str]:
    """(user, password) of an HTTP request, the ways ClickHouse takes them: a Basic
    ``Authorization`` header, ``X-ClickHouse-User``/``X-ClickHouse-Key`` headers, ``user``/
    ``password`` URL parameters; none of them means ClickHouse's ``default`` user, no password."""
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return "", ""
            user, _, secret = decoded.partition(":")
            return user, secret
        return "", ""
    if user_header is not None or key_header is not None:
        return user_header or "default", key_header or ""
    if "user" in params or "password" in params:
        return params.get("user") or "default", params.get("password", "")
    return "default", ""


def embedded_config(directory: Path, database: str) -> Path:
    """Write chDB's server configuration into ``directory`` and return the config file's path.

    chDB runs every query as its one built-in user, ``default``; here that user holds nothing
    but the two roles, and the HTTP front end (after checking the password) sets the role of
    the user who asked on the connection the query runs on — so the engine's own access
    control decides, with the same grants as a real server.
    """
    directory.mkdir(parents=True, exist_ok=True)
    files = directory / "user_files"
    scripts = directory / "user_scripts"
    files.mkdir(exist_ok=True)
    scripts.mkdir(exist_ok=True)
    users = directory / "users.xml"
    users.write_text(
        "<clickhouse>\n"
        "  <profiles><default/></profiles>\n"
        "  <quotas><default/></quotas>\n"
        f"{roles_xml(embedded_role_grants(database))}\n"
        "  <users>\n"
        "    <default>\n"
        "      <password></password>\n"
        "      <profile>default</profile>\n"
        "      <quota>default</quota>\n"
        "      <grants>\n"
        f"        <query>GRANT {WRITER_ROLE}, {READER_ROLE}, {READER_STATE_ROLE}</query>\n"
        "      </grants>\n"
        "    </default>\n"
        "  </users>\n"
        "</clickhouse>\n"
    )
    config = directory / "config.xml"
    config.write_text(
        "<clickhouse>\n"
        f"  <users_config>{escape(str(users))}</users_config>\n"
        f"  <user_files_path>{escape(str(files))}/</user_files_path>\n"
        f"  <user_scripts_path>{escape(str(scripts))}/</user_scripts_path>\n"
        "</clickhouse>\n"
    )
    return config
