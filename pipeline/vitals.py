"""Web Vitals: the metrics Vigil rates, and their good / needs-improvement / poor thresholds.

The thresholds are read from ``contract/vitals.json``, the one source the SDK
(``sdk-js/src/navigation.ts``, and web-vitals' own, checked by ``sdk-js/test/thresholds.test.ts``),
the processor's ratings (``events.vital_rating``, which the rollups group by), the simulator,
the dashboards and the alerts all draw their lines from. The file names where each comes from:
Google's for LCP, INP, CLS, FCP and TTFB; Lighthouse's for ``TTI`` (domInteractive, the
write-up's simplification); a rule of thumb for ``LOAD`` (loadEventEnd), which has none.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipeline.settings import REPO_ROOT

CONTRACT_FILE = REPO_ROOT / "contract" / "vitals.json"

Rating = Literal["good", "needs-improvement", "poor"]
RATINGS: tuple[Rating, ...] = ("good", "needs-improvement", "poor")


@dataclass(frozen=True, slots=True)
class Threshold:
    """A value ≤ ``good`` is good, ≤ ``poor`` needs improvement, above it is poor."""

    good: float
    poor: float
    unit: Literal["ms", ""] = "ms"

    def rate(self, value: float) -> Rating:
        if value <= self.good:
            return "good"
        if value <= self.poor:
            return "needs-improvement"
        return "poor"


def _load(path: Path = CONTRACT_FILE) -> dict[str, Threshold]:
    """``{name: Threshold}`` in the file's order; keys starting with ``$`` are comments."""
    entries = json.loads(path.read_text(encoding="utf-8"))
    return {name: Threshold(entry["good"], entry["poor"], entry["unit"])
            for name, entry in entries.items() if not name.startswith("$")}


THRESHOLDS: dict[str, Threshold] = _load()
LCP, INP, CLS, FCP, TTFB, LOAD, TTI = (THRESHOLDS[name] for name in ("LCP", "INP", "CLS", "FCP", "TTFB", "LOAD", "TTI"))
# the order dashboards show them in: Core Web Vitals first
VITAL_NAMES: tuple[str, ...] = tuple(THRESHOLDS)


def rate(name: str, value: float) -> Rating:
    """Rate one measurement (or a percentile) of the vital ``name``, e.g. ``rate("LCP", 2834.5)``."""
    try:
        return THRESHOLDS[name].rate(value)
    except KeyError:
        raise ValueError(f"unknown web vital {name!r}; expected one of {', '.join(VITAL_NAMES)}") from None


def format_value(name: str, value: float) -> str:
    """A vital's value the way people read it: ``2.43 s``, ``180 ms``, ``0.08``."""
    if THRESHOLDS[name].unit == "":
        return f"{value:.2f}"
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.0f} ms"
