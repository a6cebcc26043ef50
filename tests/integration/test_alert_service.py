"""``vigil alerts`` as a service: signals produced to the real Kafka broker fire an alert within
seconds (before any scheduled evaluation), the schedule on the warehouse resolves it, a broken
message is skipped; the alerts file is synced into the store; the command line works."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Producer

from pipeline.alerts.evaluator import Evaluator
from pipeline.alerts.notify import Sender
from pipeline.alerts.service import AlertService
from pipeline.broker.topics import SIGNALS_TOPIC
from pipeline.queries.alert_rules import RuleError, parse_channel, parse_rule
from pipeline.queries.alert_store import AlertStore
from pipeline.settings import REPO_ROOT
from pipeline.warehouse.projects import create
from tests.support.alerts import WebhookReceiver, private_database

pytestmark = pytest.mark.integration


def wait_for(condition, service: AlertService | None = None, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        if service is not None:
            service.step(max_wait_s=0.2)
        else:
            time.sleep(0.1)


def signal(project_id: int, start: datetime, errors: int, events: int = 200) -> bytes:
    return orjson.dumps({
        "project_id": project_id, "window_start": start.isoformat(), "window_end": (start + timedelta(minutes=1)).isoformat(),
        "events": events, "errors": errors, "error_rate": errors / events, "api_failure_rate": 0.0,
        "p75": {"LCP": 2100.0},
    })


@pytest.fixture
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


def test_streaming_signals_fire_an_alert_at_once_and_the_schedule_resolves_it(clickhouse, kafka, hook):
    settings, client = private_database(clickhouse)
    settings = dataclasses.replace(settings, kafka_brokers=kafka.bootstrap, alerts_interval_s=3600,
                                   alerts_group=f"alerts-test-{uuid.uuid4().hex[:6]}")
    project = create(client, "shop")
    store = AlertStore(client)
    store.save_channel(parse_channel("hook", {"type": "webhook", "url": hook.url()}))
    store.save_rule(parse_rule({"id": "spike", "metric": "error_count", "project": "shop", "window": "2m",
                                "threshold": 10, "channels": ["hook"]}))
    evaluator = Evaluator(client, sender=Sender(settings, attempts=1), store=store, lag=timedelta(0))
    service = AlertService(settings, evaluator)
    try:
        service.step(max_wait_s=0.2)  # the first turn evaluates on the warehouse: nothing there
        producer = Producer({"bootstrap.servers": kafka.bootstrap})
        minute = datetime.now(timezone.utc).replace(second=0, microsecond=0) - timedelta(minutes=2)

        # the consumer starts at the end of the topic: probe (another project's quiet minute) until it reads
        def probed() -> bool:
            producer.produce(SIGNALS_TOPIC, signal(project.id + 1000, minute, errors=0), key=b"probe")
            producer.flush(5)
            service.step(max_wait_s=0.5)
            return service.signals_judged > 0

        wait_for(probed, what="the signals consumer to read from the topic")
        producer.produce(SIGNALS_TOPIC, b"{not json", key=str(project.id))
        producer.produce(SIGNALS_TOPIC, signal(project.id, minute, errors=4), key=str(project.id))
        producer.produce(SIGNALS_TOPIC, signal(project.id + 1000, minute + timedelta(minutes=1), errors=99),
                         key=str(project.id + 1000))  # another project's spike
        producer.produce(SIGNALS_TOPIC, signal(project.id, minute + timedelta(minutes=1), errors=8),
                         key=str(project.id))
        sent = time.monotonic()
        assert producer.flush(10) == 0

        wait_for(lambda: hook.bodies(), service, what="the firing notification")
        assert time.monotonic() - sent < 10
        (firing,) = hook.bodies()
        assert (firing["status"], firing["value"]) == ("firing", 12.0)
        assert store.history("spike")["origin"].to_list() == ["signal"]
        wait_for(lambda: service.signals_skipped == 1, service, what="the broken message to be read and skipped")

        # the warehouse has none of those errors: the next scheduled evaluation resolves the incident
        outcome = evaluator.evaluate()
        assert outcome.states() == [("spike", "", "resolved")], outcome.problems
        assert [body["status"] for body in hook.bodies()] == ["firing", "resolved"]
    finally:
        service.close()


def test_the_alerts_file_is_synced_into_the_store_and_its_removals_follow(clickhouse, tmp_path: Path):
    settings, client = private_database(clickhouse)
    create(client, "demo")
    path = tmp_path / "alerts.yaml"
    path.write_text((REPO_ROOT / "docs" / "alerts.example.yaml").read_text())
    settings = dataclasses.replace(settings, alerts_file=str(path))
    store = AlertStore(client)
    store.save_rule(parse_rule({"id": "made-on-the-page", "metric": "error_count", "project": "demo", "threshold": 1}))
    service = AlertService(settings, Evaluator(client, store=store))

    service.sync_file()
    rules = store.rules()
    assert {rule_id for rule_id, rule in rules.items() if rule.source == "file"} == {
        "checkout-errors", "error-rate", "new-error-groups", "regressions", "slow-lcp", "api-failures", "traffic-drop"}
    assert rules["made-on-the-page"].source == "ui"
    assert store.channels()["oncall-slack"].url == "${VIGIL_SLACK_WEBHOOK_URL}"  # the secret is not stored

    time.sleep(0.01)
    text = path.read_text()
    path.write_text(text[:text.index("  - id: error-rate")].replace("threshold: 20", "threshold: 50"))
    service.sync_file()
    rules = store.rules()
    assert sorted(rules) == ["checkout-errors", "made-on-the-page"]
    assert rules["checkout-errors"].threshold == 50

    # a broken edit keeps the rules in force and says what is wrong (in the log)
    path.write_text(text.replace("window: 5m", "window: five minutes"))
    service.sync_file()
    assert sorted(store.rules()) == ["checkout-errors", "made-on-the-page"]


def test_a_file_rule_may_not_take_the_id_of_a_rule_made_on_the_page(clickhouse, tmp_path: Path):
    settings, client = private_database(clickhouse)
    store = AlertStore(client)
    store.save_rule(parse_rule({"id": "checkout-errors", "metric": "error_count", "project": "demo", "threshold": 1}))
    path = tmp_path / "alerts.yaml"
    path.write_text((REPO_ROOT / "docs" / "alerts.example.yaml").read_text())
    service = AlertService(dataclasses.replace(settings, alerts_file=str(path)), Evaluator(client, store=store))
    with pytest.raises(RuleError) as caught:
        service.sync_file()
    assert caught.value.problems == ["rule 'checkout-errors' is in the alerts file and was also made on the Alerts "
                                     "page; rename the one in the file, or delete the page's"]


def vigil(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.commands.cli", *args], capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT, timeout=120)


def test_vigil_alerts_check_validates_a_file(tmp_path: Path):
    env = dict(os.environ)
    good = vigil("alerts", "--check", str(REPO_ROOT / "docs" / "alerts.example.yaml"), env=env)
    assert good.returncode == 0, good.stderr
    assert "OK — 7 rule(s), 3 channel(s)" in good.stdout
    bad = tmp_path / "alerts.yaml"
    bad.write_text("rules:\n  - id: x\n    metric: error_count\n    project: demo\n    threshold: many\n")
    result = vigil("alerts", "--check", str(bad), env=env)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}: 1 problem(s):", f"  ✗ {bad}: rules[0] 'x': threshold: expected a number, got 'many'; e.g. threshold: 20"]


def test_vigil_alerts_once_evaluates_and_leaves_a_heartbeat(clickhouse, tmp_path: Path):
    settings, client = private_database(clickhouse)
    create(client, "demo")
    env = {**os.environ, **clickhouse.env, "VIGIL_CLICKHOUSE_DATABASE": settings.clickhouse_database,
           "VIGIL_DATA_DIR": str(tmp_path), "VIGIL_ALERTS_FILE": str(REPO_ROOT / "docs" / "alerts.example.yaml")}
    assert vigil("alerts", "--healthcheck", env=env).returncode == 1
    result = vigil("alerts", "--once", env=env)
    assert result.returncode == 0, result.stderr
    assert "added channel oncall-slack" in result.stderr and "checkout-errors" in result.stderr
    assert vigil("alerts", "--healthcheck", env=env).returncode == 0
    assert len(AlertStore(client).rules()) == 7
