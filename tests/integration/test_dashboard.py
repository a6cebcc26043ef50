"""The Overview page, run by Streamlit's AppTest against the real warehouse: the numbers it
shows are the known answers of a small fixture, and the time-range filter changes them."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from pipeline.warehouse.projects import create
from pipeline.settings import REPO_ROOT

pytestmark = pytest.mark.integration

APP_DIR = REPO_ROOT / "app"
COLUMNS = ["project_id", "type", "timestamp", "event_id", "session_id", "visitor_id", "vital_name", "vital_value"]


def events(project_id: int, now: datetime, minutes_ago: float, session: str, visitor: str, *types: str, **vital_values: list[float]):
    """Rows for one session at one moment: the given event types, plus web vitals by name."""
    at = now - timedelta(minutes=minutes_ago)
    rows = [[project_id, t, at, uuid.uuid4().hex, session, visitor, "", 0.0] for t in types]
    rows += [[project_id, "web_vital", at, uuid.uuid4().hex, session, visitor, name, value]
             for name, values in vital_values.items() for value in values]
    return rows


@pytest.fixture(scope="module")
def shop(clickhouse):
    """A project with a known hour of traffic, the hour before it, and a neighbour's noise."""
    client = clickhouse.client()
    project = create(client, f"overview-{uuid.uuid4().hex[:6]}")
    neighbour = create(client, f"neighbour-{uuid.uuid4().hex[:6]}")
    p = project.id
    # relative to the moment the fixture is written, not to import: a long test session
    # would otherwise slide the rows across the time-range boundaries
    now = datetime.now(timezone.utc)
    rows = (
        # the last 15 minutes
        events(p, now, 5, "s-a", "v-1", "page_view", "page_view", "page_view", "error", LCP=[1000, 2000])
        + events(p, now, 6, "s-b", "v-2", "page_view", "page_view", LCP=[3000], INP=[150], CLS=[0.05])
        # 15–60 minutes ago
        + events(p, now, 25, "s-c", "v-1", "page_view", "page_view", "error", "click", LCP=[4000])
        + events(p, now, 40, "s-d", "v-3", "page_view", "error", "error")
        # the hour before
        + events(p, now, 90, "s-e", "v-4", "page_view", "page_view", "page_view", "page_view", LCP=[5000])
        # someone else's project
        + events(neighbour.id, now, 5, "s-x", "v-x", "page_view", "error", LCP=[9000])
    )
    client.insert("events", rows, column_names=COLUMNS)
    return project


def overview(clickhouse, monkeypatch, **query_params: str) -> AppTest:
    for name, value in clickhouse.env.items():
        monkeypatch.setenv(name, value)
    # what `streamlit run app/main.py` does: the entry point's folder is importable
    monkeypatch.syspath_prepend(str(APP_DIR))
    app = AppTest.from_file(str(APP_DIR / "main.py"), default_timeout=60)
    app.query_params.update(query_params)
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def shown(app: AppTest) -> dict[str, tuple[str, str]]:
    return {metric.label: (metric.value, metric.delta) for metric in app.metric}


def badges(app: AppTest) -> list[str]:
    return [m.value for m in app.markdown if "-badge[" in m.value]


def chart(app: AppTest) -> dict:
    (element,) = app.get("plotly_chart")
    return json.loads(element.proto.spec)


def chart_totals(app: AppTest, bucket_minutes: int = 1) -> dict[str, int]:
    """Events per type: the chart's per-minute rates summed over its bars, times the bar width."""
    return {trace["name"]: round(sum(_values(trace["y"])) * bucket_minutes) for trace in chart(app)["data"]}


def _values(y) -> list[float]:
    if isinstance(y, dict):  # plotly's typed-array encoding of a numpy array
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"])).tolist()
    return y


def test_the_last_hour_shows_the_fixture_numbers_against_the_hour_before(clickhouse, monkeypatch, shop):
    app = overview(clickhouse, monkeypatch, project=str(shop.id))
    metrics = shown(app)
    assert metrics["Page views"] == ("8", "+4")
    assert metrics["Unique visitors"] == ("3", "+2")
    assert metrics["Active sessions"] == ("4", "+3")
    assert metrics["Errors"] == ("4", "+4")
    # sessions started in the hour: s-a, s-b, s-c, s-d; only s-d saw one page; s-a, s-c, s-d met errors
    assert metrics["Bounce rate"] == ("25.0 %", "+25.0 pp")
    assert metrics["Error rate"] == ("75.0 %", "+75.0 pp")
    # LCP 1000, 2000, 3000, 4000 → p75 (linear) 3250 ms: needs improvement; the hour before: 5000
    assert metrics["LCP p75"] == ("3.25 s", "-1,750 ms")
    assert metrics["INP p75"] == ("150 ms", "")
    assert metrics["CLS p75"] == ("0.05", "")
    assert metrics["FCP p75"] == ("—", "")
    assert badges(app) == [":orange-badge[:material/warning: Needs improvement]",
                           ":green-badge[:material/check_circle: Good]", ":green-badge[:material/check_circle: Good]"]


