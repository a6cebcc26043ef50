"""The embedded ClickHouse server's engine: one chDB data directory, pooled connections, sessions.

:class:`Engine` opens the data directory once (refusing clearly if another process holds it),
hands each request a chDB connection in the authenticated user's role with the request's
database and settings (pooled, keyed by both), and keeps ClickHouse sessions (``session_id``):
a dedicated connection each, so ``SET``, ``USE`` and temporary tables persist across its
requests, with URL settings applying to one query only, as on a real server.
"""

from __future__ import annotations

import fcntl
import json
import re
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chdb

from pipeline.embedded.clickhouse_errors import ClickHouseError
from pipeline.embedded.clickhouse_sql import Statement
from pipeline.warehouse import access

MAX_SESSIONS = 1000  # beyond this, the least recently used idle session is closed
MAX_IDLE_CONNECTIONS = 32  # pooled chDB connections kept open between requests
MAX_CONCURRENT_QUERIES = 64  # requests beyond this wait for a slot (ClickHouse: max_concurrent_queries)
SESSION_LOCK_WAIT_S = 5.0  # how long a request waits for its session's previous request to finish

# URL parameters that belong to the HTTP interface, never forwarded to the engine as settings
HTTP_PARAMETERS = frozenset(
    {
        "query", "database", "default_format", "session_id", "session_timeout", "session_check",
        "query_id", "quota_key", "compress", "decompress", "buffer_size", "wait_end_of_query",
        "user", "password", "role", "client_protocol_version", "enable_http_compression",
        "send_progress_in_http_headers", "cancel_http_readonly_queries_on_client_close",
        "add_http_cors_header", "http_zlib_compression_level", "http_native_compression_disable_checksumming_on_decompress",
    }
)
HTTP_PARAMETER_PREFIXES = ("param_", "http_")
_SETTING_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _set_statement(values: dict[str, str | None]) -> str:
    """``SET a = 'x', b = DEFAULT`` (None restores the default); readonly goes last because one
    SET's constraints are checked against the state before it."""
    names = sorted(values, key=lambda n: n == "readonly")
    return "SET " + ", ".join(f"{name} = {'DEFAULT' if values[name] is None else _quote_literal(values[name])}" for name in names)


@dataclass
class Session:
    """A ClickHouse HTTP session: one dedicated chDB connection and what was applied to it."""

    id: str
    connection: Any
    timeout: float
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    database: str | None = None  # last database switched to by a URL parameter (None: unknown)
    overrides: dict[str, str] = field(default_factory=dict)  # settings currently applied from the URL
    baseline: dict[str, str | None] = field(default_factory=dict)  # the session's own values of those (None: default)
    closed: bool = False


def _refuse_if_in_use(path: Path) -> None:
    """Exit with a clear message if another process holds the data directory's lock (chDB
    itself only reports "Error initializing EmbeddedServer")."""
    status = path / "status"
    if not status.exists():
        return
    with open(status, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"vigil clickhouse: the chDB data directory {path} is in use by another process (only one "
                "process may open it). Stop the other `vigil clickhouse`, or set VIGIL_DATA_DIR to another directory."
            ) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


