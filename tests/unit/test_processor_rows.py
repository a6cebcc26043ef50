"""An enriched event → its ``events`` row: every column, for every event type."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import orjson
import pytest

from pipeline import contract
from pipeline.contract import sentry
from pipeline.processor import fingerprints, rows, steps
from pipeline.processor.steps import Dropped
from pipeline.warehouse.migrate import MIGRATIONS_DIR
from tests.support import vectors

MIXED = next(v for v in vectors.load("valid") if v.name == "mixed_batch")
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"


def enriched_events() -> dict[str, dict]:
    """The mixed batch's events, stamped as the collector does and run through every step."""
    received = MIXED.now.isoformat().replace("+00:00", "Z")
    out = {}
    for event in contract.merge_context(MIXED.doc["envelope"]):
        event.update(project_id=3, received_at=received, client={"ip": "198.51.100.4", "user_agent": UA})
        enriched = steps.run(orjson.dumps(event))
        assert isinstance(enriched, dict), enriched
        out[event["event_id"]] = enriched
    return out


EVENTS = enriched_events()


def row_of(event_id: str) -> dict:
    row = rows.event_row(EVENTS[event_id])
    assert len(row) == len(rows.COLUMNS)
    return dict(zip(rows.COLUMNS, row))


def test_columns_exist_in_the_events_table_and_none_is_left_out():
    ddl = (MIGRATIONS_DIR / "001_events.sql").read_text()
    table = ddl.split("CREATE TABLE IF NOT EXISTS events", 1)[1].split("ENGINE", 1)[0]
    declared = [line.split()[0] for line in table.splitlines()
                if line.strip() and not line.strip().startswith(("--", "(", ")"))]
    added = re.findall(r"ALTER TABLE events ADD COLUMN IF NOT EXISTS (\w+)",
                       " ".join(path.read_text() for path in sorted(MIGRATIONS_DIR.glob("*.sql"))))
    assert list(rows.COLUMNS[:len(declared)]) == declared
    assert set(rows.COLUMNS[len(declared):]) <= set(added)


def test_error_rows_carry_their_group_and_other_rows_none():
    assert row_of("01J0ZK4T0005XQ5M8R2B7C9D")["fingerprint"] == fingerprints.fingerprint(
        EVENTS["01J0ZK4T0005XQ5M8R2B7C9D"]["data"]) > 0
    assert row_of("01J0ZK4T0001XQ5M8R2B7C9D")["fingerprint"] == 0


def test_common_columns():
    row = row_of("01J0ZK4T0001XQ5M8R2B7C9D")
    assert row["project_id"] == 3 and row["type"] == "page_view"
    assert row["timestamp"] == rows.epoch_ms(datetime(2026, 6, 15, 11, 59, 58, 250000, tzinfo=timezone.utc))
    assert row["received_at"] == rows.epoch_ms(MIXED.now)
    assert (row["session_id"], row["visitor_id"], row["user_id"]) == ("s_7f3a9c2e41d8", "v_0b6e2d94c7a1f3", "")
    assert (row["release"], row["environment"]) == ("shop@2.4.1", "production")
    assert (row["url"], row["path"], row["title"]) == ("https://shop.example.com/", "/", "Shop")
    assert row["referrer"] == ""  # the event's own page replaces the context's, referrer and all
    assert (row["browser"], row["os"], row["device"]) == ("Mobile Safari", "iOS", "mobile")
    assert (row["client_ip"], row["user_agent"]) == ("198.51.100.0", UA)  # anonymised to the /24
    assert (row["sdk_name"], row["sdk_version"]) == ("vigil-browser", "0.1.0")
    assert json.loads(row["data"]) == {"navigation_type": "navigate"}


def test_web_vital():
    row = row_of("01J0ZK4T0002XQ5M8R2B7C9D")
    assert (row["vital_name"], row["vital_value"], row["vital_rating"]) == ("LCP", 2834.5, "needs-improvement")
    assert row["target"] == "main > img.hero"
    assert row["path"] == "/products/:id"  # the route


