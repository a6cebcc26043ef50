"""docker-compose.cluster.yml and deploy/clickhouse/cluster/ describe ClickHouse as 2 shards × 2 replicas
with 3 ClickHouse Keepers, and agree with the code that renders the schema for it.

No Docker daemon (nor the compose plugin) is here, so, like tests/unit/test_compose.py for the main
file, the files are checked for structure: the servers and keepers, the cluster each server knows
(remote_servers), its macros, where it finds Keeper, Keeper's own quorum, the users and grants,
and Vigil's services pointed at the cluster.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import yaml

from pipeline.settings import REPO_ROOT
from pipeline.warehouse import access
from pipeline.warehouse.cluster_schema import REPLICA, ZOOKEEPER_PATH

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.cluster.yml").read_text())
SERVICES = COMPOSE["services"]
MAIN = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())["services"]
CONFIG = REPO_ROOT / "deploy" / "clickhouse" / "cluster"
SERVERS = sorted(name for name in SERVICES if name.startswith("clickhouse-"))
KEEPERS = sorted(name for name in SERVICES if name.startswith("keeper-"))
VIGIL_SERVICES = {"migrate", "processor", "signals", "collector", "dashboard", "alerts"}
SETTINGS_VARIABLES = set(re.findall(r'"(VIGIL_[A-Z_]+)"', (REPO_ROOT / "pipeline" / "settings.py").read_text()))


def xml(name: str) -> ElementTree.Element:
    return ElementTree.parse(CONFIG / name).getroot()


def env(service: str) -> dict:
    return SERVICES[service]["environment"]


def mounts(service: str) -> dict[str, str]:
    """container path → host path of the service's bind mounts (read-only ones only)."""
    out = {}
    for volume in SERVICES[service]["volumes"]:
        host, container, *mode = volume.split(":")
        if host.startswith("./"):
            assert mode == ["ro"], volume
            out[container] = host
    return out


def test_two_shards_of_two_replicas_three_keepers_kafka_and_vigils_services():
    assert SERVERS == ["clickhouse-s1r1", "clickhouse-s1r2", "clickhouse-s2r1", "clickhouse-s2r2"]
    assert KEEPERS == ["keeper-1", "keeper-2", "keeper-3"]
    assert set(SERVICES) == set(SERVERS) | set(KEEPERS) | {"kafka"} | VIGIL_SERVICES
    for service in SERVICES:
        if service != "migrate":
            assert SERVICES[service]["restart"] == "unless-stopped", service
            assert SERVICES[service]["healthcheck"]["test"], service


def test_the_images_are_the_versions_the_main_deployment_runs():
    server_image = MAIN["clickhouse"]["image"]
    assert {SERVICES[name]["image"] for name in SERVERS} == {server_image}
    assert {SERVICES[name]["image"] for name in KEEPERS} == {server_image.replace("server", "keeper")}
    assert SERVICES["kafka"]["image"] == MAIN["kafka"]["image"]
    for service in VIGIL_SERVICES:
        assert SERVICES[service]["build"] == "." and SERVICES[service]["image"] == MAIN[service]["image"]
        assert SERVICES[service]["command"] == MAIN[service]["command"]


def test_remote_servers_lists_every_server_under_its_shard_with_replication_left_to_the_tables():
    clusters = xml("cluster.xml").find("remote_servers")
    assert clusters.get("replace") == "true"  # the image's example clusters are not Vigil's
    (cluster,) = list(clusters)
    assert cluster.tag == env("migrate")["VIGIL_CLICKHOUSE_CLUSTER"]
    shards = cluster.findall("shard")
    assert len(shards) == 2
    for number, shard in enumerate(shards, start=1):
        assert shard.findtext("internal_replication") == "true"
        hosts = [(replica.findtext("host"), replica.findtext("port")) for replica in shard.findall("replica")]
        assert len(hosts) == 2
        for host, port in hosts:
            assert port == "9000" and SERVICES[host]["hostname"] == host
            assert str(env(host)["CH_SHARD"]) == str(number)  # the macro agrees with remote_servers


def test_each_server_has_its_own_macros_and_the_rendering_uses_them():
    macros = xml("macros.xml").find("macros")
    assert macros.find("shard").get("from_env") == "CH_SHARD"
    assert macros.find("replica").get("from_env") == "CH_REPLICA"
    assert macros.findtext("cluster") == env("migrate")["VIGIL_CLICKHOUSE_CLUSTER"]
    assert len({env(server)["CH_REPLICA"] for server in SERVERS}) == 4
    assert {env(server)["CH_REPLICA"] for server in SERVERS} == set(SERVERS)
    assert "{shard}" in ZOOKEEPER_PATH and "{database}" in ZOOKEEPER_PATH and "{table}" in ZOOKEEPER_PATH
    assert REPLICA == "{replica}"


