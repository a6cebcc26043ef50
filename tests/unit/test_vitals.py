"""pipeline.vitals: its thresholds are contract/vitals.json's, and ratings follow them."""

from __future__ import annotations

import json

import pytest

from pipeline import vitals
from pipeline.settings import REPO_ROOT

CONTRACT = json.loads((REPO_ROOT / "contract" / "vitals.json").read_text(encoding="utf-8"))


def test_the_thresholds_are_the_contracts_every_one_in_its_order():
    bounds = {name: entry for name, entry in CONTRACT.items() if not name.startswith("$")}
    assert vitals.VITAL_NAMES == tuple(bounds) == ("LCP", "INP", "CLS", "FCP", "TTFB", "LOAD", "TTI")
    for name, entry in bounds.items():
        threshold = vitals.THRESHOLDS[name]
        assert (threshold.good, threshold.poor, threshold.unit) == (entry["good"], entry["poor"], entry["unit"])
        assert getattr(vitals, name) is threshold


def test_tti_is_rated_with_lighthouses_bands_as_the_sdk_rates_it():
    assert vitals.rate("TTI", 3000) == "good"
    assert vitals.rate("TTI", 3800) == "good"
    assert vitals.rate("TTI", 3801) == "needs-improvement"
    assert vitals.rate("TTI", 7300) == "needs-improvement"
    assert vitals.rate("TTI", 7301) == "poor"


@pytest.mark.parametrize(("name", "value", "rating"), [
    ("LCP", 2500, "good"), ("LCP", 2500.1, "needs-improvement"), ("LCP", 4000.1, "poor"),
    ("CLS", 0.1, "good"), ("CLS", 0.25, "needs-improvement"), ("CLS", 0.26, "poor"),
    ("LOAD", 3000, "good"), ("LOAD", 6000, "needs-improvement"), ("LOAD", 6001, "poor"),
])
def test_a_bound_is_inside_its_band(name, value, rating):
    assert vitals.rate(name, value) == rating


def test_an_unknown_vital_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown web vital 'FID'; expected one of LCP, INP, CLS, FCP, TTFB, LOAD, TTI"):
        vitals.rate("FID", 10)


def test_values_read_the_way_people_read_them():
    assert vitals.format_value("LCP", 2430) == "2.43 s"
    assert vitals.format_value("INP", 180) == "180 ms"
    assert vitals.format_value("CLS", 0.081) == "0.08"
