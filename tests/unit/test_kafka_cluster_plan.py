"""``vigil kafka --nodes 3``'s plan: node ids, one quorum, one cluster id, ports, replication."""

from __future__ import annotations

import pytest

from pipeline import settings as settings_module
from pipeline.embedded.kafka_broker import broker_properties
from pipeline.embedded.kafka_cluster import cluster_ports, plan_cluster


def properties_of(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_three_nodes_share_one_quorum_and_cluster_id_and_replicate_everything_three_times(tmp_path):
    settings = settings_module.load()
    nodes = plan_cluster(tmp_path, cluster_ports(settings, 3))
    assert [node.role.node_id for node in nodes] == [1, 2, 3]
    assert len({node.role.cluster_id for node in nodes}) == 1
    assert (tmp_path / "cluster.id").read_text().strip() == nodes[0].role.cluster_id
    assert [node.data_dir.name for node in nodes] == ["node-1", "node-2", "node-3"]

    configs = [properties_of(broker_properties(node.data_dir, node.port, node.controller_port, settings, node.role))
               for node in nodes]
    base, controller = settings.kafka_port, settings.kafka_controller_port
    voters = f"1@127.0.0.1:{controller},2@127.0.0.1:{controller + 2},3@127.0.0.1:{controller + 4}"
    for number, config in enumerate(configs, 1):
        assert config["node.id"] == str(number)
        assert config["controller.quorum.voters"] == voters
        assert config["listeners"] == (f"PLAINTEXT://127.0.0.1:{base + 2 * (number - 1)},"
                                       f"CONTROLLER://127.0.0.1:{controller + 2 * (number - 1)}")
        assert config["log.dirs"].endswith(f"node-{number}/data")
        for name in ("default.replication.factor", "offsets.topic.replication.factor",
                     "transaction.state.log.replication.factor", "share.coordinator.state.topic.replication.factor"):
            assert config[name] == "3", name
        for name in ("min.insync.replicas", "transaction.state.log.min.isr", "share.coordinator.state.topic.min.isr"):
            assert config[name] == "2", name


def test_the_single_broker_keeps_its_one_node_config(tmp_path):
    config = properties_of(broker_properties(tmp_path, 9092, 9093, settings_module.load()))
    assert config["node.id"] == "1" and config["controller.quorum.voters"] == "1@127.0.0.1:9093"
    assert config["default.replication.factor"] == config["min.insync.replicas"] == "1"


def test_ports_that_collide_are_refused_with_what_to_change(tmp_path):
    with pytest.raises(ValueError, match="VIGIL_KAFKA_CONTROLLER_PORT"):
        plan_cluster(tmp_path, [(9092, 9094), (9094, 9096)])
