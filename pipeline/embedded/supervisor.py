"""``vigil up``: the whole platform on one machine, supervised.

Starts the embedded Kafka broker and ClickHouse server, applies the schema, makes sure a
``demo`` project exists, then the collector, the processor, the 1-minute signals, the dashboard, the alert
evaluator and (unless told not to) the traffic simulator — each a child process, each
waited on until it answers.
A child that dies is restarted with back-off; Ctrl-C (or SIGTERM) stops them all in reverse
order. Children's output goes to ``<data_dir>/logs/<name>.log``; the terminal gets the
status and where to look.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from pipeline import settings as settings_module
from pipeline.settings import Settings, redacted

console = Console(highlight=False)

MAX_RESTARTS = 5


@dataclass
class Child:
    """One supervised process: how to start it and how to know it is ready."""

    name: str
    argv: list[str]
    ready: Callable[[], bool]
    ready_timeout: float = 120.0
    env: dict[str, str] = field(default_factory=dict)
    ports: tuple[tuple[int, str], ...] = ()  # (port it listens on, the setting that moves it)
    process: subprocess.Popen | None = None
    restarts: int = 0
    log_path: Path | None = None

    def start(self, log_dir: Path) -> None:
        self.log_path = log_dir / f"{self.name}.log"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env},
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it stops children in order
        )
        log.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        if not self.alive():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def tail(self, lines: int = 15) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no owner
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _vigil(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.commands.cli", *args]


def _http_ok(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


def _kafka_ready(s: Settings) -> Callable[[], bool]:
    host, _, port = s.kafka_brokers.split(",")[0].rpartition(":")

    def probe() -> bool:
        from confluent_kafka.admin import AdminClient

        from pipeline.broker.connection import kafka_config

        # a plain TCP probe first: librdkafka would log every refused connection while the JVM starts
        try:
            socket.create_connection((host or "127.0.0.1", int(port)), timeout=1).close()
        except OSError:
            return False
        try:
            topics = AdminClient(kafka_config(s)).list_topics(timeout=2).topics
        except Exception:
            return False
        return s.events_topic in topics and s.dlq_topic in topics

    return probe


def _running(seconds: float) -> Callable[[], bool]:
    """For a process with no port (the processor): ready once it has stayed up this long."""
    started = time.monotonic()
    return lambda: time.monotonic() - started >= seconds


def _wait_ready(child: Child) -> None:
    deadline = time.monotonic() + child.ready_timeout
    with console.status(f"starting [bold]{child.name}[/] …"):
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode} while starting:\n{child.tail()}")
            if child.ready():
                console.print(f"[green]✓[/] {child.name} ready [dim](log: {child.log_path})[/]")
                return
            time.sleep(0.5)
    raise RuntimeError(f"{child.name} was not ready after {child.ready_timeout:.0f}s; its log says:\n{child.tail()}")


def _clickhouse_credentials(s: Settings) -> str:
    """Where the ClickHouse users' passwords are, for the summary (never the passwords)."""
    from pipeline.warehouse import access

    if access.url_user(s.clickhouse_url) is not None:
        return "credentials from VIGIL_CLICKHOUSE_URL"
    if s.clickhouse_password:
        return "user vigil, password VIGIL_CLICKHOUSE_PASSWORD"
    return f"user vigil, password in {access.password_file(s.data_dir, access.WRITER)}"


def _prepare_warehouse(s: Settings):
    from pipeline.warehouse.projects import ensure
    from pipeline.warehouse.client import connect, ensure_database
    from pipeline.warehouse.migrator import apply_migrations

    ensure_database(s)
    client = connect(s)
    applied = apply_migrations(client)
    if applied:
        console.print(f"[green]✓[/] schema migrated: {', '.join(applied)}")
    return ensure(client, "demo")


def run(args: argparse.Namespace) -> int:
    s = settings_module.load()
    log_dir = s.data_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    stopping = False

    def request_stop(signum, frame):  # noqa: ARG001 - signal handler signature
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def launch(child: Child) -> None:
        # a readiness probe would happily find someone else's server on a taken port
        for port, setting in child.ports:
            if not _port_free(port):
                raise RuntimeError(f"port {port} is already in use, so {child.name} cannot listen there; "
                                   f"stop whatever holds it (`ss -ltnp | grep {port}`) or set {setting} to a free port")
        children.append(child)
        child.start(log_dir)
        _wait_ready(child)

    try:
        console.print(f"[bold]Vigil[/] — data in {s.data_dir}")
        launch(Child("kafka", _vigil("kafka"), _kafka_ready(s), ready_timeout=300,
                     ports=((s.kafka_port, "VIGIL_KAFKA_PORT"), (s.kafka_controller_port, "VIGIL_KAFKA_CONTROLLER_PORT"))))
        launch(Child("clickhouse", _vigil("clickhouse"), _http_ok(f"{s.clickhouse_url}/ping"),
                     ports=((s.clickhouse_port, "VIGIL_CLICKHOUSE_PORT"),)))
        demo = _prepare_warehouse(s)
        launch(Child("collector", _vigil("collect"), _http_ok(f"{s.collector_url}/healthz"),
                     ports=((s.collector_port, "VIGIL_COLLECTOR_PORT"),)))
        launch(Child("processor", _vigil("process"), _running(3.0)))
        launch(Child("signals", _vigil("signals"), _running(3.0)))
        dashboard_url = f"http://127.0.0.1:{s.dashboard_port}"
        launch(Child("dashboard", _vigil("dashboard"), _http_ok(f"{dashboard_url}/_stcore/health"),
                     ports=((s.dashboard_port, "VIGIL_DASHBOARD_PORT"),)))
        from pipeline.alerts.service import ready_probe

        launch(Child("alerts", _vigil("alerts"), ready_probe(s)))
        if not args.no_simulate:
            launch(Child("simulator", _vigil("simulate", "--rate", str(args.rate), "--duration", "0", "--quiet",
                                             "--project", str(demo.id), "--key", demo.key), _running(1.0)))
    except RuntimeError as error:
        console.print(f"[red]✗ {error}[/]")
        _stop_all(children)
        return 1
    except KeyboardInterrupt:
        _stop_all(children)
        return 130

    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_row("dashboard", f"[bold cyan]{dashboard_url}[/]")
    table.add_row("collector", f"{s.collector_url}/api/{demo.id}/events  (key {demo.key})")
    table.add_row("clickhouse", f"{redacted(s.clickhouse_url)}  ({_clickhouse_credentials(s)})")
    table.add_row("kafka", redacted(s.kafka_brokers))
    table.add_row("logs", str(log_dir))
    console.print(table)
    console.print("Press Ctrl-C to stop everything.")

    while not stopping:
        for child in children:
            if not child.alive() and not stopping:
                if child.restarts >= MAX_RESTARTS:
                    console.print(f"[red]✗ {child.name} keeps failing; stopping. Last lines:[/]\n{child.tail()}")
                    stopping = True
                    break
                child.restarts += 1
                delay = min(2 ** child.restarts, 30)
                console.print(f"[yellow]! {child.name} exited ({child.process.returncode}); restart {child.restarts}/{MAX_RESTARTS} in {delay}s[/]")
                time.sleep(delay)
                child.start(log_dir)
        time.sleep(0.5)
    _stop_all(children)
    return 0


def _stop_all(children: list[Child]) -> None:
    with console.status("stopping …"):
        for child in reversed(children):
            child.stop()
            console.print(f"[dim]stopped {child.name}[/]")
