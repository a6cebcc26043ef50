"""Every dashboard page, opened by a link with a bad value in each URL parameter it reads, says
in one line what was wrong (one st.error naming the parameter) and shows the page with the
default — never a traceback, never a silent substitute."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
from streamlit.testing.v1 import AppTest

from pipeline.warehouse.projects import create
from pipeline.settings import REPO_ROOT

pytestmark = pytest.mark.integration

APP_DIR = REPO_ROOT / "app"
PAGES = ("overview", "web_vitals", "errors", "funnels", "traffic", "alerts", "data_quality")
INJECTION = "' OR 1=1 --"
COLUMNS = ["project_id", "type", "timestamp", "event_id", "session_id", "visitor_id"]

# what the sidebar reads on every page
SIDEBAR = {
    "project": ["abc", "99999999", INJECTION, "-1"],
    "range": ["5y", INJECTION],
    "environment": ["prod\x00uction"],
    "release": ["x" * 9000],
    "route": ["/p/\x1b[31m"],
    "device": ["\x00"],
    "browser": ["\x7f"],
    "country": ["D" * 9000],
    "from": ["2026-13-01", INJECTION],
    "to": ["3000-01-01"],
    "compare": ["maybe"],
}
# what each page reads itself
OWN = {
    "web_vitals": {"vital": ["XYZ", INJECTION], "breakdown": ["Nope"], "details": ["Nope"]},
    "errors": {"status": ["bogus"], "group": [INJECTION, "x" * 5000, "1234567890abcdef0"]},
    "funnels": {"funnel": ["no such funnel"], "window": ["forever"], "unit": ["Cats"],
                "funnel_breakdown": ["Nope"], "steps": ["garbage"]},
}
CASES = [(page, name, value) for page in PAGES for name, values in {**SIDEBAR, **OWN.get(page, {})}.items()
         for value in values]


def frame(page: str) -> None:
    import main

    main.frame(default=f"views/{page}.py")


@pytest.fixture(scope="module")
def project(clickhouse):
    client = clickhouse.client()
    shop = create(client, f"params-{uuid.uuid4().hex[:6]}")
    now = datetime.now(timezone.utc)
    client.insert("events", [[shop.id, "page_view", now, uuid.uuid4().hex, "s1", "v1"]],
                  column_names=COLUMNS)
    return shop


def opened(clickhouse, monkeypatch, page: str, **query_params: str) -> AppTest:
    for name, value in clickhouse.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("VIGIL_DASHBOARD_USERS", raising=False)
    monkeypatch.syspath_prepend(str(APP_DIR))
    app = AppTest.from_function(frame, args=(page,), default_timeout=60)
    app.query_params.update(query_params)
    app.run()
    return app


@pytest.mark.parametrize("page", PAGES)
def test_a_good_link_shows_no_error(clickhouse, monkeypatch, project, page):
    app = opened(clickhouse, monkeypatch, page, project=str(project.id), range="24h")
    assert not app.exception and not app.error


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("link", ["90d", "custom"])
def test_a_long_or_custom_range_opens_every_page(clickhouse, monkeypatch, project, page, link):
    today = datetime.now(timezone.utc).date()
    days = {"from": (today - timedelta(days=45)).isoformat(), "to": today.isoformat()} if link == "custom" else {}
    app = opened(clickhouse, monkeypatch, page, project=str(project.id), range=link, **days)
    assert not app.exception and not app.error
    assert app.session_state["range"] == link


@pytest.mark.parametrize("page, name, value", CASES, ids=[f"{p}-{n}-{i}" for i, (p, n, _) in enumerate(CASES)])
def test_a_bad_parameter_is_named_in_one_line(clickhouse, monkeypatch, project, page, name, value):
    params = {"project": str(project.id), name: value}
    app = opened(clickhouse, monkeypatch, page, **params)
    assert not app.exception, [e.value for e in app.exception]
    (error,) = app.error
    assert "\n" not in error.value and len(error.value) < 300
    assert f"`{name}`" in error.value or name == "steps"  # steps say which line is wrong
    assert value not in error.value  # what the link said is not echoed into markdown
    assert app.title  # the page went on, with the default
