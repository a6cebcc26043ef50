"""``vigil kafka --nodes 3``: a KRaft cluster of combined broker+controller nodes on loopback.

The same upstream jars and start-up as the single broker (:mod:`pipeline.embedded.kafka_broker`),
each node with its :class:`~pipeline.embedded.kafka_broker.Role`: a node id, the static
controller quorum of all nodes, one cluster id, and replication factor ``min(nodes, 3)`` with
``min.insync.replicas`` one less — for every topic Vigil creates and for Kafka's internal ones
(consumer offsets, transactions). Three nodes lose one and go on: two controllers are still a
majority of the quorum, two replicas still satisfy ``acks=all``.

Node ``n`` (1-based) listens on ``VIGIL_KAFKA_PORT + 2(n-1)`` and its controller on
``VIGIL_KAFKA_CONTROLLER_PORT + 2(n-1)`` (defaults: 9092/9093, 9094/9095, 9096/9097), all on
127.0.0.1, and keeps its state in ``<VIGIL_DATA_DIR>/kafka-cluster/node-<n>/`` (the shared
cluster id in ``kafka-cluster/cluster.id``), apart from the single broker's ``kafka/``.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from rich.console import Console

from pipeline import settings as settings_module
from pipeline.broker.topics import ensure_topics, vigil_topics
from pipeline.embedded import kafka_broker
from pipeline.embedded.kafka_broker import BrokerNotReady, Role
from pipeline.settings import Settings, redacted

MAX_REPLICATION = 3
# a node's ports are the first node's plus this step times its index
PORT_STEP = 2


@dataclass(frozen=True)
class ClusterNode:
    """One node of the cluster: where it listens, where it keeps its state, its role."""

    port: int
    controller_port: int
    data_dir: Path
    role: Role

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "logs" / "server.log"


def plan_cluster(cluster_dir: Path, ports: Sequence[tuple[int, int]]) -> list[ClusterNode]:
    """The nodes of a cluster with one ``(port, controller port)`` pair each, node ids 1…N,
    state under ``cluster_dir`` (its cluster id made once in ``cluster_dir/cluster.id``)."""
    if not ports:
        raise ValueError("a cluster needs at least one node")
    every_port = [port for pair in ports for port in pair]
    if len(set(every_port)) != len(every_port):
        raise ValueError(f"the cluster's ports must all differ, got {list(ports)}; "
                         "choose VIGIL_KAFKA_PORT and VIGIL_KAFKA_CONTROLLER_PORT further apart")
    cluster_dir = cluster_dir.resolve()
    cluster_dir.mkdir(parents=True, exist_ok=True)
    cluster = kafka_broker.cluster_id(cluster_dir)
    voters = ",".join(f"{node_id}@127.0.0.1:{controller}" for node_id, (_, controller) in enumerate(ports, 1))
    replication = min(len(ports), MAX_REPLICATION)
    return [ClusterNode(port, controller, cluster_dir / f"node-{node_id}",
                        Role(node_id=node_id, voters=voters, replication=replication, cluster_id=cluster))
            for node_id, (port, controller) in enumerate(ports, 1)]


def cluster_ports(settings: Settings, nodes: int) -> list[tuple[int, int]]:
    """``nodes`` port pairs from ``VIGIL_KAFKA_PORT`` / ``VIGIL_KAFKA_CONTROLLER_PORT`` upwards."""
    return [(settings.kafka_port + PORT_STEP * index, settings.kafka_controller_port + PORT_STEP * index)
            for index in range(nodes)]


def bootstrap_of(nodes: Sequence[ClusterNode]) -> str:
    """Every node's address, for ``bootstrap.servers`` / ``VIGIL_KAFKA_BROKERS``."""
    return ",".join(node.bootstrap for node in nodes)


def start_node(
    node: ClusterNode,
    settings: Settings,
    *,
    stdout: IO[str] | int | None = None,
    jvm_options: Sequence[str] = (),
) -> subprocess.Popen[bytes]:
    """Start one node and return at once (:func:`kafka_broker.start_broker` with its role)."""
    node.data_dir.mkdir(parents=True, exist_ok=True)
    return kafka_broker.start_broker(node.data_dir, node.port, node.controller_port, settings,
                                     stdout=stdout, jvm_options=jvm_options, role=node.role)