class Engine:
    """One chDB engine on one data directory, shared by all requests of this process."""

    def __init__(self, path: Path, database: str = "vigil"):
        self.path = str(path)
        path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        _refuse_if_in_use(path)
        # users, roles and grants (pipeline/warehouse/access.py) from a config file next to the data
        config = access.embedded_config(path.with_name(path.name + "-config"), database)
        self._keeper = chdb.connect(f"file:{self.path}?config-file={config}")  # keeps the engine open between requests
        version, tz = self._keeper.query("SELECT version(), timezone()", "TabSeparated").bytes().decode().strip().split("\t")
        self.version, self.timezone = version, tz
        names = self._keeper.query("SELECT name FROM system.settings", "TabSeparated").bytes().decode().split("\n")
        self.known_settings = frozenset(n for n in names if n)
        self._idle: dict[tuple, list[Any]] = {}
        self._idle_count = 0
        self._sessions: dict[str, Session] = {}
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_QUERIES)
        self._closed = False

    # -- settings -------------------------------------------------------------------------

    def engine_settings(self, params: dict[str, str]) -> dict[str, str]:
        """The URL parameters that are engine settings (HTTP-interface ones and unknown ones dropped)."""
        return {
            name: value
            for name, value in params.items()
            if name not in HTTP_PARAMETERS
            and not name.startswith(HTTP_PARAMETER_PREFIXES)
            and name in self.known_settings
            and _SETTING_NAME_RE.match(name)
        }

    # -- connections ----------------------------------------------------------------------

    def _open(self, role: str, database: str | None, settings: dict[str, str]):
        if self._closed:
            raise ClickHouseError(210, "NETWORK_ERROR", "Code: 210. DB::Exception: The server is shutting down. (NETWORK_ERROR)")
        with self._lock:
            connection = chdb.connect(self.path)
        try:
            connection.query(f"SET ROLE {_quote_identifier(role)}")  # the authenticated user's grants only
            if database:
                connection.query(f"USE {_quote_identifier(database)}")
            if settings:
                connection.query(_set_statement(settings))
        except Exception as exc:
            connection.close()
            raise ClickHouseError.from_engine(exc) from None
        return connection

    @contextmanager
    def pooled(self, role: str, database: str | None, settings: dict[str, str], reusable: Callable[[], bool]):
        """A connection in ``role`` with ``database`` selected and ``settings`` set, for one request."""
        key = (role, database or "", tuple(sorted(settings.items())))
        with self._slots:
            with self._lock:
                idle = self._idle.get(key)
                connection = idle.pop() if idle else None
                if connection is not None:
                    self._idle_count -= 1
            if connection is None:
                connection = self._open(role, database, settings)
            healthy = False
            try:
                yield connection
                healthy = True
            finally:
                keep = healthy and reusable() and not self._closed
                with self._lock:
                    if keep and self._idle_count < MAX_IDLE_CONNECTIONS:
                        self._idle.setdefault(key, []).append(connection)
                        self._idle_count += 1
                        connection = None
                if connection is not None:
                    connection.close()

    @contextmanager
    def session(self, role: str, session_id: str, timeout: float, must_exist: bool):
        """The session's connection, locked for this request (ClickHouse: one query per session at a
        time). Sessions are per role: one user cannot continue another's session."""
        shown, session_id = session_id, f"{role}/{session_id}"
        with self._lock:
            current = self._sessions.get(session_id)
            if current is None:
                if must_exist:
                    raise ClickHouseError(
                        372, "SESSION_NOT_FOUND",
                        f"Code: 372. DB::Exception: Session {shown} not found. (SESSION_NOT_FOUND)",
                    )
                if self._closed:
                    raise ClickHouseError(210, "NETWORK_ERROR", "Code: 210. DB::Exception: The server is shutting down. (NETWORK_ERROR)")
                current = Session(session_id, None, timeout)
                self._sessions[session_id] = current
                self._evict_sessions_locked()
        if not current.lock.acquire(timeout=SESSION_LOCK_WAIT_S):
            raise ClickHouseError(
                373, "SESSION_IS_LOCKED",
                f"Code: 373. DB::Exception: Session {shown} is locked by a concurrent client. (SESSION_IS_LOCKED)",
            )
        try:
            while current.closed:  # expired or evicted while we waited: continue in its successor
                current.lock.release()
                with self._lock:
                    successor = self._sessions.get(session_id)
                    if successor is None:
                        successor = Session(session_id, None, timeout)
                        self._sessions[session_id] = successor
                current = successor
                current.lock.acquire()
            if current.connection is None:
                current.connection = self._open(role, None, {})
            current.timeout = timeout
            with self._slots:
                yield current
        finally:
            current.last_used = time.monotonic()
            current.lock.release()

    def _evict_sessions_locked(self) -> None:
        if len(self._sessions) <= MAX_SESSIONS:
            return
        for session in sorted(self._sessions.values(), key=lambda s: s.last_used):
            if len(self._sessions) <= MAX_SESSIONS:
                break
            if session.lock.acquire(blocking=False):
                self._close_session_locked(session)
                session.lock.release()

    def _close_session_locked(self, session: Session) -> None:
        session.closed = True
        if self._sessions.get(session.id) is session:
            del self._sessions[session.id]
        if session.connection is not None:
            session.connection.close()
            session.connection = None

    def expire_sessions(self) -> None:
        """Close sessions idle for longer than their timeout (called periodically)."""
        now = time.monotonic()
        with self._lock:
            for session in list(self._sessions.values()):
                if now - session.last_used > session.timeout and session.lock.acquire(blocking=False):
                    self._close_session_locked(session)
                    session.lock.release()

    def prepare_session(self, session: Session, database: str | None, settings: dict[str, str]) -> None:
        """Select ``database`` and apply this request's URL settings on the session's connection,
        restoring the session's own values of settings the previous request overrode — URL
        settings apply to one query, ``SET`` statements to the session, as in ClickHouse."""
        connection = session.connection
        try:
            if database and database != session.database:
                connection.query(f"USE {_quote_identifier(database)}")
                session.database = database
            changes = {name: session.baseline[name] for name in session.overrides if name not in settings}
            wanted = {name: value for name, value in settings.items() if session.overrides.get(name) != value}
            unknown = [name for name in wanted if name not in session.baseline]
            if unknown:
                session.baseline.update(self._current_values(connection, unknown))
            changes.update(wanted)
            if changes:
                connection.query(_set_statement(changes))
            for name in session.overrides:
                if name not in settings:
                    session.baseline.pop(name, None)
            session.overrides = dict(settings)
        except ClickHouseError:
            raise
        except Exception as exc:  # the failed SET changed nothing: the bookkeeping stays true
            raise ClickHouseError.from_engine(exc) from None

    def after_session_statement(self, session: Session, statement: Statement) -> None:
        """Keep the session's bookkeeping true after a statement that changed its state."""
        if statement.keyword == "USE":
            session.database = None
        elif statement.keyword == "SET" and session.overrides:
            current = self._current_values(session.connection, list(session.overrides))
            for name, value in current.items():
                if value is None or value != session.overrides[name]:  # the SET replaced an override: it is the session's now
                    session.baseline.pop(name, None)
                    del session.overrides[name]

    @staticmethod
    def _current_values(connection, names: list[str]) -> dict[str, str | None]:
        listing = ", ".join(_quote_literal(n) for n in names)
        rows = connection.query(f"SELECT name, value, changed FROM system.settings WHERE name IN ({listing})", "JSONCompact").bytes()
        return {name: (value if changed else None) for name, value, changed in json.loads(rows)["data"]}

    def close(self) -> None:
        """Close every connection; the engine shuts down (and flushes) with the last one."""
        with self._lock:
            self._closed = True
            for session in list(self._sessions.values()):
                if session.connection is not None:
                    session.connection.close()
                    session.connection = None
                session.closed = True
            self._sessions.clear()
            for connections in self._idle.values():
                for connection in connections:
                    connection.close()
            self._idle.clear()
            self._idle_count = 0
            keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.close()
