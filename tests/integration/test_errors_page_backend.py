"""The Errors page with a backend's error (issue 14, item 12), run by Streamlit's AppTest against
the real warehouse: a Python error group shows its platform, level, logger, server and
transaction, every exception of its chain in Sentry's order with its frames, and spreads over
servers and transactions instead of browsers; a browser's error shows its platform too."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest

from pipeline.projects import create
from tests.integration.test_dashboard_pages import FIXTURE_COLUMNS, Rows, error_group_id, run_page, tables

pytestmark = pytest.mark.integration

CHAIN = [
    {"type": "KeyError", "message": "'total'", "mechanism": {"type": "generic", "handled": True},
     "frames": [{"function": "load_total", "filename": "shop/cart.py", "lineno": 12, "in_app": True},
                {"function": "checkout", "filename": "shop/cart.py", "lineno": 17, "in_app": True}]},
    {"type": "RuntimeError", "message": "checkout failed: the cart has no total",
     "frames": [{"function": "checkout", "filename": "shop/cart.py", "lineno": 19, "in_app": True},
                {"function": "pay", "filename": "shop/views.py", "lineno": 8, "in_app": True}]},
    {"type": "ValueError", "message": "payment aborted",
     "frames": [{"function": "pay", "filename": "shop/views.py", "lineno": 10, "in_app": True}]},
]
GROUP = [
    {"type": "KeyError", "message": "'sku'", "mechanism": {"exception_id": 2, "parent_id": 0, "source": "exceptions[1]"}},
    {"type": "ValueError", "message": "bad row 3", "mechanism": {"exception_id": 1, "parent_id": 0,
                                                                 "source": "exceptions[0]"}},
    {"type": "ExceptionGroup", "message": "two imports failed", "mechanism": {"exception_id": 0,
                                                                            "is_exception_group": True}},
]
SERVER = {"platform": "python", "browser": "", "os": "", "device": "", "server_name": "web-1"}


@pytest.fixture(scope="module")
def api(clickhouse):
    """A backend's chained error twice (web-1, web-2), an exception group, and a browser's error."""
    client = clickhouse.client()
    project = create(client, f"backend-{uuid.uuid4().hex[:6]}")
    rows = Rows(project.id, datetime.now(timezone.utc))
    data = {"kind": "backend", "type": "ValueError", "message": "payment aborted", "frames": CHAIN[-1]["frames"],
            "handled": False, "platform": "python", "level": "error", "server_name": "web-1",
            "transaction": "/carts/{cart_id}/pay", "runtime": "CPython 3.11.7", "exceptions": CHAIN}
    for minutes_ago, server in ((5, "web-1"), (4, "web-2")):
        rows.add(minutes_ago, f"trace-{server}", "error", error_kind="backend", error_type="ValueError",
                 error_message="payment aborted", level="error", transaction="/carts/{cart_id}/pay",
                 url="http://api.example.com/carts/7/pay", path="/carts/:id/pay", data={**data, "server_name": server},
                 **{**SERVER, "server_name": server})
    rows.add(3, "trace-import", "error", error_kind="backend", error_type="ExceptionGroup",
             error_message="two imports failed", level="fatal", logger="shop.imports",
             data={"kind": "backend", "type": "ExceptionGroup", "message": "two imports failed", "platform": "python",
                   "level": "fatal", "logger": "shop.imports", "exceptions": GROUP}, **SERVER)
    rows.add(2, "s1", "error", error_kind="js", error_type="TypeError", error_message="x is undefined",
             platform="javascript", level="error", path="/cart",
             data={"kind": "js", "type": "TypeError", "message": "x is undefined",
                   "frames": [{"function": "total", "filename": "https://shop.example.com/app.js", "lineno": 1}]})
    client.insert("events", rows.rows, column_names=FIXTURE_COLUMNS)
    return project


def texts(app) -> list[str]:
    return [text.value for text in app.text]


def test_a_backend_group_shows_its_platform_details_and_whole_chain(clickhouse, monkeypatch, api):
    group = error_group_id(clickhouse, api.id, "payment aborted")
    app = run_page(clickhouse, monkeypatch, "errors", project=str(api.id), group=group)
    shown = texts(app)
    assert "Platform: python · Level: error · Server: web-2 · Transaction: /carts/{cart_id}/pay · " \
           "Runtime: CPython 3.11.7" in shown  # the latest event's
    # the chain in Sentry's order, each exception with its own frames, linked as Python prints it
    assert [text for text in shown if text.split(":")[0] in ("KeyError", "RuntimeError", "ValueError")] == [
        "ValueError: payment aborted",  # the group's title, then its chain
        "KeyError: 'total'", "RuntimeError: checkout failed: the cart has no total", "ValueError: payment aborted"]
    frames = [frame["function"].tolist() for frame in tables(app) if "function" in frame.columns]
    assert frames == [["load_total", "checkout"], ["checkout", "pay"], ["pay"]]
    captions = [caption.value for caption in app.caption]
    assert captions.count("The above exception led to the following one:") == 2
    assert any("3 exceptions, chained" in caption for caption in captions)
    # where it happens: servers and transactions, not browsers
    servers = next(frame for frame in tables(app) if "value" in frame.columns and "web-1" in set(frame["value"]))
    assert sorted(servers["value"]) == ["web-1", "web-2"] and servers["events"].tolist() == [1, 1]
    assert not any("Browser" in str(frame.columns) for frame in tables(app))
    latest = next(frame for frame in tables(app) if "session_id" in frame.columns)
    assert latest[["platform", "level", "server_name", "transaction"]].to_dict("records") == [
        {"platform": "python", "level": "error", "server_name": server, "transaction": "/carts/{cart_id}/pay"}
        for server in ("web-2", "web-1")]


def test_an_exception_group_shows_where_each_exception_hangs(clickhouse, monkeypatch, api):
    group = error_group_id(clickhouse, api.id, "two imports failed")
    app = run_page(clickhouse, monkeypatch, "errors", project=str(api.id), group=group)
    assert "Platform: python · Level: fatal · Logger: shop.imports · Server: web-1" in texts(app)
    assert [text for text in texts(app) if text.startswith("#")] == [
        "#2 KeyError: 'sku'", "#1 ValueError: bad row 3", "#0 ExceptionGroup: two imports failed"]
    captions = [caption.value for caption in app.caption]
    assert "exceptions[1] of #0" in captions and "exceptions[0] of #0" in captions


def test_a_browser_group_shows_its_platform_and_its_browsers(clickhouse, monkeypatch, api):
    group = error_group_id(clickhouse, api.id, "x is undefined")
    app = run_page(clickhouse, monkeypatch, "errors", project=str(api.id), group=group)
    assert "Platform: javascript · Level: error" in texts(app)
    assert [frame["function"].tolist() for frame in tables(app) if "function" in frame.columns] == [["total"]]
    browsers = next(frame for frame in tables(app) if "value" in frame.columns and "Chrome" in set(frame["value"]))
    assert browsers["events"].tolist() == [1]
