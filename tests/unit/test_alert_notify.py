"""What a notification says, in each channel's shape: the generic webhook's versioned JSON,
Slack's message (escaped), and the e-mail."""

from __future__ import annotations

from datetime import datetime, timezone

from pipeline.alerts.notify import Notification
from pipeline.queries.alert_rules import parse_rule

STARTED = datetime(2025, 6, 2, 12, 2, tzinfo=timezone.utc)
FIRED = datetime(2025, 6, 2, 12, 4, tzinfo=timezone.utc)
RESOLVED = datetime(2025, 6, 2, 12, 19, 40, tzinfo=timezone.utc)
RULE = parse_rule({"id": "lcp", "name": "Slow <checkout> & cart", "metric": "vital_p75", "vital": "LCP",
                   "project": "shop", "threshold": 2500, "window": "15m", "for": "5m", "severity": "critical",
                   "filters": {"route": "/checkout*"}})


def notification(kind: str, value: float | None = 3120.5, **times) -> Notification:
    return Notification(kind, RULE, "shop", "inc-1", value=value, labels={"rating": "needs-improvement"},
                        started_at=STARTED, **times)


def test_the_webhook_payload_is_versioned_and_complete():
    payload = notification("firing", fired_at=FIRED).payload()
    assert payload == {
        "version": 1, "status": "firing", "title": "[FIRING · critical] Slow <checkout> & cart",
        "text": "LCP p75 above 2500 ms over 15m for 5m (route /checkout*) on shop: now 3,120.5 ms since "
                "2025-06-02 12:02 UTC.",
        "incident_id": "inc-1", "key": "", "value": 3120.5, "labels": {"rating": "needs-improvement"},
        "started_at": "2025-06-02T12:02:00Z", "fired_at": "2025-06-02T12:04:00Z", "resolved_at": None,
        "project": "shop",
        "rule": {"id": "lcp", "name": "Slow <checkout> & cart", "metric": "vital_p75", "vital": "LCP",
                 "severity": "critical", "comparator": ">", "threshold": 2500.0, "unit": "ms", "window": "15m",
                 "for": "5m", "filters": {"route": "/checkout*"}, "description": ""},
    }


def test_a_resolution_says_how_long_the_incident_lasted():
    text = notification("resolved", value=1900.0, fired_at=FIRED, resolved_at=RESOLVED).text()
    assert text == "Resolved after 15m: LCP p75 above 2500 ms over 15m for 5m (route /checkout*) on shop — now 1,900 ms."


def test_no_data_is_said_as_such():
    assert notification("resolved", value=None, fired_at=FIRED, resolved_at=RESOLVED).value_text() == "no data"


def test_slack_gets_escaped_text_and_blocks():
    message = notification("firing", fired_at=FIRED).slack_message()
    assert message["text"].startswith("[FIRING · critical] Slow &lt;checkout&gt; &amp; cart: LCP p75 above")
    assert message["blocks"][0]["text"]["text"] == ":red_circle: *[FIRING · critical] Slow &lt;checkout&gt; &amp; cart*"
    assert message["blocks"][2]["elements"][0]["text"] == "project *shop* · rule `lcp` · above 2500"
    resolved = notification("resolved", fired_at=FIRED, resolved_at=RESOLVED).slack_message()
    assert resolved["blocks"][0]["text"]["text"].startswith(":white_check_mark: *[RESOLVED · critical]")


def test_the_email_names_the_incident_for_threading():
    mail = notification("firing", fired_at=FIRED).email("vigil@example.com", ["a@example.com", "b@example.com"])
    assert mail["Subject"] == "[Vigil] [FIRING · critical] Slow <checkout> & cart"
    assert mail["To"] == "a@example.com, b@example.com"
    assert mail["X-Vigil-Incident"] == "inc-1"
    body = mail.get_content()
    assert "value: 3,120.5 ms\nstarted: 2025-06-02T12:02:00Z\nfired: 2025-06-02T12:04:00Z\n" in body
