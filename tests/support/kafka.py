"""A real Apache Kafka broker for tests, on free loopback ports with its own data dir.

Built from the same pieces as ``vigil kafka`` (``pipeline/embedded/kafka_broker.py``), so tests run
against exactly the broker users run. Startup reuses the cached jars and takes a few
seconds; the first run on a machine also lets Maven fetch them.

    with KafkaBroker(tmp_path / "kafka") as broker:   # started, Vigil's topics created
        producer = Producer({"bootstrap.servers": broker.bootstrap})
        broker.restart()                              # same ports, same data
        broker.kill()                                 # SIGKILL: a crash, for recovery tests
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from pipeline import settings as settings_module
from pipeline.embedded import kafka_broker
from pipeline.broker.topics import ensure_topics, vigil_topics
from pipeline.settings import Settings


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports that nothing on 127.0.0.1 listens on right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class KafkaBroker:
    """One single-node KRaft broker; ``start()`` it (or use it as a context manager).

    ``data_dir`` defaults to a temporary directory, removed by ``close()``. ``topics``
    (name → partitions, default: Vigil's own topics from ``settings``) are ensured on
    every start. The JVM's console output goes to ``data_dir/broker.out`` and its full log
    to ``data_dir/logs/server.log``; :meth:`log_tail` reads the latter for failure messages.
    """

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        settings: Settings | None = None,
        topics: dict[str, int] | None = None,
        ready_timeout: float = 90.0,
    ) -> None:
        self.settings = settings or settings_module.load()
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="vigil-kafka-"))
        self.port, self.controller_port = free_ports(2)
        self.topics = vigil_topics(self.settings) if topics is None else dict(topics)
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        # seconds from start() to ready (broker answers, topics exist), of the last start
        self.startup_seconds: float | None = None

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap.servers`` / ``VIGIL_KAFKA_BROKERS``."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> KafkaBroker:
        """Start the broker and return once it answers and the topics exist."""
        if self.running:
            raise RuntimeError(f"the broker on {self.bootstrap} is already running; stop() it first")
        started = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "broker.out", "a") as console_log:
            self.process = kafka_broker.start_broker(
                self.data_dir, self.port, self.controller_port, self.settings, stdout=console_log,
                # test traffic is light: start fast rather than reach peak JIT speed
                jvm_options=kafka_broker.QUICK_START_JVM_OPTS,
            )
        try:
            kafka_broker.wait_until_ready(
                self.bootstrap, self.ready_timeout, process=self.process, log_file=self.data_dir / "logs" / "server.log"
            )
            if self.topics:
                ensure_topics(self.bootstrap, self.topics)
        except BaseException as exc:
            self.kill()
            if isinstance(exc, kafka_broker.BrokerNotReady):
                raise kafka_broker.BrokerNotReady(f"{exc}\n--- end of server.log ---\n{self.log_tail()}") from None
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Shut down cleanly (SIGTERM, as an operator would); SIGKILL after ``timeout`` s."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Crash the broker (SIGKILL): no flush, no clean shutdown, like a power cut of the JVM."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        """Stop (if running) and start again on the same ports with the same data."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop, and remove the data dir if this object made it."""
        self.stop()
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self, lines: int = 40) -> str:
        return kafka_broker.last_log_lines(self.data_dir, lines)

    def __enter__(self) -> KafkaBroker:
        if not self.running:
            self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"KafkaBroker({self.bootstrap}, {state}, data_dir={str(self.data_dir)!r})"
