"""Web Vitals: the metrics Vigil rates, and Google's good / needs-improvement / poor thresholds.

One place for the thresholds, beside the metric they rate, so the simulator, the processor's
enrichment, the dashboards and the alerts all draw the same lines. Sources:
https://web.dev/articles/vitals (LCP, INP, CLS), https://web.dev/articles/fcp,
https://web.dev/articles/ttfb. ``LOAD`` (loadEventEnd) and ``TTI`` (domInteractive, the
write-up's simplification) have no official thresholds; the ones here are the write-up's
"fast page" rules of thumb and are marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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


# Largest Contentful Paint: 2.5 s / 4 s at the 75th percentile of page loads
LCP = Threshold(2500, 4000)
# Interaction to Next Paint: 200 ms / 500 ms
INP = Threshold(200, 500)
# Cumulative Layout Shift: unitless score, 0.1 / 0.25
CLS = Threshold(0.1, 0.25, unit="")
# First Contentful Paint: 1.8 s / 3 s
FCP = Threshold(1800, 3000)
# Time to First Byte: 0.8 s / 1.8 s
TTFB = Threshold(800, 1800)
# Page load time (loadEventEnd): not a Core Web Vital; rule of thumb 3 s / 6 s
LOAD = Threshold(3000, 6000)
# Time to interactive (domInteractive): not a Core Web Vital; rule of thumb 2.5 s / 5 s
TTI = Threshold(2500, 5000)

THRESHOLDS: dict[str, Threshold] = {
    "LCP": LCP, "INP": INP, "CLS": CLS, "FCP": FCP, "TTFB": TTFB, "LOAD": LOAD, "TTI": TTI,
}
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
