"""The signals' aggregation logic (pipeline/stream/signal_windows.py) without Kafka: what an event
counts as (the sample the processor hands over, pipeline/stream/samples.py), what a minute of
samples adds up to, and the p75 against numpy and polars."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import orjson
import polars as pl
import pytest

from pipeline.alerts.signal_rules import parse_signal
from pipeline.stream.batches import process
from pipeline.stream.processor import processor_steps
from pipeline.stream.samples import pack, unpack
from pipeline.stream.signal_stream import SignalCounters, samples_of
from pipeline.stream.signal_windows import (
    COLUMNS, SIGNAL_VITALS, VitalPercentiles, aggregations, p75, signal_of, signal_row,
)
from pipeline.stream.steps import Options

STEPS = processor_steps(Options())

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
RECEIVED = datetime(2026, 3, 2, 9, 30, 20, tzinfo=timezone.utc)


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event(event_type: str, data: dict[str, Any], *, at: datetime = RECEIVED - timedelta(seconds=5),
          n: int = 0) -> dict[str, Any]:
    """An event as the collector stamps it (received at :data:`RECEIVED`)."""
    return {"event_id": f"event-{n:06d}", "timestamp": iso(at), "session_id": "session-0001", "visitor_id": "visitor-0001",
            "type": event_type, "data": data, "page": {"url": "https://shop.example.com/cart"},
            "project_id": 7, "received_at": iso(RECEIVED), "client": {"ip": "198.51.100.7", "user_agent": UA}}


def sample(raw_event: dict[str, Any]) -> dict[str, Any]:
    """Through the processor's steps to its row, packed as the processor sends it, unpacked as the
    signals read it."""
    outcome = process(orjson.dumps(raw_event), STEPS)
    assert outcome.row is not None, f"dropped: {outcome.dead_letter}"
    ((project, value),) = pack([outcome.row])
    assert project == raw_event["project_id"]
    (result,) = samples_of(value, str(project), SignalCounters())
    return result


def fold(samples: list[dict[str, Any]], start: int = 0) -> dict[str, Any]:
    """What Quix Streams' window does with the aggregations: fold each sample in, then read the results."""
    window: dict[str, Any] = {"start": start, "end": start + 60_000}
    for name, aggregation in aggregations().items():
        if isinstance(aggregation, VitalPercentiles):
            window[name] = aggregation.result([s[aggregation.column] for s in samples])
            continue
        state = aggregation.initialize()
        for item in samples:
            state = aggregation.agg(state, item, item["at"])
        window[name] = aggregation.result(state)
    return window


# ── the p75 ─────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 100, 1001])
def test_p75_equals_numpys_and_polars_linear_quantile_on_random_samples(size):
    rng = random.Random(size)
    values = [rng.lognormvariate(7.5, 0.6) for _ in range(size)]
    expected_numpy = float(np.percentile(values, 75))
    expected_polars = pl.Series(values).quantile(0.75, interpolation="linear")
    assert p75(values) == pytest.approx(expected_numpy, rel=1e-12)
    assert p75(values) == pytest.approx(expected_polars, rel=1e-12)


def test_p75_interpolates_between_the_order_statistics_around_rank_three_quarters_of_n_minus_1():
    # rank 0.75·(5-1) = 3 → the 4th smallest; with 4 values rank 2.25 → a quarter from the 3rd to the 4th
    assert p75([500.0, 100.0, 300.0, 200.0, 400.0]) == 400.0
    assert p75([100.0, 200.0, 300.0, 400.0]) == 325.0


def test_percentiles_are_per_vital_and_events_without_a_vital_are_ignored():
    rng = random.Random(3)
    lcp = [rng.uniform(800, 6000) for _ in range(250)]
    cls = [rng.choice([0.0, 0.01, 0.2, 0.4]) for _ in range(90)]
    items: list[Any] = [["LCP", v] for v in lcp] + [["CLS", v] for v in cls] + [None] * 40
    rng.shuffle(items)
    result = VitalPercentiles().result(items)
    assert list(result) == ["LCP", "CLS"]  # the dashboards' order; INP, FCP, TTFB unmeasured: absent
    assert result["LCP"] == {"p75": pytest.approx(float(np.percentile(lcp, 75))), "samples": 250}
    assert result["CLS"] == {"p75": pytest.approx(float(np.percentile(cls, 75))), "samples": 90}


# ── what an event counts as ─────────────────────────────────────────────────────────────────


def test_an_error_counts_as_an_error_and_nothing_else():
    s = sample(event("error", {"kind": "js", "type": "TypeError", "message": "x is undefined"}))
    assert (s["error"], s["api_call"], s["api_failure"], s["vital"]) == (1, 0, 0, None)


@pytest.mark.parametrize(("data", "failed"), [
    ({"method": "GET", "url": "https://shop.example.com/api/cart", "status": 200, "duration": 40.0}, 0),
    ({"method": "GET", "url": "https://shop.example.com/api/cart", "status": 399, "duration": 40.0}, 0),
    ({"method": "POST", "url": "https://shop.example.com/api/pay", "status": 400, "duration": 40.0}, 1),
    ({"method": "POST", "url": "https://shop.example.com/api/pay", "status": 503, "duration": 40.0}, 1),
    ({"method": "POST", "url": "https://shop.example.com/api/pay", "status": 0, "duration": 40.0}, 1),
    ({"method": "POST", "url": "https://shop.example.com/api/pay", "duration": 40.0}, 1),  # no response at all
])
def test_an_api_call_fails_with_status_400_or_more_or_without_one(data, failed):
    s = sample(event("api_call", data))
    assert (s["api_call"], s["api_failure"], s["error"]) == (1, failed, 0)


