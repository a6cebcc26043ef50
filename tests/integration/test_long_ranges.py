"""The Overview and Traffic pages at 30 days, 90 days and a custom range of UTC days, with the
comparison to the period before, run by Streamlit's AppTest against the real warehouse loaded
with four months of traffic: every number shown, and every change, equals an independent polars
recomputation of the same events; the trend's previous period lies on this period's axis; and
where the raw events' retention (``VIGIL_RETENTION_DAYS``) ends (their old days deleted, as its TTL
would), the details with sealed hours answer from those and the raw-only details say what they cover."""

from __future__ import annotations

import base64
import json
import random
import uuid
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.contract import vitals
from pipeline.settings import REPO_ROOT
from pipeline.warehouse.projects import create
from pipeline.warehouse.sealing import seal_now

pytestmark = pytest.mark.integration

APP_DIR = REPO_ROOT / "app"
COLUMNS = ["project_id", "type", "timestamp", "event_id", "session_id", "visitor_id", "path", "target", "click_text",
           "vital_name", "vital_value", "vital_rating"]
DAYS = 200  # of traffic: a 90-day range and the 90 days before it, and more
PATHS = ("/", "/pricing", "/p/1", "/p/2", "/cart")


def traffic(project_id: int, now: datetime) -> pl.DataFrame:
    """A few sessions a day, each inside one hour that ends at least an hour from every whole-day
    mark before ``now`` (so a range of whole days, a minute's drift later, cuts none), from a pool
    of visitors: page views (the first on ``/``), sometimes an error, sometimes a click, mostly an LCP."""
    rng = random.Random(16)
    rows = []
    for day in range(DAYS):
        for n in range(rng.randint(2, 7)):
            session, visitor = f"s-{day}-{n}", f"v-{rng.randrange(60)}"
            at = now - timedelta(days=day, hours=rng.uniform(1.5, 22.0))
            pages = rng.choice((1, 1, 2, 3, 5))
            for page in range(pages):
                rows.append((project_id, "page_view", at + timedelta(minutes=page), uuid.uuid4().hex, session, visitor,
                             "/" if page == 0 else rng.choice(PATHS), "", "", "", 0.0, ""))
            if rng.random() < 0.3:
                rows.append((project_id, "error", at + timedelta(seconds=30), uuid.uuid4().hex, session, visitor,
                             "/", "", "", "", 0.0, ""))
            if rng.random() < 0.5:
                rows.append((project_id, "click", at + timedelta(seconds=45), uuid.uuid4().hex, session, visitor,
                             "/", "button#buy", "Buy", "", 0.0, ""))
            if rng.random() < 0.8:
                lcp = round(rng.uniform(800, 4200), 1)
                rows.append((project_id, "web_vital", at + timedelta(seconds=20), uuid.uuid4().hex, session, visitor,
                             "/", "", "", "LCP", lcp, vitals.rate("LCP", lcp)))
    return pl.DataFrame(rows, schema={"project_id": pl.UInt32, "type": pl.String,
                                      "timestamp": pl.Datetime("ms", "UTC"), "event_id": pl.String,
                                      "session_id": pl.String, "visitor_id": pl.String, "path": pl.String,
                                      "target": pl.String, "click_text": pl.String, "vital_name": pl.String,
                                      "vital_value": pl.Float64, "vital_rating": pl.String}, orient="row")


@pytest.fixture(scope="module")
def shop(clickhouse):
    client = clickhouse.client()
    project = create(client, f"months-{uuid.uuid4().hex[:6]}")
    events = traffic(project.id, datetime.now(timezone.utc))
    client.insert("events", events.rows(), column_names=COLUMNS)
    return project, events


# ── the independent answers ─────────────────────────────────────────────────────────────


