"""The time ranges and their URL: every fixed range, a custom range of UTC days and the
comparison switch survive the round trip through the link (``?range=30d``,
``?range=custom&from=…&to=…``, ``?compare=false``); a value the page cannot use is named in one
line and replaced by the default. The range → filters → bar-width logic is checked on its own."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.settings import REPO_ROOT

APP_DIR = REPO_ROOT / "app"
INJECTION = "' OR 1=1 --"
NOW = datetime(2026, 12, 7, 10, 30, 15, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def app_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(APP_DIR))
    monkeypatch.delenv("VIGIL_ROLLUP_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("VIGIL_RETENTION_DAYS", raising=False)


def controls() -> None:
    """The sidebar's time controls alone, then the selection they make, as text."""
    import streamlit as st

    import view_filters

    st.session_state.setdefault("project", 1)
    view_filters.time_controls()
    selection = view_filters.current()
    assert selection is not None
    filters = selection.filters()
    st.text(f"{selection.range_key}|{selection.days}|{selection.compare}|{selection.bucket_minutes}|"
            f"{filters.start.isoformat()}|{filters.end.isoformat()}|{selection.time_range.label}")


def opened(**query_params: str) -> AppTest:
    app = AppTest.from_function(controls, default_timeout=30)
    app.query_params.update(query_params)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def shown(app: AppTest) -> dict[str, str]:
    key, days, compare, bucket, start, end, label = app.text[-1].value.split("|")
    return {"range": key, "days": days, "compare": compare, "bucket": bucket, "start": start, "end": end,
            "label": label}


# ── the pure logic ────────────────────────────────────────────────────────────────────────


def test_every_fixed_range_has_at_most_a_few_hundred_bars_in_whole_hours_past_a_day():
    import time_ranges

    for key, choice in time_ranges.TIME_RANGES.items():
        bars = choice.span / timedelta(minutes=choice.bucket_minutes)
        assert bars <= 360, key
        if choice.span > timedelta(days=1):
            assert choice.bucket_minutes % 60 == 0, f"{key}: the hourly rollups answer whole hours only"
    assert time_ranges.TIME_RANGES["30d"].bucket_minutes == 360
    assert time_ranges.TIME_RANGES["90d"].bucket_minutes == 1440


@pytest.mark.parametrize("days, bucket", [(1, 15), (2, 60), (7, 60), (8, 360), (31, 360), (32, 1440),
                                          (300, 1440), (301, 10080), (400, 10080)])
def test_a_custom_range_is_bucketed_by_its_length(days, bucket):
    import time_ranges

    choice = time_ranges.custom_range(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=days - 1))
    assert choice.span == timedelta(days=days) and choice.bucket_minutes == bucket
    assert choice.span / timedelta(minutes=bucket) <= 300


