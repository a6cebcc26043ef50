""""Most clicked" against the real engine: the links of one nav bar share a CSS selector, and
each is still a row of its own with its text and href (issue 14).

The clicks go through the processor's real steps and row mapping (PII scrubbing included);
the expected rows are written out by hand. A click stored the way rows were before
``078_click_text_href.sql`` (without the new columns) still shows its text, read from ``data``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import orjson
import pytest

from pipeline import queries
from pipeline.stream import rows, steps
from pipeline.queries import Filters

pytestmark = pytest.mark.integration

PROJECT = 9781
NOW = datetime.now(timezone.utc).replace(microsecond=0)
WINDOW = Filters(PROJECT, NOW - timedelta(minutes=30), NOW + timedelta(minutes=1))
SITE = "https://shop.example.com"
NAV = "body > nav.menu > a.nav-link"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/138.0.0.0 Safari/537.36")


def iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def click_row(visitor: str, data: dict, ago_s: float) -> tuple:
    """One click as the collector hands it to the processor, through every step to its row."""
    message = {
        "event_id": uuid.uuid4().hex, "type": "click", "timestamp": iso(NOW - timedelta(seconds=ago_s)),
        "session_id": f"s_{visitor}", "visitor_id": f"v_{visitor}", "page": {"url": f"{SITE}/"},
        "data": data, "sdk": {"name": "vigil-browser", "version": "0.1.0"}, "project_id": PROJECT,
        "received_at": iso(NOW - timedelta(seconds=ago_s - 1)), "client": {"ip": "203.0.113.9", "user_agent": CHROME},
    }
    event = steps.run(orjson.dumps(message))
    assert isinstance(event, dict), event
    row = rows.event_row(event)
    assert not isinstance(row, steps.Dropped), row
    return row


def link(text: str, href: str) -> dict:
    return {"selector": NAV, "text": text, "href": href, "x": 10, "y": 20}


@pytest.fixture(scope="module")
def client(clickhouse):
    client = clickhouse.client()
    made = []
    # Home ×3 (two visitors), About ×2, Contact ×1 — one selector for all three links
    for visitor, text, path, ago in (("ann00001", "Home", "/", 60), ("ann00001", "Home", "/", 50),
                                     ("bob00001", "Home", "/", 40), ("ann00001", "About", "/about", 30),
                                     ("bob00001", "About", "/about?token=s3cret", 20)):
        made.append(click_row(visitor, link(text, SITE + path), ago))
    made.append(click_row("cid00001", link("Mail ann@example.com", "mailto:"), 10))
    made.append(click_row("dan00001", {"selector": "button#buy.btn-primary", "text": "Add to cart"}, 5))
    client.insert("events", made, column_names=list(rows.COLUMNS))  # as the processor's sink does
    # a click stored before 078 (the SDK's text only in `data`): no click_text/click_href given
    legacy = list(rows.COLUMNS[:rows.COLUMNS.index("click_text")])
    old = click_row("eve00001", link("Blog", SITE + "/blog"), 8)
    client.insert("events", [old[:len(legacy)]], column_names=legacy)
    return client


def test_one_nav_bars_links_are_rows_of_their_own(client):
    answer = queries.top_clicks(client, WINDOW)
    assert answer.columns == ["target", "text", "href", "clicks", "visitors"]
    assert answer.rows() == [
        (NAV, "Home", f"{SITE}/", 3, 2),
        # the secret in the query string is redacted by the processor
        (NAV, "About", f"{SITE}/about", 1, 1),
        (NAV, "About", f"{SITE}/about?token=[redacted]", 1, 1),
        (NAV, "Blog", f"{SITE}/blog", 1, 1),  # read from data: stored as rows were before 078
        (NAV, "Mail [email]", "mailto:", 1, 1),
        ("button#buy.btn-primary", "Add to cart", "", 1, 1),
    ]