def within(events: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    return events.filter((pl.col("timestamp") >= start) & (pl.col("timestamp") < end))


def totals(events: pl.DataFrame, start: datetime, end: datetime) -> dict[str, int]:
    part = within(events, start, end)
    return {"page_views": part.filter(pl.col("type") == "page_view").height,
            "unique_visitors": part["visitor_id"].n_unique(), "sessions": part["session_id"].n_unique(),
            "errors": part.filter(pl.col("type") == "error").height}


def sessions(events: pl.DataFrame, start: datetime, end: datetime) -> dict[str, float]:
    """Of the sessions that started in the range: how many, and the shares that bounced or met an error."""
    started = (events.group_by("session_id").agg(
        pl.col("timestamp").min().alias("started"), (pl.col("type") == "page_view").sum().alias("pages"),
        (pl.col("type") == "error").any().alias("failed"))
        .filter((pl.col("started") >= start) & (pl.col("started") < end)))
    return {"sessions": started.height, "bounce_rate": (started["pages"] == 1).mean(),
            "error_rate": started["failed"].mean()}


def count(value: int) -> str:
    return f"{value:,}"


def estimated(value: int) -> str:
    """A count of people over a range longer than 7 days: marked as an estimate (exact at this size:
    uniqCombined64 counts the first ~1,000 exactly)."""
    return f"≈ {value:,}"


def change(now: int, before: int) -> str:
    return f"{now - before:+,}"


def points(now: float, before: float) -> str:
    return f"{(now - before) * 100 + 0.0:+.1f} pp"


def minute_range(span: timedelta) -> tuple[datetime, datetime]:
    """What ``Filters.last_minutes`` makes of ``span`` now."""
    end = datetime.now(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    return end - span, end


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time(), timezone.utc),
            datetime.combine(last + timedelta(days=1), time(), timezone.utc))


# ── the pages ───────────────────────────────────────────────────────────────────────────


def frame(page: str) -> None:
    import main

    main.frame(default=f"views/{page}.py")


def opened(clickhouse, monkeypatch, page: str, raw_days: int = 365, **query_params: str) -> AppTest:
    for name, value in clickhouse.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("VIGIL_RETENTION_DAYS", str(raw_days))
    monkeypatch.delenv("VIGIL_DASHBOARD_USERS", raising=False)
    monkeypatch.syspath_prepend(str(APP_DIR))
    app = AppTest.from_function(frame, args=(page,), default_timeout=120)
    app.query_params.update(query_params)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    return app


def shown(app: AppTest) -> dict[str, tuple[str, str | None]]:
    return {metric.label: (metric.value, metric.delta or None) for metric in app.metric}


def chart(app: AppTest, key: str) -> dict:
    element = next(c for c in app.get("plotly_chart") if key in c.proto.id)
    return json.loads(element.proto.spec)


def values(y) -> list[float]:
    if isinstance(y, dict):  # plotly's typed-array encoding of a numpy array
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
    return y


RANGES = {"30d": timedelta(days=30), "90d": timedelta(days=90)}


def custom_days() -> tuple[date, date]:
    today = datetime.now(timezone.utc).date()
    return today - timedelta(days=75), today - timedelta(days=31)


def link_and_range(which: str) -> tuple[dict[str, str], datetime, datetime]:
    if which == "custom":
        first, last = custom_days()
        return ({"range": "custom", "from": first.isoformat(), "to": last.isoformat()}, *day_range(first, last))
    return ({"range": which}, *minute_range(RANGES[which]))


def page_and_answers(clickhouse, monkeypatch, shop, page: str, which: str) -> tuple:
    """The page opened on the range ``which``; the range; polars' totals and sessions of it and of the period before."""
    project, events = shop
    link, start, end = link_and_range(which)
    app = opened(clickhouse, monkeypatch, page, project=str(project.id), **link)
    span = end - start
    return (app, (start, end), totals(events, start, end), totals(events, start - span, start),
            sessions(events, start, end), sessions(events, start - span, start))


@pytest.mark.parametrize("which", ["30d", "90d", "custom"])
def test_traffic_shows_the_range_and_its_change_as_polars_counts_them(clickhouse, monkeypatch, shop, which):
    app, (start, end), now, before, visits, visits_before = page_and_answers(clickhouse, monkeypatch, shop,
                                                                             "traffic", which)
    events = shop[1]
    metrics = shown(app)
    assert before["page_views"] and now["page_views"] != before["page_views"]  # a change worth showing
    assert metrics["Page views"] == (count(now["page_views"]), change(now["page_views"], before["page_views"]))
    assert metrics["Unique visitors"] == (estimated(now["unique_visitors"]),
                                          change(now["unique_visitors"], before["unique_visitors"]))
    assert metrics["Active sessions"] == (estimated(now["sessions"]), change(now["sessions"], before["sessions"]))
    assert metrics["Bounce rate"] == (f"{visits['bounce_rate'] * 100:.1f} %",
                                      points(visits["bounce_rate"], visits_before["bounce_rate"]))

    trend = {trace["name"]: trace for trace in chart(app, "traffic_trend")["data"]}
    assert sum(values(trend["Page views"]["y"])) == now["page_views"]
    previous = trend["Page views (previous period)"]
    assert sum(values(previous["y"])) == before["page_views"]
    bucket = timedelta(hours=6) if which == "30d" else timedelta(days=1)  # custom: 45 days, daily bars
    moved = [datetime.fromisoformat(x) for x in previous["x"]]
    assert all(start - bucket < when < end for when in moved), "the previous period is drawn on this one's axis"
    assert previous["opacity"] < 1
    # clicks come from raw events; kept a year here, so the whole range
    clicks = next(t.value for t in app.dataframe if "clicks" in t.value.columns)
    assert clicks["clicks"].sum() == within(events, start, end).filter(pl.col("type") == "click").height
    assert not any("days only" in c.value for c in app.caption)


