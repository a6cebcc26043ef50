"""Alerts end to end on the real engine, with real receivers on loopback: a JSON webhook and a
Slack-compatible one (an HTTP server in the test) and e-mail (an aiosmtpd SMTP server).

The evaluator runs on an injected clock over events placed at known minutes, so an hour of
incidents takes a second: one incident notifies once when it fires and once when it resolves,
a cooldown holds back the next one, a mute silences, a restart neither forgets nor repeats,
and failing receivers are retried.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.alerts.evaluator import Evaluator
from pipeline.alerts.notify import Sender
from pipeline.alerts.on_request import send_test
from pipeline.queries.alert_rules import parse_channel, parse_rule
from pipeline.queries.alert_store import AlertStore
from pipeline.warehouse.projects import create
from tests.support.alerts import SmtpReceiver, WebhookReceiver, empty, private_database

pytestmark = pytest.mark.integration

T0 = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)
COLUMNS = ["project_id", "type", "timestamp", "event_id", "session_id", "visitor_id", "environment", "path",
           "error_kind", "error_type", "error_message", "http_status", "vital_name", "vital_value"]


def minute(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


class Shop:
    """A project in a private database, with helpers to place events at minutes after T0."""

    def __init__(self, database, receivers) -> None:
        self.settings, self.client = database
        empty(self.client)
        hook, smtp = receivers
        self.settings = smtp.settings(self.settings)
        self.project = create(self.client, "shop")
        self.now = T0
        self.store = AlertStore(self.client, clock=lambda: self.now)
        self.sender = Sender(self.settings, attempts=3, backoff_s=0.01, timeout_s=2.0)
        self.hook, self.smtp = hook, smtp
        for channel in (parse_channel("hook", {"type": "webhook", "url": hook.url("/hook"),
                                               "headers": {"Authorization": "Bearer s3cret"}}),
                        parse_channel("chat", {"type": "slack", "url": hook.url("/slack")}),
                        parse_channel("mail", {"type": "email", "to": ["oncall@example.com"]})):
            self.store.save_channel(channel)

    def evaluator(self) -> Evaluator:
        return Evaluator(self.client, sender=self.sender, store=self.store, clock=lambda: self.now,
                         lag=timedelta(0))

    def rule(self, **definition) -> None:
        base = {"id": "errors", "name": "Too many errors", "metric": "error_count", "project": "shop",
                "threshold": 5, "channels": ["hook", "chat", "mail"]}
        self.store.save_rule(parse_rule({**base, **definition}))

    def insert(self, rows: list[list]) -> None:
        self.client.insert("events", rows, column_names=COLUMNS)

    def errors(self, minutes, per_minute: int = 3, message: str = "Cannot read properties of undefined",
               error_type: str = "TypeError", path: str = "/checkout", environment: str = "production") -> None:
        self.insert([[self.project.id, "error", minute(m) + timedelta(seconds=5 + i), uuid.uuid4().hex, "s", "v",
                      environment, path, "js", error_type, message, 0, "", 0.0]
                     for m in minutes for i in range(per_minute)])

    def events(self, event_type: str, minutes, per_minute: int, **columns) -> None:
        values = {"http_status": 0, "vital_name": "", "vital_value": 0.0, "path": "/", "environment": "production",
                  **columns}
        self.insert([[self.project.id, event_type, minute(m) + timedelta(seconds=5 + i), uuid.uuid4().hex, "s", "v",
                      values["environment"], values["path"], "", "", "", values["http_status"],
                      values["vital_name"], values["vital_value"]]
                     for m in minutes for i in range(per_minute)])

    def error_group(self, message: str) -> int:
        """The fingerprint the warehouse gave the errors with ``message``."""
        return self.client.query("SELECT any(fingerprint) FROM events WHERE project_id = {p:UInt32} AND "
                                 "error_message = {m:String}", parameters={"p": self.project.id, "m": message}
                                 ).result_rows[0][0]

    def resolve(self, fingerprint: int, at: datetime) -> None:
        """The Errors page's "resolve" (dashboard_state.set_error_group_status), as of ``at``."""
        self.client.insert("error_group_states", [[self.project.id, fingerprint, "resolved", at, "ana", 1]],
                           column_names=["project_id", "fingerprint", "status", "updated_at", "updated_by", "version"])

    def run(self, evaluator: Evaluator, minutes) -> list[tuple[float, str, str]]:
        """Evaluate at each of ``minutes``; returns (minute, key, state) of every change."""
        changes = []
        for m in minutes:
            self.now = minute(m)
            outcome = evaluator.evaluate()
            assert not outcome.problems, outcome.problems
            changes += [(m, key, state) for _, key, state in outcome.states()]
        return changes


