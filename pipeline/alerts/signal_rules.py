"""The streaming signals (topic ``vigil.signals``): the fast path for error spikes.

``vigil signals`` (pipeline/stream/, beside the processor) publishes one message per project
and 1-minute tumbling window::

    {"project_id": 1, "window_start": "2025-06-01T12:00:00Z", "window_end": "2025-06-01T12:01:00Z",
     "events": 1840, "errors": 37, "error_rate": 0.0201, "api_failure_rate": 0.012,
     "p75": {"LCP": 2380.0, "INP": 160.0, "CLS": 0.04}}

(times as ISO 8601 or epoch milliseconds; rates as fractions 0–1; ``p75`` may omit vitals
nobody measured). Optional ``api_calls`` and ``samples`` (per vital, e.g. ``{"LCP": 412}``)
hold a signal to a rule's ``min_samples`` as the scheduled evaluation is; without them a
signal is judged on what it has. :class:`SignalWindows` keeps the last hour of them per
project and turns a new one into observations for the rules it can judge exactly:

- ``error_count`` and ``error_rate`` over any whole-minute window, summed from the window's
  signals — only once every minute of the window has its signal;
- ``api_failure_rate`` and ``vital_p75`` over a 1-minute window (a rate or a percentile of
  several minutes cannot be rebuilt from per-minute ones).

Signals carry no environment, release or route, so rules narrowed by those wait for the
minutely evaluation on the warehouse, like every other rule.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from pipeline.alerts.alert_metrics import Observation
from pipeline.queries.alert_rules import Rule

KEEP = timedelta(hours=1)
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Signal:
    """One window's aggregates for one project."""

    project_id: int
    window_start: datetime
    window_end: datetime
    events: int
    errors: int
    api_failure_rate: float | None = None  # fraction 0–1
    p75: dict[str, float] = field(default_factory=dict)
    api_calls: int | None = None  # None: the producer did not say
    samples: dict[str, int] | None = None  # per vital; None: the producer did not say

    @property
    def span(self) -> timedelta:
        return self.window_end - self.window_start


def parse_signal(message: bytes | str | dict[str, Any]) -> Signal:
    """A ``vigil.signals`` message → :class:`Signal`; ValueError says what is wrong with it."""
    raw = orjson.loads(message) if isinstance(message, (bytes, str)) else message
    if not isinstance(raw, dict):
        raise ValueError(f"a signal is a JSON object, got {type(raw).__name__}")
    missing = [name for name in ("project_id", "window_start", "window_end", "events", "errors") if name not in raw]
    if missing:
        raise ValueError(f"signal without {', '.join(missing)}")
    start, end = _time(raw["window_start"], "window_start"), _time(raw["window_end"], "window_end")
    if end <= start:
        raise ValueError(f"signal window_end {end} is not after window_start {start}")
    p75 = raw.get("p75") or {}
    if not isinstance(p75, dict):
        raise ValueError("signal p75 must be an object of vital name → value")
    samples = raw.get("samples")
    if samples is not None and not isinstance(samples, dict):
        raise ValueError("signal samples must be an object of vital name → count")
    return Signal(
        project_id=_count(raw["project_id"], "project_id"), window_start=start, window_end=end,
        events=_count(raw["events"], "events"), errors=_count(raw["errors"], "errors"),
        api_failure_rate=_fraction(raw.get("api_failure_rate"), "api_failure_rate"),
        p75={str(name): float(value) for name, value in p75.items()
             if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)},
        api_calls=None if raw.get("api_calls") is None else _count(raw["api_calls"], "api_calls"),
        samples=None if samples is None else {str(name): _count(count, f"samples of {name}")
                                              for name, count in samples.items()},
    )


def _time(value: Any, name: str) -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"signal {name} {value!r} is not an ISO 8601 time") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise ValueError(f"signal {name} must be an ISO 8601 time or epoch milliseconds, got {value!r}")


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or value != int(value):
        raise ValueError(f"signal {name} must be a whole number ≥ 0, got {value!r}")
    return int(value)


def _fraction(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ValueError(f"signal {name} must be a fraction between 0 and 1, got {value!r}")
    return float(value)


def judged_by_signals(rule: Rule) -> bool:
    """Can signals alone measure ``rule`` exactly?"""
    if not rule.spec.from_signals or rule.filters() or rule.window % MINUTE:
        return False
    if rule.metric in ("api_failure_rate", "vital_p75"):
        return rule.window == MINUTE
    return True


class SignalWindows:
    """The recent signals of every project, keyed by window start (a replayed signal replaces itself)."""

    def __init__(self, keep: timedelta = KEEP) -> None:
        self.keep = keep
        self._by_project: dict[int, dict[datetime, Signal]] = defaultdict(dict)

    def add(self, signal: Signal) -> None:
        windows = self._by_project[signal.project_id]
        windows[signal.window_start] = signal
        horizon = signal.window_end - self.keep
        for start in [start for start in windows if start < horizon]:
            del windows[start]

    def covering(self, project_id: int, end: datetime, span: timedelta) -> list[Signal] | None:
        """The signals exactly tiling ``[end - span, end)``, or None if any part is missing."""
        windows = self._by_project.get(project_id, {})
        found, at = [], end - span
        while at < end:
            signal = windows.get(at)
            if signal is None or signal.window_end > end:
                return None
            found.append(signal)
            at = signal.window_end
        return found

    def observations(self, rule: Rule, signal: Signal) -> list[Observation]:
        """What ``signal`` (already :meth:`add`-ed) says about ``rule``; empty if it cannot judge it."""
        if not judged_by_signals(rule):
            return []
        at = signal.window_end
        if rule.metric in ("api_failure_rate", "vital_p75"):
            if signal.span != rule.window:
                return []
            if rule.metric == "api_failure_rate":
                value = None if signal.api_failure_rate is None else round(signal.api_failure_rate * 100, 4)
                if signal.api_calls is None:
                    return [Observation("", value, at, signal.events, origin="signal")]
                if signal.api_calls == 0 or signal.api_calls < rule.min_samples:
                    value = None  # as the scheduled evaluation: too few calls to judge
                return [Observation("", value, at, signal.api_calls, origin="signal")]
            value = signal.p75.get(rule.vital)
            if signal.samples is None:
                return [Observation("", value, at, 0 if value is None else 1, origin="signal")]
            count = signal.samples.get(rule.vital, 0)
            if count < max(rule.min_samples, 1):
                value = None
            return [Observation("", value, at, count, origin="signal")]
        covered = self.covering(signal.project_id, at, rule.window)
        if covered is None:
            return []
        events, errors = sum(s.events for s in covered), sum(s.errors for s in covered)
        if rule.metric == "error_count":
            return [Observation("", float(errors), at, events, origin="signal")]
        if events == 0 or events < rule.min_samples:
            return [Observation("", None, at, events, origin="signal")]
        return [Observation("", round(errors / events * 100, 4), at, events,
                            {"count": str(errors), "of": str(events)}, origin="signal")]
