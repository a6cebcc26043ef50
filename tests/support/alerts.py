"""Real receivers for alert notifications, on loopback, and a private warehouse database.

- :class:`WebhookReceiver` — a stdlib HTTP server in a thread that records every POST (path,
  headers, JSON body) and can be told to fail the next requests with a status;
- :class:`SmtpReceiver` — aiosmtpd's SMTP server that records every message, and can answer
  the next ones with a temporary failure;
- :func:`private_database` — a fresh database with Vigil's migrations on the session's
  ClickHouse, so alert tests see only their own rules, history and events (:func:`empty`
  clears it between tests).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from email import message_from_bytes, policy
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from clickhouse_connect.driver import Client

from pipeline.settings import Settings
from pipeline.warehouse.client import connect
from pipeline.warehouse.migrator import apply_migrations
from tests.support.clickhouse import ClickHouseServer, free_port


@dataclasses.dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class WebhookReceiver:
    """``with WebhookReceiver() as hook: hook.url("/slack")`` → POSTs land in ``hook.requests``."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.failures: list[int] = []  # statuses to answer the next requests with, in order
        self.attempts = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                with receiver._lock:
                    receiver.attempts += 1
                    status = receiver.failures.pop(0) if receiver.failures else 200
                    if status == 200:
                        receiver.requests.append(Received(self.path, dict(self.headers), json.loads(raw)))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"try again later")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def reset(self) -> None:
        """Forget what was received and any failures still planned."""
        with self._lock:
            self.requests.clear()
            self.failures.clear()
            self.attempts = 0

    def bodies(self, path: str | None = None) -> list[Any]:
        return [r.body for r in self.requests if path is None or r.path == path]

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """``with SmtpReceiver() as smtp:`` → messages land in ``smtp.messages`` (parsed)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.failures: list[str] = []  # SMTP replies for the next DATA commands, e.g. "451 4.3.0 busy"
        self.port = free_port()
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's naming
                if receiver.failures:
                    return receiver.failures.pop(0)
                receiver.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                receiver.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 Message accepted for delivery"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def settings(self, base: Settings) -> Settings:
        """``base`` with this server as the SMTP relay (plain SMTP on loopback)."""
        return dataclasses.replace(base, smtp_host="127.0.0.1", smtp_port=self.port, smtp_security="none",
                                   smtp_from="vigil@example.com")

    def reset(self) -> None:
        self.messages.clear()
        self.envelopes.clear()
        self.failures.clear()

    def subjects(self) -> list[str]:
        return [message["Subject"] for message in self.messages]

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def empty(client: Client) -> None:
    """Empty every table of a private database — events, rollups, projects, alerts — but the
    migrations ledger (much cheaper than a new database)."""
    tables = client.query("SELECT name FROM system.tables WHERE database = currentDatabase() "
                          "AND engine NOT IN ('MaterializedView', 'View') AND name != 'schema_migrations'").result_rows
    for (table,) in tables:
        client.command(f"TRUNCATE TABLE `{table}`")


def private_database(clickhouse: ClickHouseServer, prefix: str = "alerts") -> tuple[Settings, Client]:
    """A new database with every migration applied; returns its settings and a client on it."""
    database = f"{prefix}_{uuid.uuid4().hex[:8]}"
    settings = dataclasses.replace(clickhouse.settings, clickhouse_database=database)
    client = connect(settings)
    apply_migrations(client)
    return settings, client