@pytest.mark.parametrize("which", ["30d", "90d", "custom"])
def test_the_overview_compares_the_range_with_the_one_before(clickhouse, monkeypatch, shop, which):
    app, (start, end), now, before, visits, visits_before = page_and_answers(clickhouse, monkeypatch, shop,
                                                                             "overview", which)
    events, span = shop[1], end - start
    metrics = shown(app)
    assert metrics["Page views"] == (count(now["page_views"]), change(now["page_views"], before["page_views"]))
    assert metrics["Errors"] == (count(now["errors"]), change(now["errors"], before["errors"]))
    assert metrics["Unique visitors"] == (estimated(now["unique_visitors"]),
                                          change(now["unique_visitors"], before["unique_visitors"]))
    assert metrics["Error rate"] == (f"{visits['error_rate'] * 100:.1f} %",
                                     points(visits["error_rate"], visits_before["error_rate"]))
    drawn = {trace["name"]: trace for trace in chart(app, "events_per_minute")["data"]}
    bucket_minutes = {"30d": 360, "90d": 1440, "custom": 1440}[which]  # custom: 45 days, daily bars
    assert round(sum(values(drawn["page_view"]["y"])) * bucket_minutes) == now["page_views"]
    assert round(sum(values(drawn["all events (previous period)"]["y"])) * bucket_minutes) == within(
        events, start - span, start).height