@pytest.fixture(scope="module")
def running_receivers():
    with WebhookReceiver() as hook, SmtpReceiver() as smtp:
        yield hook, smtp


@pytest.fixture
def receivers(running_receivers):
    for receiver in running_receivers:
        receiver.reset()
    return running_receivers


@pytest.fixture(scope="module")
def database(clickhouse):
    return private_database(clickhouse)


@pytest.fixture
def shop(database, receivers):
    return Shop(database, receivers)


def statuses(shop: Shop, path: str = "/hook") -> list[str]:
    return [body["status"] for body in shop.hook.bodies(path)]


def test_one_incident_notifies_once_when_it_fires_and_once_when_it_resolves(shop):
    shop.rule(window="5m", **{"for": "2m"})
    shop.errors(range(0, 10))  # 3 errors a minute for ten minutes, then quiet
    evaluator = shop.evaluator()

    changes = shop.run(evaluator, range(1, 21))

    # 3 errors in the window at minute 1, 6 at minute 2 (> 5: pending), still above at 4 → firing
    assert changes == [(2, "", "pending"), (4, "", "firing"), (14, "", "resolved")]
    firing, resolved = shop.hook.bodies("/hook")
    assert (firing["status"], resolved["status"]) == ("firing", "resolved")
    assert firing["incident_id"] == resolved["incident_id"]
    assert firing["value"] == 12.0 and resolved["value"] == 3.0  # 3 errors left in the window: not above 5
    assert firing["rule"]["id"] == "errors" and firing["project"] == "shop"
    assert firing["started_at"] == "2025-06-02T12:02:00Z" and firing["fired_at"] == "2025-06-02T12:04:00Z"
    assert resolved["resolved_at"] == "2025-06-02T12:14:00Z"
    assert {r.headers["Authorization"] for r in shop.hook.requests if r.path == "/hook"} == {"Bearer s3cret"}
    # the Slack-compatible receiver gets Slack's message shape, the mailbox an e-mail, once each
    assert [body["text"].split(":")[0] for body in shop.hook.bodies("/slack")] == [
        "[FIRING · warning] Too many errors", "[RESOLVED · warning] Too many errors"]
    assert all(body["blocks"][0]["type"] == "section" for body in shop.hook.bodies("/slack"))
    assert shop.smtp.subjects() == ["[Vigil] [FIRING · warning] Too many errors",
                                    "[Vigil] [RESOLVED · warning] Too many errors"]
    assert shop.smtp.envelopes[0] == ("vigil@example.com", ["oncall@example.com"])
    assert shop.smtp.messages[0].get_content().startswith(
        "Error count above 5 over 5m for 2m on shop: now 12 since 2025-06-02 12:02 UTC.")


def test_the_history_keeps_every_state_change_and_every_delivery(shop):
    shop.rule(window="5m", **{"for": "2m"})
    shop.errors(range(0, 10))
    shop.run(shop.evaluator(), range(1, 21))

    history = shop.store.history("errors").sort("at")
    assert history["state"].to_list() == ["pending", "firing", "resolved"]
    assert history["notified"].to_list() == [False, True, True]
    assert history["incident_id"].n_unique() == 1
    deliveries = shop.store.deliveries("errors")
    assert deliveries.height == 6 and deliveries["delivered"].all()
    assert sorted(deliveries["channel"].to_list()) == ["chat", "chat", "hook", "hook", "mail", "mail"]


def test_a_second_incident_inside_the_cooldown_waits_until_the_cooldown_is_over(shop):
    shop.rule(window="5m", cooldown="30m")
    shop.errors(range(0, 5))  # first incident: fires at minute 2, resolves at minute 9
    shop.errors(range(15, 40))  # second incident: fires at minute 17, inside the cooldown (until minute 32)
    changes = shop.run(shop.evaluator(), range(1, 50))

    assert changes == [(2, "", "firing"), (9, "", "resolved"),
                       (17, "", "firing"), (32, "", "firing"), (44, "", "resolved")]
    assert statuses(shop) == ["firing", "resolved", "firing", "resolved"]
    late = [body for body in shop.hook.bodies("/hook") if body["status"] == "firing"][1]
    assert late["fired_at"] == "2025-06-02T12:17:00Z"  # notified at 32, about the incident that fired at 17
    history = shop.store.history("errors").sort("at")
    assert history.filter(history["at"] == minute(17))["note"].item().startswith("cooldown: notified at 12:02:00 UTC")
    assert history.filter(history["at"] == minute(32))["notified"].item()


