"""The source write-up's Sentry-like "unified" event (MISSION.md) → a v1 envelope.

One unified document carries several things at once — performance numbers, exceptions,
loose errors, tracking events and breadcrumbs. Each becomes its own v1 event with an id
derived from the document's ``event_id`` (``<event_id>-<n>``), so a resent document
de-duplicates exactly like a resent v1 batch.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from pipeline.contract import VERSION

_ID_OK = re.compile(r"^[A-Za-z0-9_-]{8,64}$")

# unified performance keys → v1 web_vital names (MISSION.md's table)
_VITALS = {"page_load_time": "LOAD", "fcp": "FCP", "lcp": "LCP", "tti": "TTI", "ttfb": "TTFB", "cls": "CLS", "inp": "INP"}
_TRACKING = {"page_view", "click", "form_submit", "time_on_page"}
FRAME_FIELDS = ("filename", "function", "lineno", "colno", "in_app")
BREADCRUMB_FIELDS = ("category", "message", "level", "timestamp", "data")


def is_unified(document: Any) -> bool:
    """A unified document has no ``events`` array but Sentry's ``platform``/``contexts``/… keys."""
    return (
        isinstance(document, dict)
        and "events" not in document
        and "event_id" in document
        and any(k in document for k in ("platform", "contexts", "exception", "tracking", "errors"))
    )


def as_id(value: Any, fallback: str) -> str:
    """``value`` as a contract id: itself if it fits the id pattern, else a stable hash of it.

    An object or array is no id (and may nest too deep to even write out): TypeError.
    """
    text = _scalar_text(value, "an id") if value not in (None, "") else fallback
    return text if _ID_OK.match(text) else hashlib.sha1(text.encode()).hexdigest()[:32]


def _scalar_text(value: Any, what: str) -> str:
    """A string, number or boolean as text; an object or array raises TypeError (the document is refused)."""
    if isinstance(value, (dict, list)):
        raise TypeError(f"{what} must be a string or a number, not {'an object' if isinstance(value, dict) else 'an array'}")
    return str(value)


def frame_of(frame: dict[str, Any]) -> dict[str, Any]:
    """A Sentry stack frame's fields that a v1 frame has (also used by ``contract.sentry``)."""
    return {k: frame[k] for k in FRAME_FIELDS if k in frame}


def breadcrumb_of(crumb: dict[str, Any]) -> dict[str, Any]:
    """A Sentry breadcrumb's fields that a v1 breadcrumb has (also used by ``contract.sentry``)."""
    return {k: v for k, v in crumb.items() if k in BREADCRUMB_FIELDS}


def to_envelope(doc: dict[str, Any]) -> dict[str, Any]:
    base_id = as_id(doc.get("event_id"), "unified")[:48]
    timestamp = doc.get("timestamp")
    user = doc.get("user") or {}
    contexts = doc.get("contexts") or {}
    session = contexts.get("session") or {}
    visitor = as_id(user.get("id"), base_id)
    context: dict[str, Any] = {
        "session_id": as_id(session.get("id") or doc.get("session_id"), visitor),
        "visitor_id": visitor,
    }
    for field in ("release", "environment"):
        if doc.get(field):
            context[field] = doc[field]
    if user.get("id"):
        context["user_id"] = _scalar_text(user["id"], "user.id")
    page_url = (doc.get("request") or {}).get("url") or _first_tracking_url(doc)
    if page_url:
        context["page"] = {"url": page_url}

    events: list[dict[str, Any]] = []

    def add(type_: str, data: dict[str, Any], **extra: Any) -> None:
        event = {"event_id": f"{base_id}-{len(events)}", "type": type_, "timestamp": extra.pop("timestamp", None) or timestamp, "data": data}
        event.update({k: v for k, v in extra.items() if v is not None})
        events.append(event)

    breadcrumbs = [breadcrumb_of(crumb) for crumb in doc.get("breadcrumbs") or [] if isinstance(crumb, dict)]
    performance = contexts.get("performance") or {}
    for key, name in _VITALS.items():
        if isinstance(performance.get(key), (int, float)):
            add("web_vital", {"name": name, "value": performance[key]})
    for resource in performance.get("resources") or []:
        if isinstance(resource, dict):
            add("resource", {"name": resource.get("name", ""), "duration": resource.get("load_time", 0)})
    for exception in (doc.get("exception") or {}).get("values") or []:
        frames = [frame_of(f) for f in (exception.get("stacktrace") or {}).get("frames") or [] if isinstance(f, dict)]
        add("error", {"kind": "js", "type": exception.get("type") or "Error", "message": exception.get("value") or "",
                      "frames": frames, "breadcrumbs": breadcrumbs, "handled": False})
    for error in doc.get("errors") or []:
        message = error.get("message") or ""
        detail = error.get("errorObject") or {}
        data = {"kind": "promise" if "promise" in message.lower() else "js", "type": detail.get("name") or "Error",
                "message": message, "breadcrumbs": breadcrumbs}
        for field in ("source", "lineno", "colno"):
            if error.get(field) is not None:
                data[field] = error[field]
        if detail.get("stack"):
            data["stack"] = detail["stack"]
        add("error", data)
    for item in (doc.get("tracking") or {}).get("events") or []:
        kind = item.get("event")
        if kind not in _TRACKING:
            add("custom", {"name": _scalar_text(kind or "unnamed", "a tracking event's name"), "props": item})
            continue
        data: dict[str, Any] = {}
        if kind == "click":
            data = {"element_id": item.get("elementId", "")}
            data.update({k: item[s] for k, s in (("x", "x_position"), ("y", "y_position")) if s in item})
        elif kind == "form_submit":
            data = {"form_id": item.get("formId", "")}
        elif kind == "time_on_page":
            data = {"duration": item.get("timeSpent", 0)}
        add(kind, data, timestamp=item.get("timestamp"), page={"url": item["url"]} if item.get("url") else None)
    platform = _scalar_text(doc.get("platform") or "unknown", "platform")
    return {"version": VERSION, "sdk": {"name": f"unified.{platform}", "version": "1"},
            "context": context, "events": events}


def _first_tracking_url(doc: dict[str, Any]) -> str | None:
    for item in (doc.get("tracking") or {}).get("events") or []:
        if isinstance(item, dict) and item.get("url"):
            return item["url"]
    return None
