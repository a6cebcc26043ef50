"""What one minute of a project's samples adds up to: the pure half of ``vigil signals``.

The processor hands each stored event over as a small :data:`~pipeline.stream.samples.Sample`
(is it an error, an API call, a failed one, which Web Vital it measured:
:mod:`pipeline.stream.samples`, where the definitions are); Quix Streams' tumbling window
folds a minute of samples with the aggregations of :func:`aggregations`; :func:`signal_of`
turns the closed window into the ``vigil.signals`` message that
``pipeline.alerts.signal_rules.parse_signal`` reads, and :func:`signal_row` into a
``signals_minute`` row:

- ``events``: every stored event; ``errors``: events of type ``error`` (``traffic_totals``);
- ``api_failures``: ``api_call`` events with HTTP status ≥ 400 or none at all (network
  error, timeout), as ``api_call_totals`` counts them;
- ``p75``: the exact 75th percentile of the minute's samples of each of :data:`SIGNAL_VITALS`,
  with linear interpolation between the order statistics around rank 0.75·(n−1) — numpy's
  and polars' default, and what the dashboards' rollup percentiles approximate within 1 %.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

import numpy as np
from quixstreams.dataframe.windows.aggregations import Collector, Count, Sum

from pipeline import contract
from pipeline.stream.samples import SIGNAL_VITALS, Sample

__all__ = ["COLUMNS", "SIGNAL_VITALS", "Sample", "VitalPercentiles", "aggregations", "event_time", "iso_ms",
           "p75", "parse_iso", "signal_of", "signal_row"]

P75 = 0.75

# signals_minute's columns, in signal_row's order
COLUMNS: tuple[str, ...] = (
    "project_id", "minute", "events", "errors", "error_rate", "api_calls", "api_failures", "api_failure_rate",
    *(f"p75_{name.lower()}" for name in SIGNAL_VITALS),
    *(f"samples_{name.lower()}" for name in SIGNAL_VITALS),
    "emitted_at",
)


def event_time(sample: Sample, key: Any, timestamp: int, headers: Any) -> int:
    """Quix's timestamp hook (``set_timestamp``): window by event time, not Kafka's append time."""
    return sample["at"]


class VitalPercentiles(Collector):
    """p75 and sample count per Web Vital, from the ``vital`` of every sample in the window.

    A collector, not an aggregator: Quix serialises an aggregator's whole state on every
    update, so an exact percentile's growing list of values would cost O(n) per event. A
    collector stores each sample once, as its own state entry, and reads them back when the
    window closes.
    """

    def __init__(self, column: str = "vital") -> None:
        super().__init__(column)

    def result(self, items: Iterable[Any]) -> dict[str, dict[str, float]]:
        """``{"LCP": {"p75": 2380.0, "samples": 42}, …}``; vitals without samples are left out."""
        by_vital: dict[str, list[float]] = {}
        for item in items:
            if item is not None:
                name, value = item
                by_vital.setdefault(name, []).append(value)
        return {name: {"p75": p75(values), "samples": len(values)}
                for name, values in sorted(by_vital.items(), key=lambda pair: SIGNAL_VITALS.index(pair[0]))}


def p75(values: list[float]) -> float:
    """The 75th percentile with linear interpolation (numpy's default method)."""
    return float(np.quantile(np.asarray(values, dtype=np.float64), P75))


def aggregations() -> dict[str, Any]:
    """The window's columns: Quix Streams' built-in Count and Sum, and :class:`VitalPercentiles`."""
    return {
        "events": Count(),
        "errors": Sum("error"),
        "api_calls": Sum("api_call"),
        "api_failures": Sum("api_failure"),
        "vitals": VitalPercentiles("vital"),
    }


def signal_of(window: dict[str, Any], project_id: int) -> dict[str, Any]:
    """A closed window (Quix's ``{"start", "end", <aggregations>}``) → the ``vigil.signals`` message.

    The shape ``pipeline.alerts.signal_rules`` documents, plus ``api_calls``, ``api_failures`` and
    ``samples`` (per vital), which let the alerts hold a signal to a rule's ``min_samples``.
    """
    events, errors = window["events"], window["errors"]
    api_calls, api_failures = window["api_calls"], window["api_failures"]
    vitals = window["vitals"]
    return {
        "project_id": project_id,
        "window_start": iso_ms(window["start"]),
        "window_end": iso_ms(window["end"]),
        "events": events,
        "errors": errors,
        "error_rate": errors / events if events else 0.0,
        "api_calls": api_calls,
        "api_failures": api_failures,
        "api_failure_rate": api_failures / api_calls if api_calls else None,
        "p75": {name: summary["p75"] for name, summary in vitals.items()},
        "samples": {name: summary["samples"] for name, summary in vitals.items()},
    }


def signal_row(signal: dict[str, Any], emitted_at: datetime | None = None) -> tuple:
    """A signal → its ``signals_minute`` row (:data:`COLUMNS` order)."""
    p75s, samples = signal["p75"], signal["samples"]
    return (
        signal["project_id"],
        parse_iso(signal["window_start"]),
        signal["events"],
        signal["errors"],
        signal["error_rate"],
        signal["api_calls"],
        signal["api_failures"],
        signal["api_failure_rate"],
        *(p75s.get(name) for name in SIGNAL_VITALS),
        *(samples.get(name, 0) for name in SIGNAL_VITALS),
        emitted_at or datetime.now(timezone.utc),
    )


def iso_ms(epoch_milliseconds: int) -> str:
    """Epoch ms → ``2025-06-01T12:00:00Z`` (a window bound is always a whole second)."""
    when = datetime.fromtimestamp(epoch_milliseconds / 1000, timezone.utc)
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(text: str) -> datetime:
    """The inverse of :func:`iso_ms`."""
    return contract.parse_timestamp(text)
