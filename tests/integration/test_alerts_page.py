"""The Alerts page, run by Streamlit's AppTest against the real warehouse (a private database):
create a rule, be told what to fix in a bad one, edit, mute and unmute, ask `vigil alerts` for a
test notification to a real webhook receiver (and be told when no service answers), add a
channel, and read the history the evaluator wrote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.alerts.evaluator import Evaluator
from pipeline.alerts.notify import Sender
from pipeline.alerts.on_request import TestRequestDesk
from pipeline.queries.alert_rules import parse_channel, parse_rule
from pipeline.queries.alert_store import AlertStore
from pipeline.warehouse.client import connect_reader
from pipeline.warehouse.projects import create
from pipeline.settings import REPO_ROOT
from tests.support.alerts import WebhookReceiver, empty, private_database

pytestmark = pytest.mark.integration

APP_DIR = REPO_ROOT / "app"


@pytest.fixture(scope="module")
def database(clickhouse):
    return private_database(clickhouse, prefix="alerts_page")


@pytest.fixture(scope="module")
def hook():
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def store(database, hook):
    _, client = database
    empty(client)
    hook.reset()
    create(client, "shop")
    store = AlertStore(client)
    store.save_channel(parse_channel("team-hook", {"type": "webhook", "url": hook.url("/team")}))
    return store


@pytest.fixture
def alerts_service(database):
    """What `vigil alerts` runs to answer the page's test requests, in a thread with its own
    reader client (the page asks; the service sends)."""
    settings, _ = database
    client = connect_reader(settings)
    desk = TestRequestDesk(AlertStore(client), Sender(settings, attempts=2, backoff_s=0.5), poll_s=0.2).start()
    yield desk
    desk.stop()
    client.close()


def frame(page: str) -> None:
    """The app's own frame (login, navigation, sidebar) opening on ``page``."""
    import main

    main.frame(default=f"views/{page}.py")


def alerts_page(database, monkeypatch) -> AppTest:
    """The Alerts page in the app's frame, on the private database (its one project picked)."""
    settings, _ = database
    monkeypatch.setenv("VIGIL_CLICKHOUSE_URL", settings.clickhouse_url)
    monkeypatch.setenv("VIGIL_CLICKHOUSE_DATABASE", settings.clickhouse_database)
    monkeypatch.delenv("VIGIL_DASHBOARD_USERS", raising=False)
    monkeypatch.syspath_prepend(str(APP_DIR))  # what `streamlit run app/main.py` does
    return rerun(AppTest.from_function(frame, args=("alerts",), default_timeout=60))


def test_the_dashboard_lists_the_alerts_page():
    assert '("views/alerts.py", "Alerts", ' in (APP_DIR / "main.py").read_text()


TABLE_COLUMNS = {"alert_rules": "condition", "alert_history": "summary", "alert_deliveries": "attempts",
                 "alert_channels": "used_by"}


def table(app: AppTest, key: str):
    """The shown table ``key`` (AppTest does not key dataframes: found by a column only it has)."""
    (frame,) = [element.value for element in app.dataframe if TABLE_COLUMNS[key] in element.value.columns]
    return frame