def test_keeper_is_a_quorum_of_three_and_every_server_knows_all_of_them():
    keeper = xml("keeper.xml").find("keeper_server")
    assert keeper.find("server_id").get("from_env") == "KEEPER_SERVER_ID"
    raft = {(s.findtext("id"), s.findtext("hostname")) for s in keeper.findall("raft_configuration/server")}
    assert raft == {(str(env(name)["KEEPER_SERVER_ID"]), SERVICES[name]["hostname"]) for name in KEEPERS}
    nodes = {(n.findtext("host"), n.findtext("port")) for n in xml("zookeeper.xml").findall("zookeeper/node")}
    assert nodes == {(name, keeper.findtext("tcp_port")) for name in KEEPERS}
    for name in KEEPERS:
        assert mounts(name) == {"/etc/clickhouse-keeper/keeper_config.xml": "./deploy/clickhouse/cluster/keeper.xml"}
        assert SERVICES[name]["volumes"][0] == f"{name}-data:/var/lib/clickhouse-keeper"


def test_every_server_mounts_the_cluster_configuration_and_waits_for_the_keepers():
    expected = {
        "/etc/clickhouse-server/users.d/vigil.xml": "./deploy/clickhouse/cluster/users.xml",
        "/etc/clickhouse-server/config.d/cluster.xml": "./deploy/clickhouse/cluster/cluster.xml",
        "/etc/clickhouse-server/config.d/macros.xml": "./deploy/clickhouse/cluster/macros.xml",
        "/etc/clickhouse-server/config.d/zookeeper.xml": "./deploy/clickhouse/cluster/zookeeper.xml",
    }
    for server in SERVERS:
        assert mounts(server) == expected, server
        assert SERVICES[server]["volumes"][0] == f"{server}-data:/var/lib/clickhouse"
        assert {name: spec["condition"] for name, spec in SERVICES[server]["depends_on"].items()} == \
            {name: "service_healthy" for name in KEEPERS}
        assert env(server)["CLICKHOUSE_SKIP_USER_SETUP"] == 1
    for path in expected.values():
        assert (REPO_ROOT / path).is_file()
    assert set(COMPOSE["volumes"]) == {f"{name}-data" for name in SERVERS + KEEPERS} | {"kafka-data"}


@pytest.mark.parametrize("variable", ["VIGIL_CLICKHOUSE_CLUSTER_SECRET", "VIGIL_CLICKHOUSE_INTERSERVER_PASSWORD"])
def test_the_servers_shared_secrets_come_from_the_environment_and_are_required(variable):
    for server in SERVERS:
        assert re.fullmatch(r"\$\{" + variable + r":\?[^}]+\}", env(server)[variable]), env(server)[variable]
    used = {element.get("from_env") for element in xml("cluster.xml").iter() if element.get("from_env")}
    assert variable in used
    secret = xml("cluster.xml").find("remote_servers/vigil/secret")
    assert secret.get("from_env") == "VIGIL_CLICKHOUSE_CLUSTER_SECRET" and not (secret.text or "").strip()


USERS = xml("users.xml")
MAIN_USERS = ElementTree.parse(REPO_ROOT / "deploy" / "clickhouse" / "users.xml").getroot()


def test_the_cluster_users_are_the_main_deployments_with_the_cluster_grants():
    assert ElementTree.tostring(USERS.find("users")) == ElementTree.tostring(MAIN_USERS.find("users"))
    roles = {role.tag: [q.text for q in role.findall("grants/query")] for role in USERS.find("roles")}
    assert roles == access.role_grants("vigil", "vigil_local")
    assert roles[access.WRITER_ROLE][0].endswith(", CLUSTER ON *.*")  # ON CLUSTER DDL, and only the writer
    assert not any("CLUSTER" in grant for grant in roles[access.READER_ROLE])
    assert USERS.findtext("profiles/default/distributed_foreground_insert") == "1"


def test_vigils_services_use_the_cluster_through_one_server_as_their_users():
    for service in VIGIL_SERVICES:
        variables = env(service)
        assert set(variables) <= SETTINGS_VARIABLES, set(variables) - SETTINGS_VARIABLES
        assert variables["VIGIL_CLICKHOUSE_CLUSTER"] == "vigil"
        assert variables["VIGIL_CLICKHOUSE_DATABASE"] == "vigil"
        url = urlsplit(variables["VIGIL_CLICKHOUSE_URL"])
        assert url.hostname in SERVERS and url.port == 8123
        assert url.username == (access.READER if service in ("dashboard", "alerts") else access.WRITER)
        main_url = urlsplit(MAIN[service]["environment"]["VIGIL_CLICKHOUSE_URL"])
        assert url.password == main_url.password  # the same ${…} substitution as the main file
    assert {name: spec["condition"] for name, spec in SERVICES["migrate"]["depends_on"].items()} == \
        {name: "service_healthy" for name in SERVERS}
    for service in SERVICES:
        for needed, spec in SERVICES[service].get("depends_on", {}).items():
            assert needed in SERVICES
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[needed]


def test_only_one_server_is_published_and_on_loopback():
    published = {name: SERVICES[name].get("ports", []) for name in SERVICES if SERVICES[name].get("ports")}
    assert published == {"clickhouse-s1r1": ["127.0.0.1:8123:8123"], "collector": ["${VIGIL_COLLECTOR_PUBLISH:-8080}:8080"],
                         "dashboard": ["${VIGIL_DASHBOARD_PUBLISH:-127.0.0.1:8501}:8501"]}
