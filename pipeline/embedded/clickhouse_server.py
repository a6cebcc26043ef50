"""``vigil clickhouse``: the chDB engine served behind ClickHouse's own HTTP interface.

A chDB data directory can be opened by one process only (a second opener gets ``Cannot lock
file …/status``), yet the processor, the dashboard, the notebooks and the alert evaluator are
separate processes. So one process owns the engine and speaks enough of ClickHouse's HTTP
protocol that every other process uses the unchanged ``clickhouse-connect`` client, exactly as
against a real ClickHouse server (``VIGIL_CLICKHOUSE_URL`` switches to one).

What is implemented (see docs/clickhouse.md for the full list):

* users ``vigil`` and ``vigil_reader`` (:mod:`pipeline.warehouse.access`), signed in the ways
  ClickHouse takes credentials (Basic auth, ``X-ClickHouse-User``/``-Key``, ``user``/``password``
  parameters), anything else ``516 AUTHENTICATION_FAILED``; each query runs in the user's role
  under ClickHouse's own grants (no table function or engine reaches outside the database), and
  what chDB runs outside its access control (``INTO OUTFILE``, ``FROM INFILE``, scalar
  ``file()``, ``executable()``, ``SET ROLE``) is refused before the engine sees it
* ``GET /ping`` and ``GET /replicas_status`` → ``Ok.``; ``GET /`` without a query → ``Ok.``
  (no credentials needed, as on ClickHouse)
* queries in the ``query`` URL parameter, in the body, or both (``query + "\\n" + body``,
  as ClickHouse concatenates them); ``multipart/form-data`` bodies (query and parameters as fields)
* ``database``, ``default_format``, ``query_id``, ``session_id``/``session_timeout``/
  ``session_check``, ``wait_end_of_query``, ``param_<name>`` for ``{name:Type}`` placeholders
  (bound by the engine itself, never spliced into the SQL text), and every other URL parameter
  that names a setting the engine knows (unknown ones are ignored)
* INSERT with the data in the body (the statement in the URL, or on the body's first line),
  streamed into chDB's ``send_insert`` chunk by chunk — no per-row work in Python
* ``Transfer-Encoding: chunked`` request bodies; ``Content-Encoding`` gzip / deflate / zstd /
  lz4 request bodies; compressed responses when ``enable_http_compression=1`` and the client's
  ``Accept-Encoding`` offers one of those
* results in any output format the engine has (clickhouse-connect asks for Native); formats
  without header or footer are streamed block by block unless ``wait_end_of_query=1``, with
  mid-stream errors reported in ClickHouse's ``X-ClickHouse-Exception-Tag`` block so the client
  raises them
* errors with ClickHouse's HTTP status for the error code, the ``X-ClickHouse-Exception-Code``
  header and a ``Code: N. DB::Exception: …`` body
* the headers clickhouse-connect reads: ``X-ClickHouse-Query-Id``, ``-Summary``, ``-Format``,
  ``-Timezone``, ``-Server-Display-Name``

The parts: :mod:`~pipeline.embedded.clickhouse_handler` (one HTTP request),
:mod:`~pipeline.embedded.clickhouse_engine` (chDB connections and sessions),
:mod:`~pipeline.embedded.clickhouse_sql` (reading a statement, refusals),
:mod:`~pipeline.embedded.clickhouse_codecs` (bodies, compression, content types) and
:mod:`~pipeline.embedded.clickhouse_errors`; this module runs the server.

Concurrency: chDB runs queries on different connections of one engine in parallel and releases
the GIL while it works, so every HTTP request gets its own chDB connection (pooled, keyed by
database and settings); a ClickHouse session (``session_id``) gets a dedicated connection so
``SET``, ``USE`` and temporary tables persist across its requests, as on a real server.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import chdb

from pipeline import settings as vigil_settings
from pipeline.embedded.clickhouse_engine import Engine
from pipeline.embedded.clickhouse_handler import ClickHouseHandler
from pipeline.warehouse import access

log = logging.getLogger("vigil.clickhouse")

HOST = "127.0.0.1"
SHUTDOWN_GRACE_S = 15.0  # on SIGTERM, how long running requests may take before the engine closes


class ClickHouseHTTPServer(ThreadingHTTPServer):
    """A thread per keep-alive connection; chDB releases the GIL, so requests run in parallel."""

    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    engine: Engine  # set before serving starts
    passwords: dict[str, str]  # user → password (access.WRITER, access.READER)

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, ClickHouseHandler)
        self.display_name = socket.gethostname()
        self.active = 0
        self._active_lock = threading.Condition()

    @contextmanager
    def busy(self):
        """Count a request as running (shutdown waits for running requests, not idle connections)."""
        with self._active_lock:
            self.active += 1
        try:
            yield
        finally:
            with self._active_lock:
                self.active -= 1
                self._active_lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is running; False if some still are after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._active_lock:
            while self.active:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._active_lock.wait(remaining)
        return True


def serve_http(data_dir: Path, port: int, passwords: dict[str, str], database: str = "vigil",
          ready: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> None:
    """Run the server until ``stop`` is set; closes chDB cleanly before returning.

    ``passwords`` maps each user (``vigil``, ``vigil_reader``) to its password; ``database`` is
    the one whose state tables the reader may insert into."""
    try:  # the port first: a busy port must not cost opening (and locking) the data directory
        httpd = ClickHouseHTTPServer((HOST, port))
    except OSError as exc:
        raise SystemExit(
            f"vigil clickhouse: cannot listen on {HOST}:{port} ({exc.strerror}). Is another `vigil clickhouse` or a "
            "ClickHouse server running there? Stop it, or set VIGIL_CLICKHOUSE_PORT to a free port."
        ) from None
    try:
        engine = Engine(data_dir, database)
    except BaseException:
        httpd.server_close()
        raise
    httpd.engine = engine
    httpd.passwords = dict(passwords)
    stop = stop or threading.Event()
    serving = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
    serving.start()
    url = f"http://{HOST}:{httpd.server_address[1]}"
    if ready:
        ready(f"vigil clickhouse: ready at {url} (chDB {chdb.__version__}, ClickHouse engine {engine.version}, data in {data_dir})")
    try:
        while not stop.wait(5.0):
            engine.expire_sessions()
    finally:
        httpd.shutdown()  # no new connections
        httpd.server_close()
        if not httpd.wait_idle(SHUTDOWN_GRACE_S):
            log.warning("requests still running after %.0fs; closing the engine anyway", SHUTDOWN_GRACE_S)
        engine.close()


def serve(args: argparse.Namespace) -> int:
    """``vigil clickhouse``: serve ``<VIGIL_DATA_DIR>/clickhouse`` on 127.0.0.1:VIGIL_CLICKHOUSE_PORT."""
    logging.basicConfig(level=os.environ.get("VIGIL_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = vigil_settings.load()
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def ready(line: str) -> None:
        print(line, flush=True)
        for user, variable in ((access.WRITER, "VIGIL_CLICKHOUSE_PASSWORD"), (access.READER, "VIGIL_CLICKHOUSE_READER_PASSWORD")):
            source = variable if os.environ.get(variable) else str(access.password_file(config.data_dir, user))
            print(f"vigil clickhouse: user {user}, password from {source}", flush=True)

    passwords = {user: access.password(config, user) for user in (access.WRITER, access.READER)}
    serve_http(config.data_dir / "clickhouse", config.clickhouse_port, passwords, config.clickhouse_database, ready=ready, stop=stop)
    print("vigil clickhouse: stopped, data saved", flush=True)
    return 0
