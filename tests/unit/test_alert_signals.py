"""The processor's 1-minute signals as alert observations: parsed strictly, summed over a rule's
window only when every minute is there, and used only for the rules they measure exactly."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pipeline.queries.alert_rules import parse_rule
from pipeline.alerts.signal_rules import SignalWindows, judged_by_signals, parse_signal

T0 = datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc)


def message(minute: int, events: int = 100, errors: int = 0, **extra) -> dict:
    start = T0 + timedelta(minutes=minute)
    return {"project_id": 1, "window_start": start.isoformat().replace("+00:00", "Z"),
            "window_end": (start + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "events": events, "errors": errors, "error_rate": errors / events if events else 0.0, **extra}


def rule(**definition):
    return parse_rule({"id": "r", "metric": "error_count", "project": 1, "threshold": 10, **definition})


def test_a_signal_message_parses_with_iso_or_epoch_times():
    signal = parse_signal(b'{"project_id": 3, "window_start": "2025-06-02T12:00:00Z", "window_end": 1748865660000,'
                          b' "events": 10, "errors": 2, "error_rate": 0.2, "api_failure_rate": 0.5,'
                          b' "p75": {"LCP": 2400.5, "INP": null}}')
    assert (signal.project_id, signal.window_start, signal.window_end) == (3, T0, T0 + timedelta(minutes=1))
    assert (signal.events, signal.errors, signal.api_failure_rate, signal.p75) == (10, 2, 0.5, {"LCP": 2400.5})


@pytest.mark.parametrize(("raw", "problem"), [
    ({"project_id": 1}, "signal without window_start, window_end, events, errors"),
    ({**message(0), "events": -1}, "signal events must be a whole number ≥ 0, got -1"),
    ({**message(0), "window_start": "noon"}, "signal window_start 'noon' is not an ISO 8601 time"),
    ({**message(0), "api_failure_rate": 3}, "signal api_failure_rate must be a fraction between 0 and 1, got 3"),
    ({**message(0), "window_end": message(0)["window_start"]}, "is not after window_start"),
])
def test_a_malformed_signal_says_what_is_wrong(raw, problem):
    with pytest.raises(ValueError, match=problem):
        parse_signal(raw)


def test_error_counts_sum_over_the_window_once_every_minute_is_there():
    windows, five_minutes = SignalWindows(), rule(window="5m")
    observations = []
    for minute in range(5):
        signal = parse_signal(message(minute, errors=3))
        windows.add(signal)
        observations.append(windows.observations(five_minutes, signal))
    assert observations[:4] == [[], [], [], []]  # not yet five minutes of signals
    (last,) = observations[4]
    assert (last.value, last.samples, last.at, last.origin) == (15.0, 500, T0 + timedelta(minutes=5), "signal")


def test_a_missing_minute_means_no_judgement_rather_than_an_undercount():
    windows, three_minutes = SignalWindows(), rule(window="3m")
    for minute in (0, 2):
        windows.add(parse_signal(message(minute, errors=9)))
    signal = parse_signal(message(3, errors=9))
    windows.add(signal)
    assert windows.observations(three_minutes, signal) == []


def test_a_replayed_signal_replaces_its_window_instead_of_counting_twice():
    windows, two_minutes = SignalWindows(), rule(window="2m")
    windows.add(parse_signal(message(0, errors=4)))
    windows.add(parse_signal(message(0, errors=4)))
    signal = parse_signal(message(1, errors=1))
    windows.add(signal)
    assert windows.observations(two_minutes, signal)[0].value == 5.0


def test_error_rate_is_errors_over_events_in_percent():
    windows = SignalWindows()
    signal = parse_signal(message(0, events=400, errors=10))
    windows.add(signal)
    assert windows.observations(rule(metric="error_rate", threshold=1, window="1m"), signal)[0].value == 2.5


def test_one_minute_api_failure_rates_and_percentiles_come_straight_from_the_signal():
    windows = SignalWindows()
    signal = parse_signal(message(0, api_failure_rate=0.125, p75={"LCP": 3100.0}))
    windows.add(signal)
    api = rule(metric="api_failure_rate", window="1m")
    lcp = rule(metric="vital_p75", vital="LCP", threshold=2500, window="1m")
    inp = rule(metric="vital_p75", vital="INP", threshold=200, window="1m")
    assert windows.observations(api, signal)[0].value == 12.5
    assert windows.observations(lcp, signal)[0].value == 3100.0
    assert windows.observations(inp, signal)[0].value is None  # nobody interacted this minute


def test_only_rules_signals_measure_exactly_are_judged_by_them():
    assert judged_by_signals(rule(window="10m"))
    assert not judged_by_signals(rule(window="10m", filters={"environment": "production"}))  # signals are per project
    assert not judged_by_signals(rule(metric="api_failure_rate", window="5m"))  # rates of minutes don't add up
    assert not judged_by_signals(rule(metric="vital_p75", vital="LCP", window="5m"))
    assert not judged_by_signals(rule(metric="new_error_group", threshold=0))
    assert not judged_by_signals(rule(metric="page_view_drop"))
    assert not judged_by_signals(rule(window="90s"))


def test_a_signal_with_api_calls_and_vital_samples_is_held_to_the_rules_min_samples():
    windows = SignalWindows()
    signal = parse_signal(message(0, api_calls=8, api_failures=2, api_failure_rate=0.25, p75={"LCP": 3100.0},
                                  samples={"LCP": 12}))
    windows.add(signal)
    api, lcp = rule(metric="api_failure_rate", window="1m"), rule(metric="vital_p75", vital="LCP", window="1m")
    assert [(o.value, o.samples) for o in windows.observations(api, signal)] == [(25.0, 8)]
    assert [(o.value, o.samples) for o in windows.observations(lcp, signal)] == [(3100.0, 12)]
    # as the scheduled evaluation: fewer calls or samples than min_samples → nothing to judge
    assert windows.observations(rule(metric="api_failure_rate", window="1m", min_samples=10), signal)[0].value is None
    assert windows.observations(rule(metric="vital_p75", vital="LCP", window="1m", min_samples=20),
                                signal)[0].value is None


def test_a_signal_says_what_is_wrong_with_its_sample_counts():
    with pytest.raises(ValueError, match="signal samples of LCP must be a whole number ≥ 0, got -3"):
        parse_signal(message(0, samples={"LCP": -3}))
    with pytest.raises(ValueError, match="signal samples must be an object"):
        parse_signal(message(0, samples=[1, 2]))