def lcp(events: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    return within(events, start, end).filter(pl.col("vital_name") == "LCP")


def estimated_change_matches(shown_change: str, now: pl.Series, before: pl.Series) -> bool:
    """A p75 change shown past 24 hours (the difference of two histogram p75s, each within 1 %) against
    the exact change of the raw measurements: within 1 % of each p75 (and the ms the display rounds)."""
    p75_now, p75_before = now.quantile(0.75, "linear"), before.quantile(0.75, "linear")
    shown_ms = int(shown_change.removesuffix(" ms").replace(",", ""))
    return abs(shown_ms - (p75_now - p75_before)) <= 0.01 * (p75_now + p75_before) + 1


@pytest.mark.parametrize("which", ["30d", "custom"])
def test_web_vitals_compare_the_measurements_and_estimate_the_p75_change(clickhouse, monkeypatch, shop, which):
    project, events = shop
    link, start, end = link_and_range(which)
    app = opened(clickhouse, monkeypatch, "web_vitals", project=str(project.id), **link)
    now, before = lcp(events, start, end), lcp(events, start - (end - start), start)
    metrics = shown(app)
    assert metrics["Measurements"] == (count(now.height), change(now.height, before.height))
    good_now, good_before = (now["vital_rating"] == "good").mean(), (before["vital_rating"] == "good").mean()
    assert metrics["Good"] == (f"{good_now * 100:.1f} %", points(good_now, good_before))
    # past 24 hours the change is the histograms' (≈), within 1 % of each p75 of the exact one
    assert estimated_change_matches(metrics["p75"][1], now["vital_value"], before["vital_value"])
    assert any("≈ p75 change" in c.value for c in app.caption)
    trend = {trace["name"]: trace for trace in chart(app, "vital_trend")["data"]}
    assert "p75 (previous period)" in trend and trend["p75 (previous period)"]["opacity"] < 1


def test_without_the_comparison_traffic_shows_no_changes_and_no_previous_line(clickhouse, monkeypatch, shop):
    project, events = shop
    app = opened(clickhouse, monkeypatch, "traffic", project=str(project.id), range="30d", compare="false")
    start, end = minute_range(RANGES["30d"])
    assert shown(app)["Page views"] == (count(totals(events, start, end)["page_views"]), None)
    assert all(delta is None for _, delta in shown(app).values())
    assert [trace["name"] for trace in chart(app, "traffic_trend")["data"]] == ["Page views", "Visitors", "Sessions"]


@pytest.fixture(scope="module")
def past_retention(clickhouse, shop):
    """The shop with its raw events older than 30 days gone, as ``VIGIL_RETENTION_DAYS=30``'s TTL would
    remove them, after their hours were sealed (the rollups keep theirs): the module's last readers
    of raw events are the tests that ask for this."""
    project, events = shop
    client = clickhouse.client()
    seal_now(client)
    cutoff = datetime.now(timezone.utc) - timedelta(days=30)
    client.command("ALTER TABLE events DELETE WHERE project_id = {p:UInt32} AND timestamp < {cutoff:DateTime64(3, 'UTC')} "
                   "SETTINGS mutations_sync = 2", parameters={"p": project.id, "cutoff": cutoff})
    kept = client.command("SELECT count() FROM events WHERE project_id = {p:UInt32}", parameters={"p": project.id})
    assert 0 < int(kept) < events.height
    return project, events, cutoff


def whole_hours_of(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    first = start.replace(minute=0, second=0, microsecond=0)
    return (first if first == start else first + timedelta(hours=1)), end


def test_past_the_raw_retention_the_rollups_answer_and_the_raw_details_say_what_they_cover(
        clickhouse, monkeypatch, past_retention):
    project, events, _ = past_retention
    start, end = minute_range(RANGES["90d"])
    app = opened(clickhouse, monkeypatch, "traffic", raw_days=30, project=str(project.id), range="90d")
    now, before = totals(events, start, end), totals(events, start - (end - start), start)
    # the headline numbers are the rollups', over the whole 90 days (and the 90 before)
    assert shown(app)["Page views"] == (count(now["page_views"]), change(now["page_views"], before["page_views"]))
    # the clicks too, from their sealed hours (whole hours where the raw events are gone), and the page says so
    clicks = next(t.value for t in app.dataframe if "clicks" in t.value.columns)
    assert clicks["clicks"].sum() == within(events, *whole_hours_of(start, end)).filter(pl.col("type") == "click").height
    assert clicks["clicks"].sum() > within(events, end - timedelta(days=31), end).filter(pl.col("type") == "click").height
    assert any(c.value.startswith("Most clicked: from the hourly rollups") for c in app.caption)
    # the form submits need the raw events: the last 30 days only, and the page says so
    (notice,) = [c.value for c in app.caption if "the last 30 days only" in c.value]
    assert notice.startswith("Form submits:") and "VIGIL_RETENTION_DAYS" in notice

    # the p75 changes past 7 days come from the hourly histograms, which outlive the raw events
    now_lcp = lcp(events, start, end)["vital_value"]
    before_lcp = lcp(events, start - (end - start), start)["vital_value"]
    overview = opened(clickhouse, monkeypatch, "overview", raw_days=30, project=str(project.id), range="90d")
    assert any("≈ p75 changes" in c.value for c in overview.caption)
    assert estimated_change_matches(shown(overview)["LCP p75"][1], now_lcp, before_lcp)
    vital = opened(clickhouse, monkeypatch, "web_vitals", raw_days=30, project=str(project.id), range="90d",
                   details="Slowest resources")
    assert any("≈ p75 change" in c.value for c in vital.caption)
    assert estimated_change_matches(shown(vital)["p75"][1], now_lcp, before_lcp)
    measured = lcp(events, start, end).height
    assert shown(vital)["Measurements"] == (count(measured), change(measured, lcp(events, start - (end - start),
                                                                                      start).height))
    assert any(c.value.startswith("Slowest resources: from the hourly rollups") for c in vital.caption)
    assert not any("the last 30 days only" in c.value for c in vital.caption)


def test_a_custom_range_older_than_the_raw_events_shows_the_rollups_details_only(clickhouse, monkeypatch,
                                                                                 past_retention):
    project, events, _ = past_retention
    today = datetime.now(timezone.utc).date()
    first, last = today - timedelta(days=60), today - timedelta(days=45)
    app = opened(clickhouse, monkeypatch, "traffic", raw_days=30, project=str(project.id), range="custom",
                 **{"from": first.isoformat(), "to": last.isoformat()})
    start, end = day_range(first, last)
    assert shown(app)["Page views"][0] == count(totals(events, start, end)["page_views"])
    clicks = next(t.value for t in app.dataframe if "clicks" in t.value.columns)
    assert clicks["clicks"].sum() == within(events, start, end).filter(pl.col("type") == "click").height > 0
    (info,) = [i.value for i in app.info if "needs the raw events" in i.value]
    assert info.startswith("Form submits needs the raw events")
    assert not any("submits" in t.value.columns for t in app.dataframe)
