"""The one way a Vigil process talks to ClickHouse: a ``clickhouse-connect`` HTTP client.

The same client serves a real ClickHouse server and the embedded one (``vigil clickhouse``,
chDB behind ClickHouse's HTTP interface); ``VIGIL_CLICKHOUSE_URL`` chooses, and
``VIGIL_CLICKHOUSE_DATABASE`` names Vigil's database. :func:`connect` signs in as ``vigil``
(the pipeline), :func:`connect_reader` as ``vigil_reader`` (dashboard, notebooks, alerts); see
:mod:`pipeline.warehouse.access` for their grants and passwords.

    from pipeline.warehouse.client import connect_reader
    client = connect_reader()
    client.query_df("SELECT type, count() FROM events GROUP BY type")
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import clickhouse_connect
from clickhouse_connect.driver import Client
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from pipeline import settings as vigil_settings
from pipeline.settings import Settings, redacted
from pipeline.warehouse import access

UNKNOWN_DATABASE = 81  # ClickHouse error code


class WarehouseUnavailable(RuntimeError):
    """ClickHouse did not answer at the configured URL."""


def _unreachable(url: str, detail: str) -> WarehouseUnavailable:
    return WarehouseUnavailable(
        f"ClickHouse is not answering at {redacted(url)} ({detail}). Is `vigil clickhouse` running? "
        "Start it, or set VIGIL_CLICKHOUSE_URL to your ClickHouse server's HTTP address "
        "(e.g. http://clickhouse:8123)."
    )


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _client(url: str, database: str | None, overrides: dict[str, Any]) -> Client:
    options: dict[str, Any] = {
        # no server session by default: one client may then be shared by threads (Streamlit,
        # the processor's sink), and nothing in Vigil relies on session state (SET, temp tables)
        "autogenerate_session_id": False,
        # compressing for the loopback only burns CPU on both ends (a 20k-row insert of the
        # events table takes ~30% longer with lz4); across a network it pays for itself
        "compress": urlsplit(url).hostname not in LOOPBACK_HOSTS,
    }
    options.update(overrides)
    try:
        return clickhouse_connect.get_client(dsn=url, database=database, **options)
    except OperationalError as exc:
        raise _unreachable(url, str(exc).split(" executing HTTP request")[0]) from exc


def connect(settings: Settings | None = None, **overrides: Any) -> Client:
    """A client on ``settings.clickhouse_url`` using ``settings.clickhouse_database``.

    The database is created on first use (see :func:`ensure_database`). ``overrides`` go to
    ``clickhouse_connect.get_client`` (e.g. ``database=``, ``settings=``, ``compress=``,
    ``send_receive_timeout=``, ``autogenerate_session_id=True`` for SET/temporary tables).
    """
    config = settings or vigil_settings.load()
    database = overrides.pop("database", config.clickhouse_database)
    url = access.writer_url(config)
    try:
        return _client(url, database, overrides)
    except DatabaseError as exc:
        if getattr(exc, "code", None) != UNKNOWN_DATABASE or not database:
            raise
    ensure_database(config, database)
    return _client(url, database, overrides)


def connect_reader(settings: Settings | None = None, **overrides: Any) -> Client:
    """Like :func:`connect`, signed in as ``vigil_reader``: reads everything, writes only the
    dashboard's and the alerts' own state tables, never creates the database."""
    config = settings or vigil_settings.load()
    database = overrides.pop("database", config.clickhouse_database)
    return _client(access.reader_url(config), database, overrides)


def ensure_database(settings: Settings | None = None, database: str | None = None) -> None:
    """Create Vigil's database if it does not exist yet (idempotent)."""
    config = settings or vigil_settings.load()
    name = database or config.clickhouse_database
    bootstrap = _client(access.writer_url(config), None, {})
    try:
        bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(name)}")
    finally:
        bootstrap.close()


def quote_identifier(name: str) -> str:
    """``name`` as a ClickHouse identifier in backquotes, escaped."""
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def ping_request(url: str) -> urllib.request.Request:
    """``GET <url>/ping``. urllib takes ``user:pass@`` for part of the host name, so the
    credentials docker-compose puts in the URL go in a Basic ``Authorization`` header instead."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    request = urllib.request.Request(urlunsplit(parts._replace(netloc=host)) + "/ping")
    if at:
        request.add_header("Authorization", "Basic " + base64.b64encode(unquote(userinfo).encode()).decode())
    return request


def wait_until_ready(url: str | None = None, timeout: float = 30.0) -> None:
    """Block until ``GET <url>/ping`` answers ``Ok.``; raise a helpful error after ``timeout`` seconds."""
    url = (url or vigil_settings.load().clickhouse_url).rstrip("/")
    request = ping_request(url)
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        try:
            with urllib.request.urlopen(request, timeout=2.0) as response:
                if response.status == 200:
                    return
                last = f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(getattr(exc, "reason", exc))
        if time.monotonic() >= deadline:
            raise _unreachable(url, f"waited {timeout:g}s; last error: {last}")
        time.sleep(0.1)