def test_each_session_card_says_which_sessions_it_counts(clickhouse, monkeypatch, shop):
    """Active sessions: any event in the range; bounce and error rates: sessions that started in it."""
    app = overview(clickhouse, monkeypatch, project=str(shop.id))
    helps = {metric.label: metric.proto.help for metric in app.metric}
    assert "also those that started before it" in helps["Active sessions"]
    assert helps["Bounce rate"].startswith("Of the 4 sessions that started in the range")
    assert helps["Error rate"].startswith("Of the 4 sessions that started in the range")


def test_a_web_vital_change_is_exact_even_inside_one_histogram_bucket(clickhouse, monkeypatch):
    """LCP 2500–2540 ms this hour, 2500–2520 ms the hour before: one rollup bucket, so the rollup's
    p75 is the same for both (a change of +0 ms); the exact p75s are 2530 and 2515 ms."""
    client = clickhouse.client()
    project = create(client, f"vital-change-{uuid.uuid4().hex[:6]}")
    now = datetime.now(timezone.utc)
    rows = [row for i in range(101)
            for row in events(project.id, now, 5 + i * 0.5, f"s-{i}", f"v-{i}", LCP=[2500 + i * 0.4])
            + events(project.id, now, 65 + i * 0.5, f"t-{i}", f"w-{i}", LCP=[2500 + i * 0.2])]
    client.insert("events", rows, column_names=COLUMNS)
    app = overview(clickhouse, monkeypatch, project=str(project.id))
    assert shown(app)["LCP p75"][1] == "+15 ms"
    help_text = next(metric.proto.help for metric in app.metric if metric.label == "LCP p75")
    assert "The change is exact" in help_text


def test_the_chart_counts_every_event_of_the_hour_by_type(clickhouse, monkeypatch, shop):
    app = overview(clickhouse, monkeypatch, project=str(shop.id))
    # the hour before (s-e: 4 page views, an LCP) as one faded line of all its events, moved onto this hour
    assert chart_totals(app) == {"page_view": 8, "web_vital": 6, "error": 4, "click": 1,
                                 "all events (previous period)": 5}
    previous = chart(app)["data"][-1]
    assert previous["opacity"] < 1 and previous["line"]["dash"] == "dot"


def test_without_the_comparison_the_overview_shows_no_changes(clickhouse, monkeypatch, shop):
    app = overview(clickhouse, monkeypatch, project=str(shop.id), compare="false")
    assert {label: value for label, (value, _) in shown(app).items() if label in ("Page views", "LCP p75")} == {
        "Page views": "8", "LCP p75": "3.25 s"}
    assert all(delta in (None, "") for _, delta in shown(app).values())
    assert chart_totals(app) == {"page_view": 8, "web_vital": 6, "error": 4, "click": 1}


def test_a_shorter_time_range_changes_the_numbers(clickhouse, monkeypatch, shop):
    app = overview(clickhouse, monkeypatch, project=str(shop.id), range="15m")
    metrics = shown(app)
    assert metrics["Page views"] == ("5", "+3")
    assert metrics["Unique visitors"] == ("2", "+1")
    assert metrics["Active sessions"] == ("2", "+1")
    assert metrics["Errors"] == ("1", "+0")
    # s-a (3 pages, an error) and s-b (2 pages); the 15 minutes before: s-c (2 pages, an error)
    assert metrics["Bounce rate"] == ("0.0 %", "+0.0 pp")
    assert metrics["Error rate"] == ("50.0 %", "-50.0 pp")
    # LCP 1000, 2000, 3000 → p75 2500 ms: still good (≤ 2.5 s); the 15 minutes before: 4000
    assert metrics["LCP p75"] == ("2.50 s", "-1,500 ms")
    assert badges(app)[0] == ":green-badge[:material/check_circle: Good]"
    # the 15 minutes before: s-c (2 page views, an error, a click, an LCP)
    assert chart_totals(app) == {"page_view": 5, "web_vital": 5, "error": 1, "all events (previous period)": 5}