def test_custom_filters_are_whole_utc_days_and_stop_at_the_current_minute():
    import time_ranges

    past = time_ranges.custom_filters(3, date(2026, 11, 1), date(2026, 11, 30), NOW, device="mobile")
    assert (past.start, past.end) == (datetime(2026, 11, 1, tzinfo=timezone.utc),
                                      datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert past.device == "mobile" and past.previous().start == datetime(2026, 10, 2, tzinfo=timezone.utc)
    today = time_ranges.custom_filters(3, date(2026, 12, 1), date(2026, 12, 7), NOW)
    assert today.end == datetime(2026, 12, 7, 10, 31, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="starts on or before its last day"):
        time_ranges.custom_filters(3, date(2026, 12, 2), date(2026, 12, 1), NOW)
    with pytest.raises(ValueError, match="future"):
        time_ranges.custom_filters(3, date(2026, 12, 8), date(2026, 12, 9), NOW)


def test_the_raw_part_of_a_range_is_cut_at_the_raw_retention():
    import time_ranges
    from pipeline.queries import Filters

    cutoff = datetime(2026, 9, 8, 10, 30, tzinfo=timezone.utc)  # NOW − 90 days, whole minute
    recent = Filters.last_minutes(1, timedelta(days=30), NOW, route="/p/*")
    assert time_ranges.within_raw(recent, 90, NOW) is recent
    long = Filters.last_minutes(1, timedelta(days=120), NOW, route="/p/*")
    part = time_ranges.within_raw(long, 90, NOW)
    assert part is not None and (part.start, part.end, part.route) == (cutoff, long.end, "/p/*")
    assert time_ranges.within_raw(Filters(1, cutoff - timedelta(days=9), cutoff), 90, NOW) is None
    assert time_ranges.within_raw(long, 0, NOW) is long  # 0: raw events kept forever


# ── the URL round trip ────────────────────────────────────────────────────────────────────


def test_no_parameters_show_the_last_hour_compared():
    app = opened()
    assert shown(app)["range"] == "1h" and shown(app)["compare"] == "True" and not app.error
    assert "range" not in app.query_params and "compare" not in app.query_params


@pytest.mark.parametrize("key, bucket, days", [("15m", 1, None), ("1h", 1, None), ("6h", 5, None), ("24h", 60, None),
                                               ("7d", 60, 7), ("30d", 360, 30), ("90d", 1440, 90)])
def test_every_fixed_range_in_the_link_is_shown_and_kept(key, bucket, days):
    app = opened(range=key)
    view = shown(app)
    assert not app.error and view["range"] == key and view["bucket"] == str(bucket)
    span = datetime.fromisoformat(view["end"]) - datetime.fromisoformat(view["start"])
    assert days is None or span == timedelta(days=days)
    assert app.query_params.get("range") in (key, None if key == "1h" else key)


def test_what_the_pickers_choose_opens_again_from_its_link():
    """Streamlit's front end writes a bound widget's value into the URL under its key (AppTest does
    not run it): each control is bound under its parameter, and the link that its values make
    (range key, ``false``, ISO dates) opens the same selection."""
    app = opened()
    app.segmented_control(key="range").set_value("custom").run()
    app.toggle(key="compare").set_value(False).run()
    today = datetime.now(timezone.utc).date()
    assert app.date_input(key="from").value == today - timedelta(days=29) and app.date_input(key="to").value == today
    app.date_input(key="from").set_value(today - timedelta(days=9)).run()
    app.date_input(key="to").set_value(today - timedelta(days=2)).run()
    chosen = shown(app)
    assert chosen["range"] == "custom" and chosen["compare"] == "False"
    assert chosen["days"] == str((today - timedelta(days=9), today - timedelta(days=2)))
    bound = {"range": app.segmented_control(key="range"), "compare": app.toggle(key="compare"),
             "from": app.date_input(key="from"), "to": app.date_input(key="to")}
    assert {name: widget.proto.query_param_key for name, widget in bound.items()} == {name: name for name in bound}
    link = {"range": "custom", "compare": "false", "from": (today - timedelta(days=9)).isoformat(),
            "to": (today - timedelta(days=2)).isoformat()}
    assert shown(opened(**link)) == chosen
    for key in ("30d", "90d"):
        app.segmented_control(key="range").set_value(key).run()
        assert shown(app)["range"] == key and shown(opened(range=key, compare="false")) == shown(app)


def test_a_custom_range_in_the_link_is_those_utc_days():
    today = datetime.now(timezone.utc).date()
    first, last = today - timedelta(days=40), today - timedelta(days=11)
    app = opened(range="custom", **{"from": first.isoformat(), "to": last.isoformat()}, compare="false")
    view = shown(app)
    assert not app.error and view["days"] == str((first, last)) and view["compare"] == "False"
    assert view["start"] == f"{first.isoformat()}T00:00:00+00:00"
    assert view["end"] == f"{(last + timedelta(days=1)).isoformat()}T00:00:00+00:00"
    assert view["bucket"] == "360" and view["label"] == f"{first} to {last} (UTC)"
    assert (app.query_params["range"], app.query_params["from"], app.query_params["to"]) == (
        "custom", first.isoformat(), last.isoformat())


def test_a_day_in_the_pickers_other_form_is_read_as_that_day():
    today = datetime.now(timezone.utc).date()
    first = today - timedelta(days=3)
    app = opened(range="custom", **{"from": f"{first:%Y/%m/%d}"})
    assert not app.error and shown(app)["days"] == str((first, today))


def test_a_custom_range_given_backwards_is_said_and_shown_the_right_way_round():
    today = datetime.now(timezone.utc).date()
    first, last = today - timedelta(days=3), today - timedelta(days=10)
    app = opened(range="custom", **{"from": first.isoformat(), "to": last.isoformat()})
    assert not app.error and len(app.sidebar.warning) == 1 and "after its last" in app.sidebar.warning[0].value
    assert shown(app)["days"] == str((last, first))


def bad_cases() -> list[tuple[str, dict[str, str]]]:
    today = datetime.now(timezone.utc).date()
    return [
        ("range", {"range": "5y"}), ("range", {"range": INJECTION}), ("range", {"range": "30D"}),
        ("from", {"range": "custom", "from": "2026-13-01"}), ("from", {"range": "custom", "from": INJECTION}),
        ("from", {"range": "custom", "from": f"{today - timedelta(days=3):%Y%m%d}"}),  # ISO, but not the picker's
        ("from", {"range": "custom", "from": (today + timedelta(days=1)).isoformat()}),
        ("from", {"range": "custom", "from": (today - timedelta(days=400)).isoformat()}),  # older than the rollups
        ("to", {"range": "custom", "to": "yesterday"}), ("to", {"to": "x" * 500}),
        ("compare", {"compare": "previous-year"}), ("compare", {"compare": INJECTION}),
    ]


@pytest.mark.parametrize("name, params", bad_cases(), ids=[f"{n}-{i}" for i, (n, _) in enumerate(bad_cases())])
def test_a_bad_value_is_named_in_one_line_and_the_default_shown(name, params):
    app = opened(**params)
    (error,) = app.error
    assert f"`{name}`" in error.value and "\n" not in error.value
    assert params[name] not in error.value  # what the link said is not echoed into markdown
    assert name not in app.query_params  # dropped from the link
    view = shown(app)
    if name == "range":
        assert view["range"] == "1h"
    if name == "compare":
        assert view["compare"] == "True"
    if params.get("range") == "custom":
        today = datetime.now(timezone.utc).date()
        default = today - timedelta(days=29) if name == "from" else today
        assert repr(default) in view["days"]


@pytest.mark.parametrize("key", ["7d", "30d", "90d", "custom"])
@pytest.mark.parametrize("family", ["traffic", "web_vitals", "api_calls"])
def test_long_ranges_are_answered_from_the_hourly_rollups_but_for_their_edges(key, family):
    import time_ranges
    from pipeline.queries import Filters, pick_source

    first, last = date(2026, 9, 1), date(2026, 11, 30)
    if key == "custom":
        filters = time_ranges.custom_filters(1, first, last, NOW)
        bucket = time_ranges.custom_range(first, last).bucket_minutes
    else:
        filters = Filters.last_minutes(1, time_ranges.TIME_RANGES[key].span, NOW)
        bucket = time_ranges.TIME_RANGES[key].bucket_minutes
    for per_bucket in (None, bucket):
        source = pick_source(filters, family, per_bucket)
        hours = datetime.fromisoformat(source.hours_end) - datetime.fromisoformat(source.hours_start)
        assert hours >= filters.span - timedelta(hours=1), "the hourly rollup answers all but the edges"
    source = pick_source(time_ranges.custom_filters(1, first, last, NOW, device="mobile"), family, bucket)
    assert source.hours_start == source.hours_end, "a dimension the hourly rollup lacks: the minutes answer"
