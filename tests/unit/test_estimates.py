"""What long ranges estimate (pipeline.queries.tiers.estimated): where the line is, and the p75
change from two periods' Web Vitals summaries."""

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from pipeline import queries
from pipeline.queries import Filters

END = datetime(2026, 12, 7, 12, tzinfo=timezone.utc)


def test_people_past_seven_days_and_p75_changes_past_a_day_are_estimated():
    assert queries.ESTIMATED_PAST == {"people": timedelta(days=7), "p75_change": timedelta(hours=24)}
    week, day = Filters(1, END - timedelta(days=7), END), Filters(1, END - timedelta(hours=24), END)
    assert not queries.estimated(week, "people") and queries.estimated(week, "p75_change")
    assert not queries.estimated(day, "p75_change")
    assert queries.estimated(Filters(1, END - timedelta(days=7, minutes=1), END), "people")
    assert queries.estimated(Filters(1, END - timedelta(hours=24, minutes=1), END), "p75_change")


def test_an_unknown_figure_is_refused():
    with pytest.raises(ValueError, match="people, p75_change"):
        queries.estimated(Filters(1, END - timedelta(days=1), END), "visitors")


def test_the_estimated_p75_change_is_the_difference_of_both_summaries():
    now = pl.DataFrame({"vital": ["LCP", "CLS", "INP"], "samples": [10, 4, 2], "p75": [2600.0, 0.12, 180.0]})
    before = pl.DataFrame({"vital": ["LCP", "CLS", "TTFB"], "samples": [9, 5, 3], "p75": [2500.0, 0.10, 700.0]})
    changes = queries.vital_p75_change_estimated(now, before).sort("vital")
    assert changes.columns == ["vital", "p75", "p75_before", "change"]
    rows = {row["vital"]: row for row in changes.iter_rows(named=True)}
    assert rows["LCP"]["change"] == 100.0
    assert abs(rows["CLS"]["change"] - 0.02) < 1e-12
    # a vital measured in one period only has no change
    assert (rows["INP"]["p75_before"], rows["INP"]["change"]) == (None, None)
    assert (rows["TTFB"]["p75"], rows["TTFB"]["change"]) == (None, None)
