"""How the collector counts its refusals (pipeline/ingest/refusals.py): per minute, project,
transport, reason and unit, with bounded memory; and what ``/metrics`` shows of them. The
ClickHouse side (inserts, outages, retries) is in tests/integration/test_refusals.py."""

from __future__ import annotations

import asyncio
import dataclasses


from pipeline.ingest.collector_metrics import CollectorMetrics
from pipeline.ingest.refusals import RefusalLog, answer_outcome
from tests.support.prometheus import samples
from tests.unit.test_collector_app import GOOD, build, request

T0 = 1_800_000_000.0  # a minute boundary (divisible by 60)


def clock_at(times: list[float]):
    return lambda: times[0]


def test_counts_are_kept_per_minute_project_transport_reason_and_unit():
    now = [T0 + 5]
    log = RefusalLog(lambda rows, token: None, 10, CollectorMetrics(), clock=clock_at(now))
    log.record(3, "events", "wrong_key")
    log.record(3, "events", "wrong_key")
    log.record(3, "events", None, ["unknown_value", "unknown_value", "missing_field"], accepted=4)
    now[0] = T0 + 61
    log.record(3, "pixel", "wrong_key")
    assert dict(log.counts) == {
        (T0, 3, "events", "wrong_key", "request"): 2,
        (T0, 3, "events", "unknown_value", "event"): 2,
        (T0, 3, "events", "missing_field", "event"): 1,
        (T0 + 60, 3, "pixel", "wrong_key", "request"): 1,
    }


def test_a_flood_of_made_up_project_ids_folds_into_project_zero():
    log = RefusalLog(lambda rows, token: None, 10, CollectorMetrics(), max_keys=3, clock=lambda: T0)
    for project in range(1, 101):
        log.record(project, "events", "unknown_project")
    assert len(log.counts) == 4  # three kept apart, the rest in project 0
    assert log.counts[(T0, 0, "events", "unknown_project", "request")] == 97
    assert sum(log.counts.values()) == 100


def test_counts_past_the_pending_bound_are_dropped_oldest_first_and_counted_as_lost():
    def unreachable(rows, token):
        raise ConnectionRefusedError("ClickHouse is down")

    metrics = CollectorMetrics()
    now = [T0]
    log = RefusalLog(unreachable, 10, metrics, max_pending_rows=2, clock=clock_at(now))
    for minute in range(4):
        now[0] = T0 + 60 * minute
        log.add(1, "events", "wrong_key", "request", 10 + minute)
        asyncio.run(log.flush())
    assert [batch.refusals for batch in log.pending] == [12, 13]  # one row each, at most two rows
    assert log.lost == 10 + 11
    assert metrics.refusal_counts_lost._value.get() == 21  # noqa: SLF001 - the counter's own value
    assert metrics.refusal_flush_failures._value.get() == 4  # noqa: SLF001


def test_answers_say_what_was_refused():
    assert answer_outcome(401, {"error": "missing_key", "message": "…"}) == ("missing_key", [], 0)
    assert answer_outcome(202, {"accepted": 2, "rejected": [{"index": 1, "reason": "too_long"}]}) == (
        None, ["too_long"], 2)
    assert answer_outcome(422, {"error": "no_valid_events", "accepted": 0,
                                "rejected": [{"index": 0, "reason": "bad_format"}]}) == (
        "no_valid_events", ["bad_format"], 0)
    assert answer_outcome(200, {"status": "ok"}) == (None, [], 0)


def metrics_of(app) -> dict:
    status, headers, body = request(app, "GET", "/metrics")
    assert status == 200 and headers[b"content-type"].startswith(b"text/plain; version=")
    return samples(body.decode())


def test_refused_requests_are_counted_where_they_are_answered():
    app = build(GOOD)
    request(app, "POST", "/api/1/events", b"{}", {"content-type": "application/json", "x-vigil-key": "b" * 32})
    request(app, "POST", "/api/9/events", b"{}", {"content-type": "application/json"})
    request(app, "GET", "/api/1/pixel.gif", query=b"key=" + GOOD.key.encode())
    request(app, "GET", "/wp-login.php")
    counted = {key: count for key, count in app.refusals.counts.items()}
    assert {key[1:]: count for key, count in counted.items()} == {
        (1, "events", "wrong_key", "request"): 1, (9, "events", "unknown_project", "request"): 1,
        (1, "pixel", "missing_field", "request"): 1, (0, "other", "not_found", "request"): 1}
    shown = metrics_of(app)
    assert shown[("vigil_collector_refused_requests_total", (("reason", "wrong_key"), ("transport", "events")))] == 1
    assert shown[("vigil_collector_refused_requests_total", (("reason", "not_found"), ("transport", "other")))] == 1


def test_metrics_can_be_turned_off():
    app = build(GOOD)
    app.settings = dataclasses.replace(app.settings, collector_metrics=False)
    status, _, _ = request(app, "GET", "/metrics")
    assert status == 404
