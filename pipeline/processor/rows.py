"""An enriched event → one row of the warehouse's ``events`` table.

:data:`COLUMNS` names the columns in the order :func:`event_row` fills them; the sink
inserts with exactly these names, so a later migration may add columns (with defaults)
before this module learns about them. The type-specific columns follow
``pipeline/warehouse/migrations/001_events.sql``:

============  =================================================================
type          columns filled besides the common ones
============  =================================================================
web_vital     vital_name, vital_value, vital_rating (pipeline.vitals.rate: the contract's
              bounds, whatever rating the event carried), target (attribution target)
error         error_kind, error_type, error_message, platform, level, logger,
              server_name, transaction; kind=api also duration_ms and http_* from its
              request; kind=resource http_url (the failing URL); kind=backend (a server's
              error) no browser, OS or device: the client is a server, not a visitor's browser
api_call      duration_ms, http_method, http_url, http_status
resource      duration_ms, http_url (the fetched URL)
time_on_page  duration_ms
click         target (CSS selector, else element id), click_text, click_href
form_submit   target (form id, else name), name (form name)
custom        name
identify      user_id (the event's, else data.user_id)
============  =================================================================

``platform`` is ``javascript`` for every other event (Vigil's own SDK is the browser's).
``fingerprint`` is the error group (``steps.put_fingerprint``), 0 for other types;
``country``/``region``/``city`` come from ``steps.put_geo`` and the referrer and UTM columns
from ``steps.put_traffic_source``.
``data`` keeps the type-specific payload verbatim as JSON for drill-down. Timestamps
become epoch milliseconds: clickhouse-connect writes ints to a ``DateTime64(3)`` column
without per-value conversion.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from pipeline import vitals
from pipeline.contract.sentry_errors import BACKEND_KIND, DEFAULT_LEVEL
from pipeline.processor.steps import Dropped, Event

BROWSER_PLATFORM = "javascript"  # Vigil's own SDK's, and every event but a backend's errors

COLUMNS: tuple[str, ...] = (
    "project_id", "type", "timestamp", "event_id", "received_at",
    "session_id", "visitor_id", "user_id", "release", "environment",
    "url", "path", "referrer", "title",
    "browser", "browser_version", "os", "os_version", "device", "client_ip", "user_agent",
    "sdk_name", "sdk_version", "tags",
    "vital_name", "vital_value", "vital_rating",
    "error_kind", "error_type", "error_message",
    "duration_ms", "http_method", "http_url", "http_status",
    "target", "name", "data",
    "fingerprint",  # 002_event_dimensions.sql; the processor's replaces the column's default
    "country",  # 002_event_dimensions.sql; steps.put_geo
    "region", "city",  # 040_geo_and_traffic_source.sql; steps.put_geo
    "referrer_source", "referrer_domain",  # 040; steps.put_traffic_source
    "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content",
    "click_text", "click_href",  # 078_click_text_href.sql
    "platform", "level", "logger", "server_name", "transaction",  # 079_backend_errors.sql
)

Row = tuple  # one value per COLUMNS entry, in that order

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND = timedelta(milliseconds=1)


def epoch_ms(when: datetime) -> int:
    """Aware datetime → whole milliseconds since the epoch (exact, no float rounding)."""
    return (when - _EPOCH) // _MILLISECOND


def _tag_value(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) is bool:
        return "true" if value else "false"
    return str(value)


def event_row(event: Event) -> Row | Dropped:
    """The ``events`` row for one validated, enriched event (see the module's table).

    The event passed the contract, so every field the schema names has its type; only the
    presence of optional fields is checked here.
    """
    event_type = event["type"]
    data = event.get("data") or {}
    try:
        data_json = orjson.dumps(data)
    except orjson.JSONEncodeError as exc:
        return Dropped("too_deep", f"data cannot be stored as JSON: {exc}", "data")

    page = event.get("page") or _EMPTY
    sdk = event.get("sdk") or _EMPTY
    tags = event.get("tags")
    user_id = event.get("user_id", "")

    vital_name = vital_rating = error_kind = error_type = error_message = ""
    http_method = http_url = target = name = click_text = click_href = ""
    platform, level, logger, server_name, transaction = BROWSER_PLATFORM, "", "", "", ""
    browser = (event["browser"], event["browser_version"], event["os"], event["os_version"], event["device"])
    vital_value = duration_ms = 0.0
    http_status = 0

    if event_type == "web_vital":
        vital_name = data["name"]
        vital_value = float(data["value"])
        # rated here from contract/vitals.json, the one source: a Sentry SDK sends no rating
        vital_rating = vitals.rate(vital_name, vital_value)
        target = (data.get("attribution") or _EMPTY).get("target", "")
    elif event_type == "resource":
        http_url = data["name"]
        duration_ms = float(data["duration"])
    elif event_type == "api_call":
        http_method = data["method"]
        http_url = data["url"]
        http_status = data.get("status", 0)
        duration_ms = float(data.get("duration", 0.0))
    elif event_type == "click":
        target = data.get("selector") or data.get("element_id", "")
        click_text = data.get("text", "")
        click_href = data.get("href", "")
    elif event_type == "time_on_page":
        duration_ms = float(data["duration"])
    elif event_type == "error":
        error_kind = data["kind"]
        error_type = data.get("type", "")
        error_message = data["message"]
        request = data.get("request")
        if request:
            http_method = request["method"]
            http_url = request["url"]
            http_status = request.get("status", 0)
            duration_ms = float(request.get("duration", 0.0))
        elif error_kind == "resource":
            http_url = data.get("source", "")
        platform = data.get("platform", BROWSER_PLATFORM)
        level = data.get("level", DEFAULT_LEVEL)
        logger, server_name = data.get("logger", ""), data.get("server_name", "")
        transaction = data.get("transaction", "")
        if error_kind == BACKEND_KIND:
            browser = _NO_BROWSER
    elif event_type == "form_submit":
        name = data.get("form_name", "")
        target = data.get("form_id") or name
    elif event_type == "custom":
        name = data["name"]
    elif event_type == "identify":
        user_id = user_id or data["user_id"]

    return (
        event["project_id"],
        event_type,
        epoch_ms(event["timestamp"]),  # steps.validate parsed it
        event["event_id"],
        epoch_ms(event["received_at"]),
        event["session_id"],
        event["visitor_id"],
        user_id,
        event.get("release", ""),
        event.get("environment", ""),
        page.get("url", ""),
        event["path"],
        page.get("referrer", ""),
        page.get("title", ""),
        *browser,
        event["client_ip"],
        event["user_agent"],
        sdk.get("name", ""),
        sdk.get("version", ""),
        {key: _tag_value(value) for key, value in tags.items()} if tags else _NO_TAGS,
        vital_name,
        vital_value,
        vital_rating,
        error_kind,
        error_type,
        error_message,
        duration_ms,
        http_method,
        http_url,
        http_status,
        target,
        name,
        data_json,
        event["fingerprint"],
        event["country"],
        event["region"],
        event["city"],
        event["referrer_source"],
        event["referrer_domain"],
        event["utm_source"],
        event["utm_medium"],
        event["utm_campaign"],
        event["utm_term"],
        event["utm_content"],
        click_text,
        click_href,
        platform,
        level,
        logger,
        server_name,
        transaction,
    )


_NO_BROWSER = ("", "", "", "", "")
_EMPTY: dict[str, Any] = {}
_NO_TAGS: dict[str, str] = {}