def test_only_the_five_signal_vitals_carry_a_value():
    assert sample(event("web_vital", {"name": "INP", "value": 180, "rating": "good"}))["vital"] == ["INP", 180.0]
    assert sample(event("web_vital", {"name": "LOAD", "value": 2100.0, "rating": "good"}))["vital"] is None
    assert SIGNAL_VITALS == ("LCP", "INP", "CLS", "FCP", "TTFB")


def test_the_window_time_is_the_events_own_time_but_never_after_the_collector_received_it():
    early = RECEIVED - timedelta(minutes=3, seconds=1)
    assert sample(event("page_view", {}, at=early))["at"] == int(early.timestamp() * 1000)
    ahead = sample({**event("page_view", {}), "timestamp": iso(RECEIVED + timedelta(hours=2))})
    assert ahead["at"] == int(RECEIVED.timestamp() * 1000)


def test_a_message_that_is_not_whole_samples_is_counted_as_malformed_not_as_events():
    counters = SignalCounters()
    good = pack([process(orjson.dumps(event("page_view", {})), STEPS).row])[0][1]
    assert samples_of(good[:-1], "7", counters) == []  # not whole records
    assert samples_of(b"", "7", counters) == []
    assert samples_of(good, "not-a-project", counters) == []
    assert samples_of(good[:8] + bytes([7 << 3]) + good[9:], "7", counters) == []  # vital #7 of 5
    assert (counters.consumed, counters.malformed) == (0, 4)
    assert len(samples_of(good * 3, "7", counters)) == 3 and counters.consumed == 3
    with pytest.raises(ValueError, match="whole 17-byte records"):
        unpack(b"\x00" * 5)


# ── what a minute adds up to ────────────────────────────────────────────────────────────────


def test_error_rate_and_api_failure_rate_of_a_random_minute():
    rng = random.Random(11)
    events, errors, calls, failures, lcp = 0, 0, 0, 0, []
    samples = []
    for n in range(600):
        kind = rng.choice(["page_view", "error", "api_call", "web_vital", "click"])
        if kind == "error":
            raw = event("error", {"kind": "js", "type": "Error", "message": "boom"}, n=n)
            errors += 1
        elif kind == "api_call":
            status = rng.choice([200, 201, 304, 404, 500, 0])
            raw = event("api_call", {"method": "GET", "url": "https://shop.example.com/api", "status": status,
                                     "duration": 12.0}, n=n)
            calls += 1
            failures += status == 0 or status >= 400
        elif kind == "web_vital":
            value = round(rng.uniform(500, 5000), 1)
            raw = event("web_vital", {"name": "LCP", "value": value, "rating": "good"}, n=n)
            lcp.append(value)
        else:
            raw = event(kind, {"navigation_type": "navigate"} if kind == "page_view" else {"selector": "a"}, n=n)
        samples.append(sample(raw))
        events += 1

    signal = signal_of(fold(samples, start=1_772_443_800_000), 7)
    assert (signal["events"], signal["errors"], signal["api_calls"], signal["api_failures"]) == (
        events, errors, calls, failures)
    assert signal["error_rate"] == pytest.approx(errors / events)
    assert signal["api_failure_rate"] == pytest.approx(failures / calls)
    assert signal["p75"] == {"LCP": pytest.approx(float(np.percentile(lcp, 75)))}
    assert signal["samples"] == {"LCP": len(lcp)}
    assert (signal["window_start"], signal["window_end"]) == ("2026-03-02T09:30:00Z", "2026-03-02T09:31:00Z")


def test_a_minute_without_api_calls_has_no_api_failure_rate_rather_than_zero():
    signal = signal_of(fold([sample(event("page_view", {"navigation_type": "navigate"}))]), 7)
    assert signal["api_calls"] == 0 and signal["api_failure_rate"] is None
    assert signal["p75"] == {} and signal["error_rate"] == 0.0


def test_the_alerts_consumer_reads_the_signal_the_window_makes():
    samples = [sample(event("error", {"kind": "js", "type": "Error", "message": "boom"})),
               sample(event("api_call", {"method": "GET", "url": "https://a.example/api", "status": 502,
                                         "duration": 3.0})),
               sample(event("web_vital", {"name": "TTFB", "value": 640.0, "rating": "good"}))]
    message = signal_of(fold(samples, start=1_772_443_800_000), 7)
    parsed = parse_signal(orjson.dumps(message))
    assert (parsed.project_id, parsed.events, parsed.errors, parsed.api_failure_rate) == (7, 3, 1, 1.0)
    assert parsed.p75 == {"TTFB": 640.0}
    assert parsed.span == timedelta(minutes=1)
    assert parsed.window_start == datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)


def test_a_signal_becomes_one_row_of_signals_minute():
    message = signal_of(fold([sample(event("web_vital", {"name": "CLS", "value": 0.12, "rating": "needs-improvement"}))],
                             start=1_772_443_800_000), 7)
    row = dict(zip(COLUMNS, signal_row(message)))
    assert len(signal_row(message)) == len(COLUMNS)
    assert row["minute"] == datetime(2026, 3, 2, 9, 30, tzinfo=timezone.utc)
    assert (row["events"], row["p75_cls"], row["samples_cls"], row["p75_lcp"], row["samples_lcp"]) == (
        1, 0.12, 1, None, 0)