def test_an_incident_that_ends_within_the_cooldown_is_recorded_but_never_notified(shop):
    shop.rule(window="5m", cooldown="1h")
    shop.errors(range(0, 3))
    shop.errors(range(12, 15))
    changes = shop.run(shop.evaluator(), range(1, 25))

    assert [state for _, _, state in changes] == ["firing", "resolved", "firing", "resolved"]
    assert statuses(shop) == ["firing", "resolved"]
    assert shop.store.history("errors").sort("at")["notified"].to_list() == [True, True, False, False]


def test_a_breach_shorter_than_for_is_cancelled_without_a_notification(shop):
    shop.rule(window="1m", **{"for": "3m"})
    shop.errors([0, 1], per_minute=6)
    changes = shop.run(shop.evaluator(), range(1, 6))

    assert changes == [(1, "", "pending"), (3, "", "cancelled")]
    assert shop.hook.requests == [] and shop.smtp.messages == []


def test_a_restarted_evaluator_remembers_the_incident_and_does_not_notify_it_again(shop):
    shop.rule(window="5m")
    shop.errors(range(0, 10))
    first = shop.evaluator()
    assert shop.run(first, range(1, 6)) == [(2, "", "firing")]

    second = shop.evaluator()  # a new process: its state comes from the history
    assert shop.run(second, range(6, 20)) == [(14, "", "resolved")]
    assert statuses(shop) == ["firing", "resolved"]
    assert len({body["incident_id"] for body in shop.hook.bodies("/hook")}) == 1


def test_a_muted_rule_records_its_incident_and_notifies_once_the_mute_ends_if_still_firing(shop):
    shop.rule(window="5m")
    shop.store.mute("errors", minute(10), reason="deploying")
    shop.errors(range(0, 20))
    changes = shop.run(shop.evaluator(), range(1, 12))

    assert changes == [(2, "", "firing"), (10, "", "firing")]
    history = shop.store.history("errors").sort("at")
    assert history["note"][0] == "muted until 2025-06-02 12:10 UTC (deploying)"
    assert statuses(shop) == ["firing"]


def test_unmuting_lets_the_next_evaluation_notify(shop):
    shop.rule(window="5m")
    shop.store.mute("errors", minute(600))
    shop.errors(range(0, 20))
    evaluator = shop.evaluator()
    shop.run(evaluator, range(1, 5))
    assert shop.hook.requests == []
    shop.store.unmute("errors")
    shop.run(evaluator, [5])
    assert statuses(shop) == ["firing"]


def test_rules_narrowed_by_environment_and_route_count_only_their_events(shop):
    shop.rule(window="5m", filters={"environment": "production", "route": "/checkout*"})
    shop.errors(range(0, 10), path="/products/42")  # other route
    shop.errors(range(0, 10), environment="staging", path="/checkout")  # other environment
    shop.errors(range(0, 10), per_minute=1, path="/checkout/pay")  # 5 in a 5-minute window: not above 5
    assert shop.run(shop.evaluator(), range(1, 12)) == []
    shop.errors([10], per_minute=3, path="/checkout")
    assert shop.run(shop.evaluator(), [11]) == [(11, "", "firing")]


def test_error_rate_and_api_failure_rate_are_percentages_with_a_minimum_volume(shop):
    shop.rule(id="error-rate", metric="error_rate", threshold=10, window="5m", min_samples=20)
    shop.rule(id="api", metric="api_failure_rate", threshold=25, window="5m")
    shop.events("page_view", range(0, 5), per_minute=3)
    shop.errors([0], per_minute=2)  # 2 errors of 17 events: 11.8 %, but only 17 events (< 20)
    shop.events("api_call", [1], per_minute=3, http_status=200)
    shop.events("api_call", [1], per_minute=1, http_status=503)  # 1 of 4 calls = 25 %: not above
    assert shop.run(shop.evaluator(), [5]) == []
    shop.events("page_view", [5], per_minute=10)  # 27 events, 2 errors: 7.4 %
    shop.events("api_call", [5], per_minute=1, http_status=0)  # network error: 2 of 5 = 40 %
    changes = shop.run(shop.evaluator(), [6])
    assert changes == [(6, "", "firing")]
    assert shop.hook.bodies("/hook")[0]["rule"]["id"] == "api" and shop.hook.bodies("/hook")[0]["value"] == 40.0


