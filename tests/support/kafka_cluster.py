"""A real three-node Apache Kafka cluster (KRaft) for tests, on free loopback ports.

Built from the same pieces as ``vigil kafka --nodes 3`` (``pipeline/embedded/kafka_cluster.py``):
replication factor 3, ``min.insync.replicas=2``, internal topics replicated three times too.

    with KafkaCluster(tmp_path / "cluster") as cluster:   # all nodes up, Vigil's topics created
        leader = cluster.leader_of("vigil.events", 0)     # the node id leading partition 0
        cluster.kill(leader)                              # SIGKILL: a crash
        cluster.start_node(leader)                        # back on its ports, with its data
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from confluent_kafka.admin import AdminClient

from pipeline import settings as settings_module
from pipeline.broker.topics import ensure_topics, vigil_topics
from pipeline.embedded import kafka_broker, kafka_cluster
from pipeline.settings import Settings
from tests.support.kafka import free_ports


class KafkaCluster:
    """``nodes`` combined broker+controller KRaft nodes; ``start()`` them (or use it as a context manager).

    ``data_dir`` defaults to a temporary directory, removed by ``close()``. Each node's JVM
    console goes to ``node-<n>/broker.out``, its log to ``node-<n>/logs/server.log``.
    """

    def __init__(self, data_dir: Path | None = None, *, nodes: int = 3, settings: Settings | None = None,
                 topics: dict[str, int] | None = None, ready_timeout: float = 120.0) -> None:
        self.settings = settings or settings_module.load()
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="vigil-kcluster-"))
        ports = free_ports(2 * nodes)
        self.nodes = {node.role.node_id: node
                      for node in kafka_cluster.plan_cluster(self.data_dir, list(zip(ports[::2], ports[1::2])))}
        self.processes: dict[int, subprocess.Popen | None] = dict.fromkeys(self.nodes)
        self.topics = vigil_topics(self.settings) if topics is None else dict(topics)
        self.ready_timeout = ready_timeout
        self.startup_seconds: float | None = None
        self._admin: AdminClient | None = None

    @property
    def bootstrap(self) -> str:
        """Every node's ``host:port``, for ``bootstrap.servers`` / ``VIGIL_KAFKA_BROKERS``."""
        return kafka_cluster.bootstrap_of(list(self.nodes.values()))

    def running(self, node_id: int) -> bool:
        process = self.processes[node_id]
        return process is not None and process.poll() is None

    def _start_process(self, node_id: int) -> subprocess.Popen:
        node = self.nodes[node_id]
        node.data_dir.mkdir(parents=True, exist_ok=True)
        with open(node.data_dir / "broker.out", "a") as console_log:
            process = kafka_cluster.start_node(node, self.settings, stdout=console_log,
                                               jvm_options=kafka_broker.QUICK_START_JVM_OPTS)
        self.processes[node_id] = process
        return process

    def start(self) -> KafkaCluster:
        """Start every node; return once each answers with all nodes listed and the topics exist."""
        started = time.monotonic()
        try:
            for node_id in self.nodes:
                self._start_process(node_id)
            kafka_cluster.wait_for_cluster(list(self.nodes.values()), list(self.processes.values()), self.ready_timeout)
            if self.topics:
                ensure_topics(self.bootstrap, self.topics)
        except BaseException:
            self.close_processes()
            raise
        self.startup_seconds = time.monotonic() - started
        return self

    def kill(self, node_id: int) -> None:
        """SIGKILL one node: no flush, no controlled shutdown, no leadership handed over."""
        process = self.processes[node_id]
        assert process is not None and process.poll() is None, f"node {node_id} is not running"
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        self.processes[node_id] = None

    def start_node(self, node_id: int) -> float:
        """Start a stopped node again (same ports, same data); return the seconds until it answers
        with every node listed."""
        started = time.monotonic()
        node = self.nodes[node_id]
        process = self._start_process(node_id)
        kafka_broker.wait_until_ready(node.bootstrap, self.ready_timeout, process=process, log_file=node.log_file,
                                      brokers=len(self.nodes))
        return time.monotonic() - started

    def admin(self) -> AdminClient:
        """One admin client for the cluster's life: a request's future never completes once its
        client is garbage-collected, so callers must not make throw-away ones."""
        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 2})
        return self._admin

    def replicas(self, topic: str) -> dict[int, tuple[int, list[int]]]:
        """partition → (leader node id, in-sync replica node ids), as the cluster's metadata says now."""
        metadata = self.admin().list_topics(topic, timeout=10)
        partitions = metadata.topics[topic].partitions
        return {number: (partition.leader, sorted(partition.isrs)) for number, partition in partitions.items()}

    def leader_of(self, topic: str, partition: int) -> int:
        return self.replicas(topic)[partition][0]

    def wait_for_full_isr(self, topic: str, timeout: float = 90.0) -> float:
        """Block until every partition of ``topic`` has all nodes in sync again; return the seconds it took."""
        started = time.monotonic()
        while True:
            replicas = self.replicas(topic)
            if all(len(isr) == len(self.nodes) for _, isr in replicas.values()):
                return time.monotonic() - started
            assert time.monotonic() - started < timeout, f"{topic}'s replicas not all in sync after {timeout:.0f}s: {replicas}"
            time.sleep(0.5)

    def close_processes(self) -> None:
        kafka_cluster.stop_all([process for process in self.processes.values() if process is not None])
        self.processes = dict.fromkeys(self.nodes)

    def close(self) -> None:
        """Stop every node, and remove the data dir if this object made it."""
        self.close_processes()
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def log_tail(self, node_id: int, lines: int = 40) -> str:
        return kafka_broker.last_log_lines(self.nodes[node_id].data_dir, lines)

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