def test_js_error():
    row = row_of("01J0ZK4T0005XQ5M8R2B7C9D")
    assert (row["error_kind"], row["error_type"]) == ("js", "TypeError")
    assert row["error_message"] == "Cannot read properties of undefined (reading 'x')"
    assert json.loads(row["data"])["frames"][0]["function"] == "myFunction"


def test_resource_error_keeps_the_failing_url():
    row = row_of("01J0ZK4T0007XQ5M8R2B7C9D")
    assert (row["error_kind"], row["http_url"]) == ("resource", "https://cdn.example.com/img/kettle.webp")


def test_api_error_carries_its_request():
    row = row_of("01J0ZK4T0008XQ5M8R2B7C9D")
    assert (row["error_kind"], row["http_method"], row["http_status"], row["duration_ms"]) == ("api", "GET", 503, 231.4)


def test_api_call():
    row = row_of("01J0ZK4T0009XQ5M8R2B7C9D")
    assert (row["http_method"], row["http_url"], row["http_status"], row["duration_ms"]) == (
        "POST", "https://shop.example.com/api/cart/items", 201, 88.2)


def test_resource():
    row = row_of("01J0ZK4T0004XQ5M8R2B7C9D")
    assert (row["http_url"], row["duration_ms"]) == ("https://cdn.example.com/app.3f9a.js", 412.7)


def test_click_form_time_custom_identify():
    click = row_of("01J0ZK4T0010XQ5M8R2B7C9D")
    assert (click["target"], click["click_text"], click["click_href"]) == ("main > button#buy.btn-primary", "Add to cart", "")
    form = row_of("01J0ZK4T0011XQ5M8R2B7C9D")
    assert (form["target"], form["name"]) == ("checkout", "checkout")
    assert row_of("01J0ZK4T0012XQ5M8R2B7C9D")["duration_ms"] == 120000.0
    assert row_of("01J0ZK4T0013XQ5M8R2B7C9D")["name"] == "coupon_applied"
    assert row_of("01J0ZK4T0014XQ5M8R2B7C9D")["user_id"] == "user-1234"


def test_a_links_click_keeps_its_text_and_href():
    event = dict(EVENTS["01J0ZK4T0010XQ5M8R2B7C9D"], data={
        "selector": "nav.menu > a.nav-link", "text": "About", "href": "https://shop.example.com/about"})
    row = dict(zip(rows.COLUMNS, rows.event_row(event)))
    assert (row["target"], row["click_text"], row["click_href"]) == ("nav.menu > a.nav-link", "About", "https://shop.example.com/about")
    form = row_of("01J0ZK4T0011XQ5M8R2B7C9D")
    assert (form["click_text"], form["click_href"]) == ("", "")  # only clicks fill them


def test_a_browser_error_is_javascript_at_level_error_and_other_rows_javascript():
    row = row_of("01J0ZK4T0005XQ5M8R2B7C9D")
    assert (row["platform"], row["level"], row["logger"], row["server_name"], row["transaction"]) == (
        "javascript", "error", "", "", "")
    assert (row["browser"], row["os"], row["device"]) == ("Mobile Safari", "iOS", "mobile")
    assert (row_of("01J0ZK4T0001XQ5M8R2B7C9D")["platform"], row_of("01J0ZK4T0001XQ5M8R2B7C9D")["level"]) == (
        "javascript", "")


def sentry_error(name: str, now: datetime) -> dict:
    """A captured Sentry envelope's error, stamped as the collector does and run through every step."""
    body = (Path(__file__).parent / "sentry_envelopes" / f"{name}.envelope").read_bytes()
    [event] = contract.merge_context(sentry.to_events(sentry.parse_envelope(body), now).envelope())
    event.update(project_id=3, received_at=now.isoformat().replace("+00:00", "Z"),
                 client={"ip": "203.0.113.9", "user_agent": "sentry.python/2.76.0"})
    enriched = steps.run(orjson.dumps(event))
    assert isinstance(enriched, dict), enriched
    return enriched