def test_vital_p75_fires_on_slow_pages_and_resolves_when_they_are_fast_again(shop):
    shop.rule(id="lcp", metric="vital_p75", vital="LCP", threshold=2500, window="5m", min_samples=4)
    for m, value in ((0, 1800.0), (1, 3200.0), (2, 3900.0), (3, 4100.0), (4, 3000.0)):
        shop.events("web_vital", [m], per_minute=1, vital_name="LCP", vital_value=value)
    for m in range(5, 12):
        shop.events("web_vital", [m], per_minute=1, vital_name="LCP", vital_value=1500.0)
    changes = shop.run(shop.evaluator(), range(1, 12))
    # p75 at minute 4: of 1800, 3200, 3900, 4100 → 3950; at 8 of 4100, 3000, 1500 ×3 → 3000; at 9 → 1500
    assert changes == [(4, "", "firing"), (9, "", "resolved")]
    firing = shop.hook.bodies("/hook")[0]
    assert firing["value"] == pytest.approx(3950.0, rel=0.01)  # the rollup's percentiles are within 1 %
    assert firing["labels"] == {"rating": "needs-improvement"}


def test_a_page_view_drop_against_the_same_window_last_week(shop):
    shop.rule(id="pv-drop", metric="page_view_drop", threshold=50, window="10m")
    week = 7 * 24 * 60
    shop.events("page_view", range(-week, -week + 20), per_minute=10)  # last week: 10 a minute
    shop.events("page_view", range(0, 10), per_minute=8)  # now: 8 a minute (20 % fewer) …
    shop.events("page_view", range(10, 20), per_minute=2)  # … then 2 a minute (80 % fewer)
    changes = shop.run(shop.evaluator(), [10, 15, 20])
    assert changes == [(20, "", "firing")]  # minute 15: 50 of last week's 100 → 50 %: not above; 20: 80 %
    assert shop.hook.bodies("/hook")[0]["labels"] == {"page_views": "20", "page_views_last_week": "100"}


def test_each_new_error_group_is_its_own_incident(shop):
    shop.rule(id="new-groups", metric="new_error_group", threshold=0, window="10m")
    shop.errors(range(-60, 0), per_minute=1, message="Known old problem 1")
    shop.errors([3], per_minute=2, message="Payment widget crashed 7", error_type="RangeError")
    shop.errors([5], per_minute=1, message="Search box broke")
    changes = shop.run(shop.evaluator(), range(1, 20))

    assert [state for _, _, state in changes] == ["firing", "firing", "resolved", "resolved"]
    assert [m for m, _, _ in changes] == [4, 6, 14, 16]  # each resolves once it is 10 minutes old
    firing = [body for body in shop.hook.bodies("/hook") if body["status"] == "firing"]
    assert [(body["labels"]["type"], body["value"]) for body in firing] == [("RangeError", 2.0), ("TypeError", 1.0)]
    assert len({body["key"] for body in firing}) == 2


def test_a_resolved_error_group_seen_again_is_a_regression(shop):
    shop.rule(id="regressed", metric="regressed_error_group", threshold=0, window="10m")
    shop.errors([-60, -30], per_minute=2, message="Checkout total is NaN")
    shop.errors([-60, -30, 2], per_minute=1, message="Known, never resolved")
    total_is_nan = shop.error_group("Checkout total is NaN")
    shop.resolve(total_is_nan, at=minute(-20))  # someone resolved it on the Errors page
    assert shop.run(shop.evaluator(), [1]) == []
    shop.errors([3], per_minute=2, message="Checkout total is NaN")
    changes = shop.run(shop.evaluator(), [4, 14])

    assert changes == [(4, f"{total_is_nan:x}", "firing"), (14, f"{total_is_nan:x}", "resolved")]
    body = shop.hook.bodies("/hook")[0]
    assert (body["labels"]["message"], body["labels"]["status"], body["value"]) == ("Checkout total is NaN",
                                                                                   "regressed", 2.0)


