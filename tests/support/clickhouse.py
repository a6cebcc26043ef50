"""The embedded ClickHouse server for tests: ``vigil clickhouse`` as a subprocess.

Its users' passwords are ``VIGIL_CLICKHOUSE_PASSWORD`` / ``VIGIL_CLICKHOUSE_READER_PASSWORD``
(tests/conftest.py sets both for the whole test session, so every `vigil …` subprocess a test
starts signs in), or with ``generate_passwords=True`` the ones the server generates in its data
directory, as on a fresh install.

It runs exactly what users run (``python -m pipeline.commands.cli clickhouse``: chDB behind
ClickHouse's HTTP interface) on a free loopback port with its own data directory, and
tests talk to it with the real ``clickhouse-connect`` client.

    with ClickHouseServer(tmp_path / "ch") as server:   # started
        client = server.client()                        # on the "vigil" database, created, as `vigil`
        reader = server.reader()                        # the same, as `vigil_reader`
        server.restart()                                 # SIGTERM + start, same port and data
        server.kill()                                    # SIGKILL: a crash, for recovery tests
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from clickhouse_connect.driver import Client

from pipeline import settings as settings_module
from pipeline.settings import REPO_ROOT, Settings
from pipeline.warehouse import access
from pipeline.warehouse.client import connect, connect_reader, wait_until_ready

PASSWORD_VARIABLES = ("VIGIL_CLICKHOUSE_PASSWORD", "VIGIL_CLICKHOUSE_READER_PASSWORD")


def free_port() -> int:
    """A TCP port nothing on 127.0.0.1 listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ClickHouseServer:
    """One ``vigil clickhouse`` process; ``start()`` it (or use it as a context manager).

    ``data_dir`` is the process's ``VIGIL_DATA_DIR`` (chDB keeps its files in
    ``data_dir/clickhouse``); it defaults to a temporary directory that ``close()`` removes.
    The server's console output goes to ``data_dir/clickhouse-server.log``.
    """

    def __init__(self, data_dir: Path | None = None, *, port: int | None = None, database: str = "vigil",
                 ready_timeout: float = 60.0, generate_passwords: bool = False) -> None:
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="vigil-clickhouse-"))
        self.port = port or free_port()
        self.database = database
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None
        self.generate_passwords = generate_passwords
        self._passwords = {
            user: os.environ.get(variable) or secrets.token_urlsafe(16)
            for user, variable in zip((access.WRITER, access.READER), PASSWORD_VARIABLES, strict=True)
        }

    def password(self, user: str = access.WRITER) -> str:
        """``user``'s password (read from the data directory when the server generated it)."""
        if self.generate_passwords:
            return access.password_file(self.data_dir, user).read_text().strip()
        return self._passwords[user]

    @property
    def url(self) -> str:
        """The HTTP address with ``vigil``'s credentials, for ``VIGIL_CLICKHOUSE_URL``."""
        return access.with_credentials(self.address, access.WRITER, self.password())

    @property
    def address(self) -> str:
        """The HTTP address without credentials."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "clickhouse-server.log"

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point a Vigil process at this server."""
        env = {
            "VIGIL_CLICKHOUSE_URL": self.address,
            "VIGIL_CLICKHOUSE_PORT": str(self.port),
            "VIGIL_CLICKHOUSE_DATABASE": self.database,
        }
        if not self.generate_passwords:
            env.update(zip(PASSWORD_VARIABLES, (self._passwords[access.WRITER], self._passwords[access.READER]), strict=True))
        return env

    @property
    def settings(self) -> Settings:
        """Vigil settings (from the environment) with this server's URL and database."""
        return dataclasses.replace(settings_module.load(), clickhouse_url=self.url, clickhouse_database=self.database,
                                   clickhouse_reader_password=self.password(access.READER))

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ClickHouseServer:
        """Start the server and return once it answers ``/ping``."""
        if self.running:
            raise RuntimeError(f"the ClickHouse server on {self.url} is already running; stop() it first")
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, VIGIL_DATA_DIR=str(self.data_dir), PYTHONUNBUFFERED="1", **self.env)
        if self.generate_passwords:
            for variable in PASSWORD_VARIABLES:
                env.pop(variable, None)
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeline.commands.cli", "clickhouse"],
                cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.process.poll() is not None:
                code, self.process = self.process.returncode, None
                raise RuntimeError(f"`vigil clickhouse` exited with code {code} while starting:\n{self.log_tail()}")
            try:
                wait_until_ready(self.address, timeout=0.5)
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RuntimeError(
                        f"`vigil clickhouse` did not answer on {self.url} within {self.ready_timeout:g}s:\n{self.log_tail()}"
                    ) from None
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self, timeout: float = 30.0) -> int | None:
        """Shut down cleanly (SIGTERM, as an operator would); SIGKILL after ``timeout`` s.
        Returns the exit code (None if it was not running)."""
        if self.process is None:
            return None
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return process.returncode

    def kill(self) -> None:
        """Crash the server (SIGKILL): no clean shutdown of chDB."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop (if running) and start again on the same port with the same data."""
        self.stop()
        self.start()

    def client(self, **overrides: Any) -> Client:
        """A ``clickhouse-connect`` client on this server's database (created if missing)."""
        return connect(self.settings, **overrides)

    def reader(self, **overrides: Any) -> Client:
        """A client signed in as ``vigil_reader`` (the dashboard's user) on this server's database."""
        return connect_reader(self.settings, **overrides)

    def close(self) -> None:
        """Stop, and remove the data dir if this object made it."""
        self.stop()
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log yet)"

    def __enter__(self) -> ClickHouseServer:
        if not self.running:
            self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"ClickHouseServer({self.address}, {state}, data_dir={str(self.data_dir)!r})"