def test_a_backend_error_keeps_its_platform_level_server_and_transaction_and_no_browser():
    event = sentry_error("python_chain", datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc))
    row = dict(zip(rows.COLUMNS, rows.event_row(event)))
    assert (row["error_kind"], row["error_type"], row["error_message"]) == ("backend", "ValueError", "payment aborted")
    assert (row["platform"], row["level"], row["server_name"], row["transaction"], row["logger"]) == (
        "python", "error", "web-1", "/checkout", "")
    assert (row["browser"], row["browser_version"], row["os"], row["os_version"], row["device"]) == ("",) * 5
    assert [e["type"] for e in json.loads(row["data"])["exceptions"]] == ["KeyError", "RuntimeError", "ValueError"]


def test_a_chains_messages_file_names_and_transaction_are_scrubbed_like_the_error_s():
    event = sentry_error("python_chain", datetime(2026, 12, 7, 3, 0, tzinfo=timezone.utc))
    raw = orjson.loads(orjson.dumps(event, default=str))
    raw["data"]["exceptions"][0]["message"] = "no account for jane@example.com"
    raw["data"]["exceptions"][0]["frames"][0]["filename"] = "/srv/users/jane@example.com/app.py"
    raw["data"]["transaction"] = "/users/jane@example.com"
    scrubbed = steps.scrub_pii(raw)
    assert "jane@example.com" not in orjson.dumps(scrubbed["data"]).decode()


def test_tags_become_strings():
    event = dict(EVENTS["01J0ZK4T0013XQ5M8R2B7C9D"], tags={"plan": "pro", "seats": 5, "beta": True, "ratio": 0.5})
    row = dict(zip(rows.COLUMNS, rows.event_row(event)))
    assert row["tags"] == {"plan": "pro", "seats": "5", "beta": "true", "ratio": "0.5"}


def test_data_nested_deeper_than_storable_is_dropped():
    deep: dict = {}
    cursor = deep
    for _ in range(300):
        cursor["next"] = {}
        cursor = cursor["next"]
    event = dict(EVENTS["01J0ZK4T0013XQ5M8R2B7C9D"], data={"name": "deep", "props": deep})
    dropped = rows.event_row(event)
    assert isinstance(dropped, Dropped) and (dropped.reason, dropped.path) == ("too_deep", "data")


@pytest.mark.parametrize("when", ["2026-06-15T11:59:58.250Z", "2026-06-15T13:59:58.250+02:00", "1970-01-01T00:00:00Z"])
def test_epoch_ms_is_exact(when):
    parsed = contract.parse_timestamp(when)
    assert rows.epoch_ms(parsed) == round(parsed.timestamp() * 1000)


def _vital(data: dict) -> dict:
    return {**EVENTS["01J0ZK4T0002XQ5M8R2B7C9D"], "data": data}


@pytest.mark.parametrize(("data", "rating"), [
    # a Sentry SDK's vital comes without a rating; the SDK sends none for LOAD
    ({"name": "LCP", "value": 4100.0}, "poor"),
    ({"name": "LOAD", "value": 2900.0}, "good"),
    # the contract's TTI bands (Lighthouse's), whatever rating the event carried
    ({"name": "TTI", "value": 3000.0, "rating": "needs-improvement"}, "good"),
    ({"name": "CLS", "value": 0.1, "rating": "poor"}, "good"),
])
def test_every_web_vital_is_rated_from_the_contract(data, rating):
    row = dict(zip(rows.COLUMNS, rows.event_row(_vital(data))))
    assert (row["vital_name"], row["vital_rating"]) == (data["name"], rating)
