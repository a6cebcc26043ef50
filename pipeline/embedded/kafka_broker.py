"""``vigil kafka``: a real Apache Kafka 4.x broker on this machine, no Docker needed.

The broker is the upstream one, run in KRaft mode as a single combined broker+controller
node with the machine's JDK 17. Its jars come from Maven (``pipeline/embedded/pom.xml``),
resolved once into ``<VIGIL_DATA_DIR>/lib/kafka-<version>/`` and reused after. Its state
lives in ``<VIGIL_DATA_DIR>/kafka/``: ``data/`` (the log dirs, formatted once with a
persisted cluster id, so topics and messages survive restarts), ``logs/server.log`` and the
generated ``server.properties``.

Other code uses the pieces: :func:`ensure_jars`, :func:`start_broker` (non-blocking),
:func:`wait_until_ready`; ``tests/support/kafka.py`` builds its test broker from them.
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import fcntl
import functools
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import xml.etree.ElementTree as ElementTree
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rich.console import Console

from pipeline import settings as settings_module
from pipeline.broker.topics import ensure_topics, vigil_topics
from pipeline.settings import Settings, redacted

BROKER_DIR = Path(__file__).resolve().parent
POM = BROKER_DIR / "pom.xml"
LOG4J_CONFIG = BROKER_DIR / "log4j2.xml"

# a modest heap: Vigil's own traffic, not a shared company cluster
JVM_HEAP = ["-Xms256m", "-Xmx768m"]
# the GC settings Kafka's own start scripts use
JVM_OPTS = [
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-Djava.awt.headless=true",
    # Kafka logs through its own shutdown hook; log4j's hook would close the appenders first
    "-Dlog4j2.shutdownHookEnabled=false",
]
# for short-lived JVMs (the storage tool) and brokers that should start fast rather than
# peak (tests): C1 only skips the C2 compiler, which competes for the CPU at start-up
QUICK_START_JVM_OPTS = ["-XX:TieredStopAtLevel=1"]
MIN_JAVA = 17
NODE_ID = 1
READY_TIMEOUT_S = 120.0
# written into the lib dir once Maven finished, with the pom's hash: a half-copied or
# outdated lib dir is resolved again
RESOLVED_MARKER = ".vigil-resolved"
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class BrokerNotReady(RuntimeError):
    """The broker did not answer in time, or its process ended while starting."""


# ── jars ───────────────────────────────────────────────────────────────────────────────


def kafka_version() -> str:
    """The Kafka version the pom pins (its ``kafka.version`` property)."""
    root = ElementTree.parse(POM).getroot()
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    version = root.findtext("m:properties/m:kafka.version", namespaces=ns)
    if not version:
        raise RuntimeError(f"{POM} has no <kafka.version> property; restore it from git")
    return version.strip()


def lib_dir(settings: Settings) -> Path:
    """Where the Kafka jars of the pinned version are cached."""
    return settings.data_dir / "lib" / f"kafka-{kafka_version()}"


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()


def _jars_are_current(lib: Path) -> bool:
    marker = lib / RESOLVED_MARKER
    return marker.is_file() and marker.read_text().strip() == _pom_digest()


def ensure_jars(settings: Settings, console: Console | None = None) -> Path:
    """Return the lib dir holding Kafka's jars, running Maven first if they are not there.

    The first run downloads about 45 MB through Maven's ordinary configuration (so a
    ``~/.m2/settings.xml`` mirror or proxy applies) and shows what it fetches; later runs
    return at once. Safe to call from several processes at the same time.
    """
    lib = lib_dir(settings)
    if _jars_are_current(lib):
        return lib
    console = console or Console(highlight=False, soft_wrap=True)
    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.parent / f".{lib.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be resolving right now
        if _jars_are_current(lib):
            return lib
        for leftover in lib.parent.glob(f".{lib.name}.partial-*"):  # from an interrupted run
            shutil.rmtree(leftover, ignore_errors=True)
        staging = lib.parent / f".{lib.name}.partial-{os.getpid()}"
        _resolve_with_maven(staging, console)
        (staging / RESOLVED_MARKER).write_text(_pom_digest() + "\n")
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
    return lib


def _resolve_with_maven(output_dir: Path, console: Console) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(
            "Maven (`mvn`) is needed once to fetch Apache Kafka's jars, and it is not on PATH. "
            "Install it (Debian/Ubuntu: `apt-get install maven`) and run `vigil kafka` again."
        )
    version = kafka_version()
    console.print(
        f"[bold]Fetching Apache Kafka {version}[/] with Maven into {output_dir.parent} "
        "(first run only, about 45 MB)…"
    )
    command = [mvn, "-B", "-f", str(POM), "dependency:copy-dependencies", f"-DoutputDirectory={output_dir}"]
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=30)
    fetched = 0
    with console.status("resolving the dependency tree…") as status:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=BROKER_DIR
        )
        assert process.stdout is not None
        try:
            for line in process.stdout:
                line = _ANSI_ESCAPE.sub("", line).rstrip().removeprefix("[INFO] ")
                tail.append(line)
                if line.startswith("Downloaded from"):
                    fetched += 1
                    # show the file, not the repository address
                    artifact = line.split()[3].rsplit("/", 1)[-1] if len(line.split()) > 3 else ""
                    status.update(f"{fetched} files fetched · {artifact}")
                elif "maven-dependency-plugin" in line and "copy-dependencies" in line:
                    status.update(f"{fetched} files fetched · copying the jars")
            returncode = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            shutil.rmtree(output_dir, ignore_errors=True)
            raise
    if returncode != 0:
        shutil.rmtree(output_dir, ignore_errors=True)
        raise RuntimeError(
            f"Maven could not resolve Apache Kafka {version} (exit {returncode}). Its last lines:\n"
            + "\n".join(tail)
            + "\nCheck that Maven Central is reachable (or your ~/.m2/settings.xml mirror), then retry."
        )
    jars = sorted(output_dir.glob("*.jar"))
    if not any(j.name.startswith("kafka_2.13-") for j in jars):
        raise RuntimeError(f"Maven finished but {output_dir} holds no kafka_2.13 jar; see {POM}")
    source = f"{fetched} files downloaded" if fetched else "all from Maven's local repository"
    console.print(
        f"Kafka's classpath is ready: {len(jars)} jars, {sum(j.stat().st_size for j in jars) / 1e6:.0f} MB "
        f"({source}) in {time.monotonic() - started:.0f}s."
    )


# ── java ───────────────────────────────────────────────────────────────────────────────


@functools.cache
def find_java() -> str:
    """The ``java`` to run Kafka with: ``$JAVA_HOME/bin/java``, else the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").is_file():
        java = str(Path(java_home) / "bin" / "java")
    else:
        found = shutil.which("java")
        if found is None:
            raise RuntimeError(
                f"Kafka needs Java {MIN_JAVA} or newer and no `java` is on PATH. Install a JDK "
                "(Debian/Ubuntu: `apt-get install openjdk-17-jre-headless`) or set JAVA_HOME."
            )
        java = found
    probe = subprocess.run([java, "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)', probe.stderr)
    if match is None or int(match.group(1)) < MIN_JAVA:
        raise RuntimeError(
            f"Kafka 4 needs Java {MIN_JAVA} or newer; {java} says: {probe.stderr.strip().splitlines()[:1]}. "
            "Point JAVA_HOME at a JDK 17+."
        )
    return java


# ── config and storage ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Role:
    """A node's place in its KRaft cluster; the default is `vigil kafka`'s single node.

    ``voters`` is ``controller.quorum.voters`` (empty: this node alone); ``replication`` is the
    replication factor of every topic, internal ones too, and ``min.insync.replicas`` is one
    less (so one node may be lost); ``cluster_id`` is shared by all nodes (empty: made once
    in ``<data_dir>/cluster.id``). ``pipeline/embedded/kafka_cluster.py`` makes the roles of
    a multi-node cluster.
    """

    node_id: int = NODE_ID
    voters: str = ""
    replication: int = 1
    cluster_id: str = ""

    @property
    def min_insync(self) -> int:
        return max(1, self.replication - 1)


def broker_properties(data_dir: Path, port: int, controller_port: int, settings: Settings,
                      role: Role = Role()) -> str:
    """``server.properties`` for a KRaft node (broker and controller in one), by default a
    single-node cluster where everything replicated is replicated once.

    Internal topics get fewer partitions than Kafka's default of 50, which only pays off
    across many brokers and makes the first consumer group slow to start.
    """
    replication, min_insync = role.replication, role.min_insync
    return "\n".join([
        "# Generated by `vigil kafka` (pipeline/embedded/kafka_broker.py) on every start; edits here are lost.",
        "process.roles=broker,controller",
        f"node.id={role.node_id}",
        f"controller.quorum.voters={role.voters or f'{role.node_id}@127.0.0.1:{controller_port}'}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names=CONTROLLER",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={data_dir / 'data'}",
        # topics created on first use (producers, Quix Streams) look like Vigil's own
        "auto.create.topics.enable=true",
        f"num.partitions={settings.topic_partitions}",
        f"default.replication.factor={replication}",
        f"min.insync.replicas={min_insync}",
        # consumer groups (the processor) and transactions (Quix exactly-once, optional)
        f"offsets.topic.replication.factor={replication}",
        "offsets.topic.num.partitions=10",
        f"transaction.state.log.replication.factor={replication}",
        f"transaction.state.log.min.isr={min_insync}",
        "transaction.state.log.num.partitions=10",
        f"share.coordinator.state.topic.replication.factor={replication}",
        f"share.coordinator.state.topic.min.isr={min_insync}",
        # one consumer per group is the common case here: don't wait 3 s for more to join
        "group.initial.rebalance.delay.ms=0",
        # after a crash the controller keeps the dead incarnation's registration until its
        # session expires, and the restarted broker waits for that: 4 s instead of 9 s
        "broker.session.timeout.ms=4000",
        "broker.heartbeat.interval.ms=1000",
        "log.retention.hours=168",
        "num.recovery.threads.per.data.dir=1",
        "",
    ])


def _new_cluster_id() -> str:
    # Kafka's Uuid text form: 16 random bytes, URL-safe base64 without padding. Like Kafka's
    # own Uuid.randomUuid(), never one starting with "-": the storage tool's argument parser
    # would take it for an option (1 id in 64; CI met one).
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not text.startswith("-"):
            return text


def cluster_id(data_dir: Path) -> str:
    """This broker's cluster id, made once and kept in ``<data_dir>/cluster.id``."""
    path = data_dir / "cluster.id"
    if path.is_file():
        return path.read_text().strip()
    new_id = _new_cluster_id()
    path.write_text(new_id + "\n")
    return new_id


def _java_command(java: str, lib: Path, data_dir: Path, extra: Sequence[str] = ()) -> list[str]:
    return [
        java, *JVM_HEAP, *JVM_OPTS, *extra,
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Dkafka.logs.dir={data_dir / 'logs'}",
        "-cp", f"{lib}/*",
    ]


def format_storage(data_dir: Path, java: str, lib: Path, config: Path, cluster: str = "") -> bool:
    """Format the log dir for KRaft once, for the cluster id ``cluster`` (default: this data
    dir's own, :func:`cluster_id`); return whether it formatted (False: already was)."""
    if (data_dir / "data" / "meta.properties").is_file():
        return False
    result = subprocess.run(
        [*_java_command(java, lib, data_dir, QUICK_START_JVM_OPTS), "kafka.tools.StorageTool", "format",
         "--config", str(config), "--cluster-id", cluster or cluster_id(data_dir), "--ignore-formatted"],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"formatting Kafka's storage in {data_dir / 'data'} failed (exit {result.returncode}):\n"
            f"{(result.stdout + result.stderr).strip()}\n"
            f"If that directory holds nothing you need, delete it and start again."
        )
    return True


# ── process ───────────────────────────────────────────────────────────────────────────

_PR_SET_PDEATHSIG = 1
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl  # Linux; resolved here, not after fork
except (OSError, AttributeError):
    _prctl = None


def _die_with_parent(parent_pid: int) -> None:
    """preexec_fn: have the kernel SIGTERM the JVM if the process that started it dies."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already accepts connections on ``host:port``."""
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def start_broker(
    data_dir: Path,
    port: int,
    controller_port: int,
    settings: Settings,
    *,
    stdout: IO[str] | int | None = None,
    stop_with_parent: bool = True,
    jvm_options: Sequence[str] = (),
    role: Role = Role(),
) -> subprocess.Popen[bytes]:
    """Start a KRaft node on ``127.0.0.1:port`` and return at once: by default a single-node
    cluster, else the cluster member ``role`` says.

    ``data_dir`` holds this broker's state (created if missing; formatted on first use,
    reused after). The jars come from :func:`ensure_jars`. The JVM's console output
    (warnings and errors; the full log is ``data_dir/logs/server.log``) goes to ``stdout``,
    default: inherited. It runs in its own process group, so a terminal's Ctrl-C reaches
    only the caller, who decides how to stop it (SIGTERM = clean shutdown). With
    ``stop_with_parent`` the kernel sends it SIGTERM when the calling *thread* ends, so a
    crashed caller never leaves a broker holding the ports. ``jvm_options`` are added to
    the java command line (e.g. :data:`QUICK_START_JVM_OPTS`). Follow with
    :func:`wait_until_ready`.
    """
    for name, value in (("port", port), ("controller port", controller_port)):
        if port_in_use(value):
            raise RuntimeError(
                f"Kafka's {name} 127.0.0.1:{value} is already taken. Is `vigil kafka` already running? "
                "Stop it, or choose other ports with VIGIL_KAFKA_PORT / VIGIL_KAFKA_CONTROLLER_PORT."
            )
    lib = ensure_jars(settings)
    java = find_java()
    data_dir = data_dir.resolve()
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    lock = _lock_data_dir(data_dir)
    try:
        config = data_dir / "server.properties"
        config.write_text(broker_properties(data_dir, port, controller_port, settings, role))
        format_storage(data_dir, java, lib, config, role.cluster_id)
        parent_pid = os.getpid()
        process = subprocess.Popen(
            [*_java_command(java, lib, data_dir, jvm_options), "kafka.Kafka", str(config)],
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout is not None else None,
            stdin=subprocess.DEVNULL,
            cwd=data_dir,
            start_new_session=True,
            pass_fds=(lock.fileno(),),
            preexec_fn=(lambda: _die_with_parent(parent_pid)) if stop_with_parent else None,
        )
        lock.truncate(0)
        lock.write(f"{process.pid}\n")
        lock.flush()
        return process
    finally:
        # the JVM inherited the locked descriptor: the lock now lasts exactly as long as it
        lock.close()


def _lock_data_dir(data_dir: Path) -> IO[str]:
    """Take ``data_dir/broker.lock`` for one broker, or say which process holds it.

    Kafka locks its log dirs only after the KRaft metadata log is open, so two brokers
    started at once on one dir can both write that log and corrupt it; this lock closes
    that window.
    """
    lock = open(data_dir / "broker.lock", "a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip()
        lock.close()
        raise RuntimeError(
            f"{data_dir} is in use by another Kafka broker{f' (pid {holder})' if holder else ''}. Stop that one first "
            "(or give this one its own VIGIL_DATA_DIR); two brokers on one data dir corrupt it."
        ) from None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")  # until the JVM's pid replaces it
    lock.flush()
    return lock


def wait_until_ready(
    bootstrap: str,
    timeout: float,
    *,
    process: subprocess.Popen | None = None,
    log_file: Path | None = None,
    brokers: int = 1,
) -> None:
    """Block until the Kafka at ``bootstrap`` answers a metadata request listing ``brokers``
    live brokers (or more).

    Raises :class:`BrokerNotReady` after ``timeout`` seconds, or as soon as ``process``
    (the broker's, if we started it) has exited; the message names the log to read.
    """
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    deadline = time.monotonic() + timeout
    addresses = [_host_port(part) for part in bootstrap.split(",") if part.strip()]
    hint = f" See {log_file}." if log_file else " Check VIGIL_KAFKA_BROKERS, or start one with `vigil kafka`."
    last_problem = "no answer yet"
    admin: AdminClient | None = None
    while True:
        if process is not None and process.poll() is not None:
            raise BrokerNotReady(
                f"the Kafka broker exited with code {process.returncode} before it was ready.{hint}"
            )
        if time.monotonic() >= deadline:
            raise BrokerNotReady(
                f"Kafka at {bootstrap} was not ready within {timeout:.0f}s ({last_problem}).{hint}"
            )
        # a cheap TCP probe first, so the admin client never logs refused connections
        if not any(_accepts(host, port) for host, port in addresses):
            last_problem = "nothing accepts connections yet"
            time.sleep(0.1)
            continue
        if admin is None:
            admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 2})
        try:
            metadata = admin.list_topics(timeout=max(min(deadline - time.monotonic(), 5.0), 0.5))
        except KafkaException as exc:
            last_problem = exc.args[0].str()
            time.sleep(0.1)
            continue
        if len(metadata.brokers) >= brokers:
            return
        last_problem = f"metadata lists {len(metadata.brokers)} of {brokers} broker(s) yet"
        time.sleep(0.1)


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"bootstrap address {address!r} is not host:port (e.g. 127.0.0.1:9092)")
    return host.strip("[]"), int(port)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM (Kafka's clean shutdown), SIGKILL if that takes longer than ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def last_log_lines(data_dir: Path, count: int = 20) -> str:
    """The end of the broker's server.log, for error messages."""
    log = data_dir / "logs" / "server.log"
    if not log.is_file():
        return f"(no {log} yet)"
    with log.open(errors="replace") as handle:
        return "".join(deque(handle, maxlen=count)).rstrip()


# ── vigil kafka ───────────────────────────────────────────────────────────────────────


def serve(args: argparse.Namespace) -> int:
    """Run the broker in the foreground until SIGTERM/SIGINT; create Vigil's topics."""
    s = settings_module.load()
    console = Console(highlight=False, soft_wrap=True)
    data_dir = (s.data_dir / "kafka").resolve()
    bootstrap = f"127.0.0.1:{s.kafka_port}"
    process: subprocess.Popen | None = None
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if process is None:  # still fetching jars or formatting: just stop
            raise KeyboardInterrupt
        if stopping:
            console.print("Second signal: killing the Kafka broker now.")
            process.kill()
            return
        stopping = True
        console.print(f"Stopping Kafka ({signal.Signals(signum).name}); it flushes and closes its logs…")
        process.terminate()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        ensure_jars(s, console)
        started = time.monotonic()
        first_run = not (data_dir / "data" / "meta.properties").is_file()
        console.print(
            f"Starting Apache Kafka {kafka_version()} (KRaft, single node) on {bootstrap}; "
            f"data in {data_dir}" + (" (new, formatting)" if first_run else "")
        )
        process = start_broker(data_dir, s.kafka_port, s.kafka_controller_port, s)
        wait_until_ready(bootstrap, READY_TIMEOUT_S, process=process, log_file=data_dir / "logs" / "server.log")
        topics = vigil_topics(s)
        created = ensure_topics(bootstrap, topics)
    except (BrokerNotReady, RuntimeError) as exc:
        if stopping and process is not None:
            process.wait()
            console.print("Kafka stopped before it was ready.")
            return 0
        if process is not None:
            _stop(process)
        console.print(f"[red]vigil kafka: {exc}[/]")
        if process is not None:
            console.print(f"Last lines of {data_dir / 'logs' / 'server.log'}:\n{last_log_lines(data_dir)}",
                          markup=False)
        return 1

    listed = ", ".join(f"{name} ({partitions}p{', new' if created[name] == 'created' else ''})"
                       for name, partitions in topics.items())
    console.print(
        f"[green]Kafka ready[/] on {bootstrap} in {time.monotonic() - started:.1f}s · topics: {listed}"
    )
    if bootstrap not in s.kafka_brokers.split(","):
        console.print(
            f"[yellow]Note:[/] VIGIL_KAFKA_BROKERS is {redacted(s.kafka_brokers)!r}; other Vigil processes reach "
            f"this broker only with VIGIL_KAFKA_BROKERS={bootstrap}."
        )
    sys.stdout.flush()

    returncode = process.wait()
    if stopping:
        console.print("Kafka stopped.")
        return 0
    console.print(
        f"[red]Kafka exited on its own with code {returncode}.[/] Last lines of "
        f"{data_dir / 'logs' / 'server.log'}:"
    )
    console.print(last_log_lines(data_dir), markup=False)
    return returncode or 1