def test_a_deleted_rule_ends_its_incident_quietly(shop):
    shop.rule(window="5m")
    shop.errors(range(0, 10))
    evaluator = shop.evaluator()
    shop.run(evaluator, [2])
    shop.store.delete_rule("errors")
    assert shop.run(evaluator, [3]) == [(3, "", "resolved")]
    assert statuses(shop) == ["firing"]
    assert shop.store.history("errors")["note"][0] == "the rule was deleted"


def test_a_rule_for_a_project_that_does_not_exist_is_reported_not_evaluated(shop):
    shop.rule(project="no-such-shop")
    shop.now = minute(1)
    outcome = shop.evaluator().evaluate()
    assert outcome.problems == {"errors": "project 'no-such-shop' does not exist; create it or fix the rule's project"}


# ── delivery ─────────────────────────────────────────────────────────────────────────────


def test_a_failing_webhook_is_retried_until_it_answers(shop):
    shop.rule(window="5m", channels=["hook"])
    shop.errors(range(0, 5))
    shop.hook.failures = [503, 502]  # down twice, then up
    shop.run(shop.evaluator(), [2])

    assert statuses(shop) == ["firing"] and shop.hook.attempts == 3
    (delivery,) = shop.store.deliveries("errors").to_dicts()
    assert (delivery["delivered"], delivery["attempts"]) == (True, 3)


def test_a_receiver_that_stays_down_is_given_up_on_with_the_reason(shop):
    shop.rule(window="5m", channels=["hook"])
    shop.errors(range(0, 5))
    shop.hook.failures = [503] * 10
    shop.run(shop.evaluator(), [2])

    (delivery,) = shop.store.deliveries("errors").to_dicts()
    assert (delivery["delivered"], delivery["attempts"]) == (False, 3)
    assert delivery["error"].startswith("gave up after 3 attempt(s): http://127.0.0.1:")
    assert "answered HTTP 503" in delivery["error"]


def test_a_refusal_that_retrying_cannot_fix_is_not_retried(shop):
    shop.rule(window="5m", channels=["hook"])
    shop.errors(range(0, 5))
    shop.hook.failures = [404]
    shop.run(shop.evaluator(), [2])
    (delivery,) = shop.store.deliveries("errors").to_dicts()
    assert (delivery["delivered"], delivery["attempts"]) == (False, 1)
    assert "answered HTTP 404" in delivery["error"] and "check the channel's URL" in delivery["error"]


def test_an_smtp_relay_answering_try_again_later_is_retried(shop):
    shop.rule(window="5m", channels=["mail"])
    shop.errors(range(0, 5))
    shop.smtp.failures = ["451 4.3.0 Mail server temporarily rejected message"]
    shop.run(shop.evaluator(), [2])
    assert shop.smtp.subjects() == ["[Vigil] [FIRING · warning] Too many errors"]
    assert shop.store.deliveries("errors")["attempts"].to_list() == [2]


def test_a_test_notification_reaches_each_kind_of_channel(shop):
    channels = shop.store.channels()
    for name in ("hook", "chat", "mail"):
        delivery = send_test(shop.store, shop.sender, channels[name], project="shop")
        assert delivery.delivered, delivery.error
    assert statuses(shop) == ["test"]
    assert shop.hook.bodies("/slack")[0]["text"].startswith("[TEST · warning] Test notification")
    assert shop.smtp.subjects() == ["[Vigil] [TEST · warning] Test notification"]
    assert shop.store.deliveries()["kind"].to_list() == ["test"] * 3


def test_secrets_in_channels_come_from_the_environment_when_sending(shop, monkeypatch):
    shop.store.save_channel(parse_channel("secret-hook", {"type": "webhook", "url": "${VIGIL_TEST_HOOK_URL}"}))
    channel = shop.store.channels()["secret-hook"]
    assert channel.url == "${VIGIL_TEST_HOOK_URL}"  # stored unexpanded
    delivery = send_test(shop.store, shop.sender, channel, project="shop")
    assert not delivery.delivered
    assert delivery.error == ("channel 'secret-hook': the environment variable VIGIL_TEST_HOOK_URL is not set; "
                              "set it for `vigil alerts`, which sends every notification (tests too)")
    monkeypatch.setenv("VIGIL_TEST_HOOK_URL", shop.hook.url("/secret"))
    assert send_test(shop.store, shop.sender, channel, project="shop").delivered
    assert len(shop.hook.bodies("/secret")) == 1