def rerun(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def messages(app: AppTest, kind: str = "success") -> list[str]:
    return [element.value for element in getattr(app, kind)]


def fill_rule(app: AppTest, key: str, **fields) -> None:
    for name, value in fields.items():
        widget = app.get("text_input") + app.get("text_area")
        element = next((w for w in widget if w.key == f"{key}_{name}"), None)
        if element is not None:
            element.input(value)
        elif name in ("metric", "vital", "project", "comparator", "severity"):
            app.selectbox(key=f"{key}_{name}").select(value)
        elif name == "channels":
            app.multiselect(key=f"{key}_channels").set_value(value)
        else:
            app.number_input(key=f"{key}_{name}").set_value(value)


def test_a_rule_created_on_the_page_is_stored_as_written(database, store, monkeypatch):
    app = alerts_page(database, monkeypatch)
    assert "No alert rules yet" in messages(app, "info")[0]

    fill_rule(app, "new_rule", name="Checkout errors", metric="error_count", threshold=20.0, window="10m",
              **{"for": "2m"}, route="/checkout*", environment="production", severity="critical",
              channels=["team-hook"], description="Check the payment provider first.")
    app.button(key="new_rule_submit").click()
    rerun(app)

    assert messages(app) == ["Created Checkout errors. `vigil alerts` evaluates it from its next run on."]
    rule = store.rules()["checkout-errors"]
    assert (rule.metric, rule.project, rule.threshold, rule.comparator, rule.severity) == (
        "error_count", "shop", 20.0, ">", "critical")
    assert (rule.window, rule.for_, rule.route, rule.environment, rule.channels) == (
        timedelta(minutes=10), timedelta(minutes=2), "/checkout*", "production", ("team-hook",))
    assert rule.source == "ui"
    rules = table(app, "alert_rules")
    assert rules["name"].to_list() == ["Checkout errors"]
    assert rules["condition"].to_list() == ["Error count above 20 over 10m for 2m (environment production, "
                                           "route /checkout*)"]
    assert rules["state"].to_list() == ["✓ ok"]


def test_a_bad_rule_is_refused_with_what_to_fix_and_nothing_is_saved(database, store, monkeypatch):
    app = alerts_page(database, monkeypatch)
    fill_rule(app, "new_rule", name="Slow pages", metric="vital_p75", vital="LCP", threshold=2500.0,
              window="five minutes", route="products")
    app.button(key="new_rule_submit").click()
    rerun(app)

    (error,) = messages(app, "error")
    assert "rule 'slow-pages': window: 'five minutes' is not a duration; write a number and a unit, e.g. 30s, 5m, " \
           "2h or 1d" in error
    assert "filters.route: 'products' is not a path; routes start with /, e.g. /checkout or /products/*" in error
    assert store.rules() == {}


def test_editing_a_rule_changes_what_is_stored(database, store, monkeypatch):
    store.save_rule(parse_rule({"id": "errors", "name": "Errors", "metric": "error_count", "project": "shop",
                                "threshold": 10, "channels": ["team-hook"]}))
    app = alerts_page(database, monkeypatch)
    assert app.selectbox(key="alert_rule").value == "errors"
    fill_rule(app, "edit_errors", threshold=50.0, comparator=">=", cooldown="2h", name="Many errors")
    app.button(key="edit_errors_submit").click()
    rerun(app)

    assert messages(app) == ["Saved Many errors."]
    rule = store.rules()["errors"]
    assert (rule.name, rule.threshold, rule.comparator, rule.cooldown) == ("Many errors", 50.0, ">=",
                                                                           timedelta(hours=2))
    assert table(app, "alert_rules")["condition"].to_list() == ["Error count at or above 50 over 5m"]


def test_muting_and_unmuting_a_rule(database, store, monkeypatch):
    store.save_rule(parse_rule({"id": "errors", "name": "Errors", "metric": "error_count", "project": "shop",
                                "threshold": 10}))
    app = alerts_page(database, monkeypatch)
    app.selectbox(key="mute_for").select("4h")
    app.text_input(key="mute_reason").input("deploying 2.6.0")
    before = datetime.now(timezone.utc)
    app.button(key="mute").click()
    rerun(app)

    mute = store.mutes()["errors"]
    assert before + timedelta(hours=4) <= mute.until <= datetime.now(timezone.utc) + timedelta(hours=4)
    assert mute.reason == "deploying 2.6.0"
    assert messages(app)[0].startswith("Errors is muted until ")
    assert table(app, "alert_rules")["muted_until"].notna().all()
    assert any(caption.value.startswith(":material/notifications_off: Muted until") for caption in app.caption)

    app.button(key="unmute").click()
    rerun(app)
    assert store.mutes() == {}
    assert messages(app) == ["Errors is no longer muted."]


def test_a_test_notification_reaches_the_rules_channels(database, store, hook, alerts_service, monkeypatch):
    store.save_rule(parse_rule({"id": "errors", "name": "Errors", "metric": "error_count", "project": "shop",
                                "threshold": 10, "channels": ["team-hook"]}))
    app = alerts_page(database, monkeypatch)
    app.button(key="test_rule").click()
    rerun(app)

    assert messages(app) == ["Test notification delivered to team-hook (webhook)."]
    (body,) = hook.bodies("/team")
    assert (body["status"], body["rule"]["id"], body["project"]) == ("test", "errors", "shop")
    assert store.deliveries()["kind"].to_list() == ["test"]


def test_a_channel_added_on_the_page_can_be_tested_right_away(database, store, hook, alerts_service, monkeypatch):
    app = alerts_page(database, monkeypatch)
    app.text_input(key="channel_name").input("chat")
    app.selectbox(key="channel_type").select("slack")
    app.text_input(key="channel_url").input(hook.url("/chat"))
    app.button(key="channel_submit").click()
    rerun(app)
    assert messages(app) == ["Added the channel chat."]
    assert store.channels()["chat"].url == hook.url("/chat")

    app.selectbox(key="alert_channel").select("chat")
    app.button(key="test_channel").click()
    rerun(app)
    assert hook.bodies("/chat")[0]["text"].startswith("[TEST · warning] Test notification")


def test_the_page_asks_a_running_vigil_alerts_for_a_test_and_shows_its_delivery(database, store, hook, clickhouse,
                                                                               kafka, tmp_path: Path, monkeypatch):
    settings, _ = database
    # the channel's URL is a secret only the service's environment holds: the page cannot send
    store.save_channel(parse_channel("ops-hook", {"type": "webhook", "url": "${VIGIL_TEST_OPS_HOOK_URL}"}))
    store.save_rule(parse_rule({"id": "errors", "name": "Errors", "metric": "error_count", "project": "shop",
                                "threshold": 10, "channels": ["ops-hook"]}))
    monkeypatch.delenv("VIGIL_TEST_OPS_HOOK_URL", raising=False)
    # the service as `vigil up` runs it: its own process, signed in as vigil_reader
    env = {**os.environ, **clickhouse.env, "VIGIL_CLICKHOUSE_DATABASE": settings.clickhouse_database,
           "VIGIL_KAFKA_BROKERS": kafka.bootstrap, "VIGIL_TEST_OPS_HOOK_URL": hook.url("/ops"),
           "VIGIL_DATA_DIR": str(tmp_path), "VIGIL_ALERTS_INTERVAL": "3600",
           "VIGIL_ALERTS_GROUP": f"alerts-page-{tmp_path.name}"}
    log_path = tmp_path / "alerts.log"
    with log_path.open("w") as log:
        service = subprocess.Popen([sys.executable, "-m", "pipeline.commands.cli", "alerts"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        heartbeat = tmp_path / "alerts" / "heartbeat"  # written once the service has started and evaluated
        deadline = time.monotonic() + 60
        while not heartbeat.exists():
            assert service.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "vigil alerts did not start within 60 s:\n" + log_path.read_text()
            time.sleep(0.2)
        app = alerts_page(database, monkeypatch)
        asked = time.monotonic()
        app.button(key="test_rule").click()
        rerun(app)
        answered = time.monotonic() - asked

        assert messages(app) == ["Test notification delivered to ops-hook (webhook)."], messages(app, "error")
        assert answered < 10, f"the page waited {answered:.1f} s for the answer"
        (body,) = hook.bodies("/ops")
        assert (body["status"], body["rule"]["id"], body["project"]) == ("test", "errors", "shop")
        deliveries = store.deliveries()
        assert deliveries["kind"].to_list() == ["test"] and deliveries["delivered"].all()
        assert deliveries["incident_id"].to_list() == [body["incident_id"]]  # the request's id
        assert "test notification delivered to ops-hook" in log_path.read_text()
        assert hook.url("/ops") not in log_path.read_text()  # a webhook's URL is a secret (Slack's token is its path)
    finally:
        service.send_signal(signal.SIGTERM)
        assert service.wait(30) == 0, log_path.read_text()


def test_without_vigil_alerts_the_page_says_nothing_was_sent_and_what_to_run(database, store, hook, monkeypatch):
    store.save_rule(parse_rule({"id": "errors", "name": "Errors", "metric": "error_count", "project": "shop",
                                "threshold": 10, "channels": ["team-hook"]}))
    monkeypatch.setenv("VIGIL_ALERTS_TEST_WAIT", "2")
    app = alerts_page(database, monkeypatch)
    asked = time.monotonic()
    app.button(key="test_rule").click()
    rerun(app)

    assert time.monotonic() - asked >= 2
    assert messages(app) == []
    (error,) = messages(app, "error")
    assert error == ("No `vigil alerts` answered within 2 s, so nothing was sent: test notifications are sent by "
                     "the alerts service. Start it with `vigil alerts` (`vigil up` starts it with the rest), then "
                     "try again.")
    assert hook.bodies() == [] and store.deliveries().is_empty()
    # the request lapsed with the page's wait: a service starting now does not send it late
    assert store.open_test_requests() == []


def test_a_bad_channel_says_what_is_missing(database, store, monkeypatch):
    app = alerts_page(database, monkeypatch)
    app.text_input(key="channel_name").input("mail")
    app.selectbox(key="channel_type").select("email")
    app.button(key="channel_submit").click()
    rerun(app)
    assert "channel 'mail': to: missing; email channels need recipients, e.g. to: [oncall@example.com]" in \
        messages(app, "error")[0]


def test_a_rule_from_the_alerts_file_can_be_muted_but_is_edited_in_the_file(database, store, monkeypatch):
    store.save_rule(parse_rule({"id": "from-file", "metric": "error_rate", "project": "shop", "threshold": 2},
                               source="file"))
    app = alerts_page(database, monkeypatch)
    assert table(app, "alert_rules")["source"].to_list() == ["alerts file"]
    assert any("defined in the alerts file" in info for info in messages(app, "info"))
    assert not [button for button in app.button if button.key in ("edit_from-file_submit", "delete_rule")]
    app.button(key="mute").click()
    rerun(app)
    assert "from-file" in store.mutes()


def test_the_history_shows_what_the_evaluator_recorded(database, store, hook, monkeypatch):
    _, client = database
    store.save_rule(parse_rule({"id": "errors", "name": "Errors", "metric": "error_count", "project": "shop",
                                "threshold": 0, "window": "1m", "channels": ["team-hook"]}))
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    client.insert("events", [[1, "error", now - timedelta(seconds=50), "e1", "js", "TypeError", "boom"]],
                  column_names=["project_id", "type", "timestamp", "event_id", "error_kind", "error_type",
                                "error_message"])
    evaluator = Evaluator(client, sender=Sender(attempts=1), store=store, lag=timedelta(0))
    evaluator.evaluate(now)
    evaluator.evaluate(now + timedelta(minutes=1))

    app = alerts_page(database, monkeypatch)
    history = table(app, "alert_history")
    assert history["state"].to_list() == ["resolved", "firing"]
    assert history["notified"].to_list() == [True, True]
    deliveries = table(app, "alert_deliveries")
    assert deliveries["kind"].to_list() == ["resolved", "firing"] and deliveries["delivered"].all()
    (chart,) = app.get("plotly_chart")
    assert {trace["name"] for trace in json.loads(chart.proto.spec)["data"]} == {"firing", "resolved"}
