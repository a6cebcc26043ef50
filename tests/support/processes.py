"""Vigil's own processes (``vigil collect``, ``vigil process``, …) as test subprocesses.

Real processes, so tests can SIGKILL them; each logs to its own file, and failures quote
the log's tail.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from pipeline.settings import REPO_ROOT
from tests.support.kafka import free_ports


class VigilProcess:
    """``python -m pipeline.cli <args>`` with ``env`` added to this process's environment."""

    def __init__(self, args: list[str], env: dict[str, str], log_file: Path) -> None:
        self.args = args
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log_file = log_file
        self.process: subprocess.Popen | None = None
        self.ready: Callable[[], bool] | None = None
        self.starts = 0

    def start(self, ready: Callable[[], bool] | None = None, timeout: float = 60.0) -> VigilProcess:
        """Start, and wait until ``ready()`` (remembered, so :meth:`restart` waits the same way)."""
        self.ready = ready if ready is not None else self.ready
        ready = self.ready
        self.starts += 1
        with open(self.log_file, "ab") as log:
            log.write(f"\n===== start {self.starts} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", *self.args], cwd=REPO_ROOT,
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while ready is not None and not ready():
            assert self.alive, f"`vigil {' '.join(self.args)}` exited:\n{self.log_tail()}"
            assert time.monotonic() < deadline, f"`vigil {' '.join(self.args)}` not ready in {timeout}s:\n{self.log_tail()}"
            time.sleep(0.2)
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        if self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 20.0) -> None:
        if self.alive:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self, crash: bool = False, timeout: float = 60.0) -> VigilProcess:
        """Stop it (SIGTERM, or SIGKILL when ``crash``) and start it again with the same
        arguments and environment — for a collector, the same port."""
        if crash:
            self.kill()
        else:
            self.stop()
        return self.start(timeout=timeout)

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def collector(env: dict[str, str], log_file: Path) -> tuple[VigilProcess, str]:
    """A started ``vigil collect`` on a free port, and its base URL."""
    port = free_ports(1)[0]
    url = f"http://127.0.0.1:{port}"
    process = VigilProcess(["collect"], {**env, "VIGIL_COLLECTOR_HOST": "127.0.0.1", "VIGIL_COLLECTOR_PORT": str(port)}, log_file)

    def healthy() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    return process.start(healthy), url


def pipeline_env(kafka_bootstrap: str, clickhouse_url: str, data_dir: Path, name: str) -> dict[str, str]:
    """``VIGIL_*`` for a collector and processor of their own: fresh topics (created here, two
    event partitions), a consumer group and a data directory, on the given broker and warehouse."""
    from pipeline.broker.topics import ensure_topics

    run = f"{name}.{os.urandom(4).hex()}"
    topics = {"events": f"{run}.events", "dlq": f"{run}.dlq"}
    ensure_topics(kafka_bootstrap, {topics["events"]: 2, topics["dlq"]: 1})
    return {"VIGIL_KAFKA_BROKERS": kafka_bootstrap, "VIGIL_CLICKHOUSE_URL": clickhouse_url,
            "VIGIL_DATA_DIR": str(data_dir), "VIGIL_EVENTS_TOPIC": topics["events"],
            "VIGIL_DLQ_TOPIC": topics["dlq"], "VIGIL_PROCESSOR_GROUP": run}