def test_long_ranges_draw_wider_bars_of_the_same_events(clickhouse, monkeypatch, shop):
    # 24 h draws hourly bars since the traffic rollups are sealed hours (091)
    app = overview(clickhouse, monkeypatch, project=str(shop.id), range="24h")
    assert chart_totals(app, bucket_minutes=60) == {"page_view": 12, "web_vital": 7, "error": 4, "click": 1}
    assert chart(app)["layout"]["yaxis"]["title"]["text"] == "events per minute (60-minute average)"


def neighbour_numbers(app: AppTest) -> tuple[str, str, str]:
    metrics = shown(app)
    return metrics["Page views"][0], metrics["Errors"][0], metrics["LCP p75"][0]


def test_picking_another_project_shows_only_its_events(clickhouse, monkeypatch, shop):
    app = overview(clickhouse, monkeypatch, project=str(shop.id))
    picker = app.selectbox(key="project")
    neighbour = next(option for option in picker.options if option.startswith("neighbour-"))
    picker.select(int(neighbour.rsplit("#", 1)[1])).run()
    assert not app.exception
    assert neighbour_numbers(app) == ("1", "1", "9.00 s")
    assert badges(app)[0] == ":red-badge[:material/error: Poor]"


def test_the_link_names_the_project(clickhouse, monkeypatch, shop):
    app = overview(clickhouse, monkeypatch, project=str(shop.id))
    neighbour = next(option for option in app.selectbox(key="project").options if option.startswith("neighbour-"))
    linked = overview(clickhouse, monkeypatch, project=neighbour.rsplit("#", 1)[1])
    assert neighbour_numbers(linked) == ("1", "1", "9.00 s")


def test_a_project_without_events_says_how_to_get_some(clickhouse, monkeypatch):
    empty = create(clickhouse.client(), "empty-shop")
    app = overview(clickhouse, monkeypatch, project=str(empty.id))
    assert shown(app)["Page views"] == ("0", "")
    assert any("vigil simulate" in info.value for info in app.info)


def test_nothing_is_rendered_as_html(clickhouse, monkeypatch, shop):
    create(clickhouse.client(), "<b>bold</b> [link](https://evil.example)")
    app = overview(clickhouse, monkeypatch, project=str(shop.id))
    assert all(not element.proto.allow_html for element in app.markdown)
    assert "<b>bold</b> [link](https://evil.example)" in " ".join(app.selectbox(key="project").options)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def vigil_dashboard(clickhouse, tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """``vigil dashboard`` as a process of its own on a free port, once it answers its health
    check: (its URL, the process); stopped with SIGTERM afterwards (its exit code is checked)."""
    from tests.support.clickhouse import free_port

    port = free_port()
    env = {**os.environ, **clickhouse.env, "VIGIL_DASHBOARD_PORT": str(port), "VIGIL_DATA_DIR": str(tmp_path)}
    env.pop("VIGIL_DASHBOARD_USERS", None)
    log_path = tmp_path / "dashboard.log"
    log = open(log_path, "wb")
    process = subprocess.Popen([sys.executable, "-m", "pipeline.commands.cli", "dashboard"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, cwd=REPO_ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, log_path.read_text()


def test_vigil_dashboard_serves_the_app_on_its_port_and_stops_on_sigterm(clickhouse, tmp_path):
    with vigil_dashboard(clickhouse, tmp_path) as (url, _):
        page = httpx.get(f"{url}/", timeout=5)
        assert page.status_code == 200 and "<title>Streamlit</title>" in page.text


def test_a_deep_link_is_the_first_thing_a_fresh_dashboard_serves(clickhouse, tmp_path, shop):
    """A shared link to a page, opened before anyone loaded the root: the page itself renders
    (with its filters from the URL), not Streamlit's "page not found" and the Overview instead."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with vigil_dashboard(clickhouse, tmp_path) as (url, _), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(f"{url}/traffic?project={shop.id}&range=1h")
            # done when the script has run: a page title is drawn and the app has stopped running
            try:
                page.wait_for_function("document.querySelector('[data-testid=\"stMainBlockContainer\"] h1')"
                                       " && !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                       timeout=90_000)
            except PlaywrightTimeout:
                pytest.fail(f"the deep link drew no page within 90 s; it shows: {page.inner_text('body')!r}")
            shown = page.inner_text("body")
            title = page.locator('[data-testid="stMainBlockContainer"] h1').first
            assert title.inner_text().strip() == "Traffic", shown
            assert page.url.startswith(f"{url}/traffic?")
            assert "project=" in page.url
            assert page.get_by_text("Page not found").count() == 0
            # the fixture's hour: 8 page views (the Traffic page's first metric)
            views = page.locator('[data-testid="stMetric"]').filter(has_text="Page views")
            assert views.locator('[data-testid="stMetricValue"]').inner_text().strip() == "8"
        finally:
            browser.close()