def wait_for_cluster(nodes: Sequence[ClusterNode], processes: Sequence[subprocess.Popen], timeout: float) -> None:
    """Block until every node answers and its metadata lists every node; :class:`BrokerNotReady`
    naming the node's log otherwise."""
    deadline = time.monotonic() + timeout
    for node, process in zip(nodes, processes, strict=True):
        kafka_broker.wait_until_ready(node.bootstrap, max(deadline - time.monotonic(), 1.0), process=process,
                                      log_file=node.log_file, brokers=len(nodes))


# ── vigil kafka --nodes N ──────────────────────────────────────────────────────────────


def serve_cluster(nodes_wanted: int) -> int:
    """Run a ``nodes_wanted``-node cluster in the foreground until SIGTERM/SIGINT; create
    Vigil's topics. A node that ends on its own is reported; the others go on."""
    s = settings_module.load()
    console = Console(highlight=False, soft_wrap=True)
    try:
        nodes = plan_cluster(s.data_dir / "kafka-cluster", cluster_ports(s, nodes_wanted))
    except ValueError as exc:
        console.print(f"[red]vigil kafka: {exc}[/]")
        return 1
    bootstrap = bootstrap_of(nodes)
    processes: list[subprocess.Popen] = []
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not processes:
            raise KeyboardInterrupt
        if stopping:
            console.print("Second signal: killing the Kafka nodes now.")
            for process in processes:
                process.kill()
            return
        stopping = True
        console.print(f"Stopping the Kafka cluster ({signal.Signals(signum).name}); its nodes flush and close their logs…")
        for process in processes:
            process.terminate()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        kafka_broker.ensure_jars(s, console)
        started = time.monotonic()
        replication = nodes[0].role.replication
        console.print(
            f"Starting an Apache Kafka {kafka_broker.kafka_version()} cluster of {len(nodes)} KRaft nodes on {bootstrap} "
            f"(replication factor {replication}, min.insync.replicas {nodes[0].role.min_insync}); "
            f"data in {nodes[0].data_dir.parent}")
        for node in nodes:
            processes.append(start_node(node, s))
        wait_for_cluster(nodes, processes, kafka_broker.READY_TIMEOUT_S)
        topics = vigil_topics(s)
        created = ensure_topics(bootstrap, topics)
    except (BrokerNotReady, RuntimeError) as exc:
        if stopping:
            for process in processes:
                process.wait()
            console.print("Kafka stopped before it was ready.")
            return 0
        stop_all(processes)
        console.print(f"[red]vigil kafka: {exc}[/]")
        return 1
    listed = ", ".join(f"{name} ({partitions}p ×{replication}{', new' if created[name] == 'created' else ''})"
                       for name, partitions in topics.items())
    console.print(f"[green]Kafka cluster ready[/] on {bootstrap} in {time.monotonic() - started:.1f}s · topics: {listed}")
    if s.kafka_brokers != bootstrap:
        console.print(f"[yellow]Note:[/] VIGIL_KAFKA_BROKERS is {redacted(s.kafka_brokers)!r}; other Vigil processes "
                      f"reach this cluster with VIGIL_KAFKA_BROKERS={bootstrap}.")
    sys.stdout.flush()
    return _watch(nodes, processes, console, lambda: stopping)


def _watch(nodes: Sequence[ClusterNode], processes: Sequence[subprocess.Popen], console: Console,
           stopping: Callable[[], bool]) -> int:
    """Wait until every node has ended, reporting those that end on their own."""
    reported: set[int] = set()
    while True:
        for node, process in zip(nodes, processes, strict=True):
            if process.poll() is not None and node.role.node_id not in reported and not stopping():
                reported.add(node.role.node_id)
                alive = sum(other.poll() is None for other in processes)
                console.print(f"[red]Kafka node {node.role.node_id} ({node.bootstrap}) exited on its own with code "
                              f"{process.returncode}[/]; {alive} of {len(nodes)} still run. Last lines of "
                              f"{node.log_file}:")
                console.print(kafka_broker.last_log_lines(node.data_dir), markup=False)
        if all(process.poll() is not None for process in processes):
            break
        time.sleep(0.5)
    if stopping():
        console.print("Kafka cluster stopped.")
        return 0
    return 1


def stop_all(processes: Sequence[subprocess.Popen], timeout: float = 30.0) -> None:
    """SIGTERM every node at once (Kafka's clean shutdown), SIGKILL those still running after
    ``timeout`` seconds."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
