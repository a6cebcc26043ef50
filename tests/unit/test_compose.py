"""docker-compose.yml and the Dockerfile describe the production-shaped topology correctly.

There is no Docker daemon here, so the files are checked for structure: the services and
their images, the commands each runs, ports, environment, healthchecks, start order and
volumes — and that they agree with the code (settings, CLI, Kafka version, file layout).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import yaml

from pipeline.commands import cli
from pipeline.settings import REPO_ROOT
from pipeline.warehouse import access

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()
VIGIL_SERVICES = {"migrate": "migrate", "processor": "process", "collector": "collect", "dashboard": "dashboard",
                  "alerts": "alerts", "signals": "signals"}
LONG_RUNNING = {"kafka", "clickhouse", "processor", "collector", "dashboard", "alerts", "signals"}
SETTINGS_VARIABLES = set(re.findall(r'"(VIGIL_[A-Z_]+)"', (REPO_ROOT / "pipeline" / "settings.py").read_text()))


def depends_on(service: str) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in SERVICES[service].get("depends_on", {}).items()}


def published(service: str) -> dict[int, str]:
    """container port → the host side of its mapping."""
    out = {}
    for mapping in SERVICES[service].get("ports", []):
        host, container = str(mapping).rsplit(":", 1)
        out[int(container)] = host
    return out


def test_the_topology_is_kafka_clickhouse_and_the_vigil_processes():
    assert set(SERVICES) == LONG_RUNNING | {"migrate"}


def test_kafka_is_the_official_image_at_the_version_the_embedded_broker_runs():
    pom_version = re.search(r"<kafka.version>([^<]+)</kafka.version>",
                            (REPO_ROOT / "pipeline" / "embedded" / "pom.xml").read_text()).group(1)
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{pom_version}"


def test_kafka_runs_kraft_on_one_node_and_advertises_the_address_vigil_uses():
    env = SERVICES["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_ADVERTISED_LISTENERS"] == "PLAINTEXT://kafka:9092"
    assert len(env["CLUSTER_ID"]) == 22  # a base64url UUID, as `kafka-storage format` requires
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    for name, value in env.items():
        if name.endswith("REPLICATION_FACTOR") or name.endswith("MIN_ISR"):
            assert value == 1, name
    for service in VIGIL_SERVICES:
        assert SERVICES[service]["environment"]["VIGIL_KAFKA_BROKERS"] == "kafka:9092"


READER_SERVICES = {"dashboard", "alerts"}  # sign in as vigil_reader
USERS_FILE = REPO_ROOT / "deploy" / "clickhouse" / "users.xml"
USERS = ElementTree.parse(USERS_FILE).getroot()


def test_clickhouse_is_the_official_server_image_with_vigils_users_mounted():
    clickhouse = SERVICES["clickhouse"]
    assert clickhouse["image"].startswith("clickhouse/clickhouse-server:")
    env = clickhouse["environment"]
    assert env["CLICKHOUSE_SKIP_USER_SETUP"] == 1  # no user made by the image's entrypoint
    assert not {"CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_DB"} & set(env)
    assert "./deploy/clickhouse/users.xml:/etc/clickhouse-server/users.d/vigil.xml:ro" in clickhouse["volumes"]
    passwords = {access.WRITER: env["VIGIL_CLICKHOUSE_PASSWORD"], access.READER: env["VIGIL_CLICKHOUSE_READER_PASSWORD"]}
    for service in VIGIL_SERVICES:
        url = urlsplit(SERVICES[service]["environment"]["VIGIL_CLICKHOUSE_URL"])
        user = access.READER if service in READER_SERVICES else access.WRITER
        assert (url.hostname, url.port, url.username) == ("clickhouse", 8123, user), service
        assert url.password == passwords[user]  # the very same substitution
        assert SERVICES[service]["environment"]["VIGIL_CLICKHOUSE_DATABASE"] == "vigil"


def test_no_secret_is_written_in_the_file():
    env = SERVICES["clickhouse"]["environment"]
    for variable in ("VIGIL_CLICKHOUSE_PASSWORD", "VIGIL_CLICKHOUSE_READER_PASSWORD"):
        assert re.fullmatch(r"\$\{" + variable + r"(:-[^}]*)?\}", env[variable]), env[variable]


def _user(name: str) -> ElementTree.Element:
    user = USERS.find(f"users/{name}")
    assert user is not None, f"{USERS_FILE} has no user {name}"
    return user


def test_the_users_file_removes_default_and_takes_passwords_from_the_environment():
    assert USERS.find("users/default").get("remove") == "remove"
    assert set(child.tag for child in USERS.find("users")) == {"default", access.WRITER, access.READER}
    assert _user(access.WRITER).find("password").get("from_env") == "VIGIL_CLICKHOUSE_PASSWORD"
    assert _user(access.READER).find("password").get("from_env") == "VIGIL_CLICKHOUSE_READER_PASSWORD"
    for name in (access.WRITER, access.READER):
        assert not (_user(name).find("password").text or "").strip()  # no password written here
        assert _user(name).find("access_management") is None


def test_each_user_holds_only_its_role_and_the_roles_grant_what_the_embedded_server_grants():
    assert [q.text for q in _user(access.WRITER).findall("grants/query")] == [f"GRANT {access.WRITER_ROLE}"]
    assert [q.text for q in _user(access.READER).findall("grants/query")] == [f"GRANT {access.READER_ROLE}"]
    roles = {role.tag: [q.text for q in role.findall("grants/query")] for role in USERS.find("roles")}
    assert roles == access.role_grants("vigil")


def test_the_reader_is_read_only_but_for_its_own_state_tables():
    grants = " ".join(q.text for q in USERS.findall(f"roles/{access.READER_ROLE}/grants/query"))
    privileges = re.findall(r"GRANT (.+?) ON (\S+)", grants)
    assert ("SELECT, SHOW", "*.*") in privileges
    written = {target for privilege, target in privileges if privilege != "SELECT, SHOW"}
    assert {privilege for privilege, _ in privileges} == {"SELECT, SHOW", "INSERT"}
    assert written == {f"`vigil`.{table}" for table in access.READER_STATE_TABLES}
    assert "events" not in " ".join(written) and "projects" not in " ".join(written)


@pytest.mark.parametrize("grant", [q.text for q in USERS.iter("query")])
def test_no_grant_reaches_outside_the_database(grant):
    privileges = {p.strip() for p in re.match(r"GRANT (.+?)(?: ON \S+)?$", grant).group(1).split(",")}
    outside = {"ALL", "SOURCES", "FILE", "URL", "REMOTE", "MONGO", "REDIS", "MYSQL", "POSTGRES", "SQLITE", "ODBC", "JDBC",
               "HDFS", "S3", "HIVE", "AZURE", "KAFKA", "NATS", "RABBITMQ", "READ", "WRITE", "SYSTEM", "CREATE DICTIONARY",
               "CREATE FUNCTION", "CREATE NAMED COLLECTION", "ACCESS MANAGEMENT", "CREATE USER", "ROLE ADMIN",
               "TABLE ENGINE", "BACKUP", "INTROSPECTION", "dictGet", "CLUSTER", "IMPERSONATE"}
    assert not privileges & outside, grant
    assert "WITH GRANT OPTION" not in grant


@pytest.mark.parametrize(("service", "command"), VIGIL_SERVICES.items())
def test_vigil_services_run_a_vigil_command_from_the_one_image(service, command):
    spec = SERVICES[service]
    assert spec["build"] == "."
    assert spec["image"] == SERVICES["collector"]["image"]
    assert spec["command"] == [command]
    assert command in cli.COMMANDS


@pytest.mark.parametrize("service", VIGIL_SERVICES)
def test_every_vigil_variable_set_is_a_real_setting(service):
    unknown = {name for name in SERVICES[service]["environment"] if name not in SETTINGS_VARIABLES}
    assert not unknown, f"{service} sets {unknown}, which pipeline/settings.py does not read"


@pytest.mark.parametrize("service", sorted(LONG_RUNNING))
def test_every_long_running_service_has_a_healthcheck_and_restarts(service):
    spec = SERVICES[service]
    assert spec["healthcheck"]["test"], service
    assert spec["restart"] == "unless-stopped"


def test_healthchecks_probe_the_port_each_service_listens_on():
    collector, dashboard = SERVICES["collector"], SERVICES["dashboard"]
    port = collector["environment"]["VIGIL_COLLECTOR_PORT"]
    assert collector["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/healthz"
    port = dashboard["environment"]["VIGIL_DASHBOARD_PORT"]
    assert dashboard["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/_stcore/health"
    assert SERVICES["processor"]["healthcheck"]["test"][-3:] == ["-m", "pipeline.commands.healthcheck", "consumer-group"]
    assert SERVICES["signals"]["healthcheck"]["test"][-4:] == ["-m", "pipeline.commands.healthcheck", "consumer-group", "signals"]
    assert "8123/ping" in SERVICES["clickhouse"]["healthcheck"]["test"][-1]
    assert "kafka-broker-api-versions.sh --bootstrap-server kafka:9092" in SERVICES["kafka"]["healthcheck"]["test"][-1]
    assert SERVICES["alerts"]["healthcheck"]["test"] == ["CMD", "vigil", "alerts", "--healthcheck"]


def test_the_collector_and_dashboard_listen_on_all_interfaces_inside_their_containers_and_are_published():
    collector, dashboard = SERVICES["collector"]["environment"], SERVICES["dashboard"]["environment"]
    assert collector["VIGIL_COLLECTOR_HOST"] == dashboard["VIGIL_DASHBOARD_HOST"] == "0.0.0.0"
    assert collector["VIGIL_COLLECTOR_PORT"] in published("collector")
    assert dashboard["VIGIL_DASHBOARD_PORT"] in published("dashboard")
    # the dashboards have no login yet: loopback unless the operator says otherwise
    assert "127.0.0.1" in published("dashboard")[dashboard["VIGIL_DASHBOARD_PORT"]]
    assert published("clickhouse") == {8123: "127.0.0.1:8123"}
    assert published("kafka") == {}


def test_services_start_in_order_and_only_once_what_they_need_is_ready():
    assert depends_on("migrate") == {"clickhouse": "service_healthy"}
    assert depends_on("processor") == {"kafka": "service_healthy", "migrate": "service_completed_successfully"}
    assert depends_on("signals") == {"kafka": "service_healthy", "migrate": "service_completed_successfully"}
    assert depends_on("collector") == {"kafka": "service_healthy", "migrate": "service_completed_successfully",
                                       "processor": "service_healthy"}
    assert depends_on("dashboard") == {"clickhouse": "service_healthy", "migrate": "service_completed_successfully"}
    assert depends_on("alerts") == {"kafka": "service_healthy", "clickhouse": "service_healthy",
                                    "migrate": "service_completed_successfully"}
    for service in SERVICES:
        for needed, condition in depends_on(service).items():
            if condition == "service_healthy":
                assert "healthcheck" in SERVICES[needed], f"{service} waits for {needed} to be healthy"
    assert SERVICES["migrate"]["restart"] == "no"


def test_kafka_and_clickhouse_keep_their_data_in_named_volumes():
    assert set(COMPOSE["volumes"]) == {"kafka-data", "clickhouse-data"}
    assert SERVICES["kafka"]["volumes"] == [f"kafka-data:{SERVICES['kafka']['environment']['KAFKA_LOG_DIRS']}"]
    assert SERVICES["clickhouse"]["volumes"][0] == "clickhouse-data:/var/lib/clickhouse"
    assert all(volume.endswith(":ro") for volume in SERVICES["clickhouse"]["volumes"][1:])  # configuration only


def test_the_image_runs_vigil_as_an_unprivileged_user():
    assert re.search(r"^FROM python:3\.1[1-9]", DOCKERFILE, re.M)
    assert 'ENTRYPOINT ["vigil"]' in DOCKERFILE
    user = re.findall(r"^USER (\S+)", DOCKERFILE, re.M)
    assert user and user[-1] not in ("root", "0")


def test_the_image_holds_every_repository_folder_the_code_reads_at_run_time():
    read_at_run_time = set()
    for path in (REPO_ROOT / "pipeline").rglob("*.py"):
        read_at_run_time |= set(re.findall(r'REPO_ROOT / "([^"/]+)"', path.read_text()))
    if ".vigil" in read_at_run_time:  # the default data directory, not code: the image sets its own
        read_at_run_time.discard(".vigil")
        assert "VIGIL_DATA_DIR=/" in DOCKERFILE
    copied = set(re.findall(r"^COPY (\S+) ", DOCKERFILE, re.M))
    assert read_at_run_time <= copied, f"the Dockerfile does not COPY {read_at_run_time - copied}"
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert not read_at_run_time & set(ignored)
    assert ".venv" in ignored and ".vigil" in ignored


def test_only_the_alert_service_holds_the_smtp_relay_and_no_password_is_written():
    env = SERVICES["alerts"]["environment"]
    assert env["VIGIL_SMTP_HOST"] == "${VIGIL_SMTP_HOST:-}"
    assert env["VIGIL_SMTP_PASSWORD"] == "${VIGIL_SMTP_PASSWORD:-}"
    # the Alerts page asks `vigil alerts` to send its test notifications: the dashboard never sends
    assert not [name for name in SERVICES["dashboard"]["environment"] if name.startswith("VIGIL_SMTP_")]
    assert "replicas" not in SERVICES["alerts"].get("deploy", {})  # one evaluator: its history is its memory
