"""Sentry's wire format → a v1 envelope, so an unmodified Sentry SDK can send to Vigil.

Two inputs, as Sentry's own ingestion takes them:

- an **envelope** (``POST /api/{project}/envelope/``): a JSON header line, then items, each a
  JSON item header line and a payload — ``length`` bytes when the item header says so, else
  up to the next newline (https://develop.sentry.dev/sdk/data-model/envelopes/);
- a **store** document (``POST /api/{project}/store/``): one JSON event, the legacy endpoint.

Item types that carry what Vigil stores are mapped; every other type (``session``,
``client_report``, ``attachment``, ``profile``, ``replay_*``, …) is accepted and counted as
ignored, as Sentry's Relay accepts item types it does not process.

- ``event`` → one ``error`` (the outermost exception: type, value, frames innermost call
  first, ``mechanism`` → ``handled`` and ``kind`` ``promise`` for unhandled rejections,
  breadcrumbs, fingerprint) — or, for ``captureMessage``, an error of type ``Message``, and for
  ``httpClientIntegration``'s failed requests an API failure of the page (:mod:`.sentry_kinds`)
  — with its platform, level, logger, server, transaction and whole exception chain
  (:mod:`~pipeline.contract.sentry_errors`; a backend's errors are kind ``backend``).
- ``transaction`` (SDKs up to v10) → ``measurements`` as ``web_vital`` events, and a
  ``page_view`` for a ``pageload`` (``navigate``) or ``navigation`` (``spa``) transaction.
- ``span`` (streamed spans, SDK v11: ``application/vnd.sentry.items.span.v2+json``, and the
  single standalone spans of v8–v10) → ``browser.web_vital.<name>.value`` attributes (or
  ``measurements``) as ``web_vital`` events, the pageload/navigation segment as a ``page_view``.

A page's INP and CLS spans come in a later envelope than its pageload segment (they are final
only when the page is left), without a URL of their own. The mapping keeps no state between
envelopes (each collector worker maps on its own): such a span takes its segment's URL when the
segment is in the same envelope, else its route (v8–v10's ``data.transaction``) on the request's
``Origin``, else none — and the processor gives it its session's (the trace's) page view URL
(``pipeline/processor/session_pages.py``), where all of a trace's events meet.

Every v1 event gets the Sentry event's release, environment, ``user.id``, tags, request URL
and SDK name/version. The session is the trace (``contexts.trace.trace_id`` on events, the
span's ``trace_id``): what ties a page's errors and vitals together in Sentry's model. The
visitor is left to the processor's cookieless id (``anon_…``), as for an SDK without
storage. Ids derive from Sentry's event and span ids, so a resent envelope de-duplicates.
Strings are cut to the contract's limits (Sentry's own ingestion trims the same way);
whatever still does not fit is the contract's to reject, event by event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from pipeline.contract import VERSION, Rejection, sentry_checks, sentry_errors, sentry_kinds
from pipeline.contract.sentry_errors import LEVELS, cut as _text, mapping as _dict
from pipeline.contract.unified import as_id, breadcrumb_of

# How many items one envelope may hold (Relay's own limits are per type; this bounds the work).
MAX_ITEMS = 1000
MAPPED_TYPES = frozenset({"event", "transaction", "span"})
ANONYMOUS_VISITOR = "anon_sentry"  # the processor turns it into a cookieless visitor id
DEFAULT_FINGERPRINT = "{{ default }}"

# Sentry's web-vital names → the contract's (FID has none: INP replaced it, and Sentry's SDKs
# no longer send it; ``fp``, first paint, has none either).
VITALS = {"lcp": "LCP", "fcp": "FCP", "cls": "CLS", "ttfb": "TTFB", "inp": "INP"}
# the contract's limits, which mapped strings are cut to
LIMITS = {"short_text": 200, "text": 8192, "url": 8192, "type": 256, "function": 1024, "category": 64,
          "tag_key": 64, "tag_value": 200, "user_id": 256}
MAX_FRAMES = 100
MAX_BREADCRUMBS = 100
MAX_TAGS = 50


class SentryFormatError(ValueError):
    """The request is not a usable Sentry envelope or event: why, as a contract :class:`Rejection`."""

    def __init__(self, reason: str, path: str, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejection(reason, path, message)


@dataclass(frozen=True, slots=True)
class Item:
    type: str
    headers: dict[str, Any]
    payload: bytes


@dataclass(frozen=True, slots=True)
class SentryEnvelope:
    headers: dict[str, Any]
    items: list[Item]

    @property
    def event_id(self) -> str | None:
        value = self.headers.get("event_id")
        return value if isinstance(value, str) else None


@dataclass(slots=True)
class Mapped:
    """What a Sentry request became: v1 events, how many items of each unmapped type it had,
    and the items (or spans) refused before mapping (:mod:`~pipeline.contract.sentry_checks`)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    sdk: dict[str, str] | None = None
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"item", "reason", "path", "message"}

    def envelope(self) -> dict[str, Any] | None:
        """A v1 envelope of the mapped events, or None when there are none (sessions, reports…)."""
        if not self.events:
            return None
        return {"version": VERSION, "sdk": self.sdk or {"name": "sentry", "version": "unknown"}, "events": self.events}


# ── framing ────────────────────────────────────────────────────────────────────────────


def parse_envelope(body: bytes, max_items: int = MAX_ITEMS) -> SentryEnvelope:
    """Split an envelope into its header and items; broken framing raises :class:`SentryFormatError`."""
    if not body.strip():
        raise SentryFormatError("missing_field", "", "the body is empty; a Sentry envelope starts with a JSON header line")
    line, position = _line(body, 0)
    headers = _json_object(line, "header", "the envelope header")
    items: list[Item] = []
    while position < len(body):
        line, position = _line(body, position)
        if not line.strip():  # a trailing newline, or blank lines between items
            continue
        path = f"items[{len(items)}]"
        if len(items) == max_items:
            raise SentryFormatError("too_many", "items", f"the envelope has more than {max_items} items; send fewer per request")
        item_headers = _json_object(line, path, f"item {len(items)}'s header")
        item_type = item_headers.get("type")
        if not isinstance(item_type, str) or not item_type:
            raise SentryFormatError("missing_field", f"{path}.type", f"item {len(items)}'s header has no \"type\"")
        length = item_headers.get("length")
        if length is None:
            payload, position = _line(body, position)
        else:
            if type(length) is not int or length < 0:
                raise SentryFormatError("wrong_type", f"{path}.length",
                                        f"item {len(items)}'s length must be a whole number of bytes, not {length!r}")
            end = position + length
            if end > len(body):
                raise SentryFormatError("out_of_range", f"{path}.length",
                                        f"item {len(items)} says it is {length} bytes but only {len(body) - position} "
                                        "follow; the envelope is truncated or its length is wrong")
            payload, position = body[position:end], end
            if body[position:position + 1] == b"\n":
                position += 1
        items.append(Item(item_type, item_headers, payload))
    return SentryEnvelope(headers, items)


def parse_store(body: bytes) -> SentryEnvelope:
    """A legacy store request (one JSON event) as a one-item envelope."""
    event = _json_object(body, "", "the event")
    item_type = "transaction" if event.get("type") == "transaction" else "event"
    return SentryEnvelope({"event_id": event.get("event_id")} if isinstance(event.get("event_id"), str) else {},
                          [Item(item_type, {"type": item_type}, body)])


def dsn_key(dsn: Any, project_id: int) -> str | None:
    """The public key of an envelope header's ``dsn`` (``http://<key>@host/<project>``) if it names this project."""
    if not isinstance(dsn, str) or "@" not in dsn or "://" not in dsn:
        return None
    authority, _, path = dsn.split("://", 1)[1].partition("/")
    key = authority.rsplit("@", 1)[0].split(":", 1)[0]
    return key if key and path.rstrip("/").rsplit("/", 1)[-1] == str(project_id) else None


def auth_key(header: str | None) -> str | None:
    """``sentry_key`` from an ``X-Sentry-Auth`` header."""
    return auth_param(header, "sentry_key")


def client_sdk(client: str | None) -> dict[str, str] | None:
    """``sentry_client=raven-js/3.27.2`` (query or ``X-Sentry-Auth``) → the SDK's name and version."""
    name, _, version = (client or "").strip().partition("/")
    return _sdk({"name": name, "version": version})


def auth_param(header: str | None, name: str) -> str | None:
    """One parameter of an ``X-Sentry-Auth: Sentry sentry_key=…, sentry_version=7`` header."""
    if not header:
        return None
    text = header.strip()
    if text[:7].lower() == "sentry ":
        text = text[7:]
    for part in text.split(","):
        key, _, value = part.strip().partition("=")
        if key.strip() == name and value.strip():
            return value.strip()
    return None


def _line(body: bytes, start: int) -> tuple[bytes, int]:
    end = body.find(b"\n", start)
    return (body[start:], len(body)) if end < 0 else (body[start:end], end + 1)


def _json_object(raw: bytes, path: str, what: str) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise SentryFormatError("invalid_json", path, f"{what} is not valid UTF-8 JSON ({error})") from None
    if not isinstance(value, dict):
        raise SentryFormatError("not_an_object", path, f"{what} must be a JSON object")
    return value


# ── mapping ────────────────────────────────────────────────────────────────────────────


def to_events(envelope: SentryEnvelope, now: datetime, client: str | None = None,
              origin: str | None = None) -> Mapped:
    """Each mapped item's v1 events, in order; other item types counted as ignored.

    ``client`` is the request's ``sentry_client`` (``sentry.javascript.browser/11.12.0``): the SDK
    for payloads that do not name theirs (old SDKs' store events).
    ``origin``: the request's ``Origin`` (``https://shop.example.com``), which makes a
    standalone span's route (``data.transaction``, v8–v10) and a failed request's route a page URL.
    """
    mapped = Mapped(sdk=_sdk(envelope.headers.get("sdk")) or client_sdk(client))
    segments: dict[Any, str] = {}  # this envelope's pageload/navigation segment URLs, by span id
    for index, item in enumerate(envelope.items):
        if item.type not in MAPPED_TYPES:
            mapped.ignored[item.type] = mapped.ignored.get(item.type, 0) + 1
            continue
        path = f"items[{index}]"
        payload = _json_object(item.payload, path, f"item {index}'s {item.type} payload")
        if item.type == "span":
            mapped.events.extend(span_events(_mappable_spans(payload, index, mapped), now, mapped.sdk, origin, segments))
            continue
        rejection = sentry_checks.event_problem(payload, path)
        if rejection is None and item.type == "transaction":
            rejection = sentry_checks.backend_transaction_problem(payload, path)
        if rejection is not None:
            mapped.rejected.append(sentry_checks.refused(index, rejection))
        elif item.type == "event":
            mapped.events.append(sentry_kinds.refine(error_event(payload, now, mapped.sdk), payload, origin,
                                                     _message(payload)))
        else:
            mapped.events.extend(transaction_events(payload, now, mapped.sdk))
    return mapped


def _mappable_spans(payload: dict[str, Any], index: int, mapped: Mapped) -> list[dict[str, Any]]:
    """A span item's spans (a v2 container's ``items``, or the one standalone span) that can be
    mapped; each other one goes to ``mapped.rejected``."""
    container = isinstance(payload.get("items"), list)
    spans = payload["items"] if container else [payload]
    good = []
    for number, span in enumerate(spans):
        path = f"items[{index}].items[{number}]" if container else f"items[{index}]"
        attributes = _attributes(span) if isinstance(span, dict) else {}
        rejection = sentry_checks.span_problem(span, attributes, path)
        if rejection is None:
            good.append(span)
        else:
            mapped.rejected.append(sentry_checks.refused(index, rejection))
    return good


def error_event(payload: dict[str, Any], now: datetime, sdk: dict[str, str] | None = None) -> dict[str, Any]:
    """A Sentry error (or message) event → one v1 ``error``: the thrown exception, and the
    platform, level, logger, server, transaction and chain of :mod:`~pipeline.contract.sentry_errors`."""
    exceptions = sentry_errors.exceptions_of(payload)
    platform = sentry_errors.platform_of(payload)
    data: dict[str, Any]
    if exceptions:
        exception = exceptions[-1]  # Sentry lists chained exceptions cause first: the last one was thrown
        mechanism = _dict(exception.get("mechanism"))
        data = {
            "kind": sentry_errors.error_kind(platform, mechanism),
            "type": _text(exception.get("type"), LIMITS["type"]) or "Error",
            "message": _text(exception.get("value"), LIMITS["text"]),
            "frames": sentry_errors.frames_of(exception),
            "handled": mechanism["handled"] if isinstance(mechanism.get("handled"), bool) else True,
        }
    else:
        data = {"kind": sentry_errors.error_kind(platform, {}), "type": "Message", "message": _message(payload),
                "handled": True}
    data.update(sentry_errors.event_fields(payload, exceptions))
    crumbs = payload.get("breadcrumbs")
    crumbs = _dict(crumbs).get("values") if isinstance(crumbs, dict) else crumbs
    data["breadcrumbs"] = [_breadcrumb(c, now) for c in _list(crumbs) if isinstance(c, dict)][-MAX_BREADCRUMBS:]
    fingerprint = [_text(p, 256) for p in _list(payload.get("fingerprint")) if p != DEFAULT_FINGERPRINT]
    if fingerprint:
        data["fingerprint"] = fingerprint[:10]
    trace = _dict(_dict(payload.get("contexts")).get("trace"))
    event_id = as_id(payload.get("event_id"), _text(trace.get("span_id"), 64) or "sentry-event")
    event = _common(payload, event_id, trace.get("trace_id"), _timestamp(payload.get("timestamp"), now), sdk)
    event.update(type="error", data=data)
    return event


def transaction_events(payload: dict[str, Any], now: datetime, sdk: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """A Sentry transaction (SDKs up to v10) → its page view and Web Vitals."""
    trace = _dict(_dict(payload.get("contexts")).get("trace"))
    base = as_id(payload.get("event_id"), _text(trace.get("span_id"), 64) or "sentry-transaction")[:48]
    events = []
    navigation = _NAVIGATION.get(_text(trace.get("op"), 64))
    if navigation is not None:
        view = _common(payload, f"{base}-pv", trace.get("trace_id"), _timestamp(payload.get("start_timestamp"), now), sdk)
        view.update(type="page_view", data={"navigation_type": navigation})
        events.append(view)
    when = _timestamp(payload.get("timestamp"), now)
    for key, name in VITALS.items():
        measurement = _dict(_dict(payload.get("measurements")).get(key))
        value = _number(measurement.get("value"))
        if value is None:
            continue
        if measurement.get("unit") == "second":
            value *= 1000
        data: dict[str, Any] = {"name": name, "value": value}
        attribution = _transaction_attribution(payload, trace, key)
        if attribution:
            data["attribution"] = attribution
        vital = _common(payload, f"{base}-{key}", trace.get("trace_id"), when, sdk)
        vital.update(type="web_vital", data=data)
        events.append(vital)
    return events


def span_events(spans: list[dict[str, Any]], now: datetime, sdk: dict[str, str] | None = None,
                origin: str | None = None, segments: dict[Any, str] | None = None) -> list[dict[str, Any]]:
    """Streamed (v2) or standalone spans → page views for pageload/navigation segments, and Web
    Vitals; a span without a URL takes its segment's from these spans or the envelope's earlier
    ones (``segments``, added to), else its route (v8–v10 standalone spans' ``data.transaction``)
    on the request's ``origin``, else none (the processor gives it its trace's page view URL)."""
    pages = segments if segments is not None else {}
    pages.update(_segment_urls(spans))
    events = []
    for span in spans:
        attributes = _attributes(span)
        trace_id = span.get("trace_id")
        segment = attributes.get("sentry.segment.id") or span.get("segment_id") or span.get("span_id")
        url = attributes.get("url.full") or pages.get(segment) or _route_url(attributes.get("transaction"), origin)
        # v11 names them sentry.release, …; v8–v10 standalone spans (INP) carry release,
        # environment and the user's display (e-mail, id or IP) in data
        context = {
            "release": attributes.get("sentry.release") or span.get("release") or attributes.get("release"),
            "environment": attributes.get("sentry.environment") or span.get("environment") or attributes.get("environment"),
            "user": {"id": attributes.get("user.id") or attributes.get("user")},
            "request": {"url": url},
            "tags": span.get("tags"),
            "sdk": {"name": attributes.get("sentry.sdk.name"), "version": attributes.get("sentry.sdk.version")},
        }
        base = as_id(f"{_text(trace_id, 64)}-{_text(span.get('span_id'), 32)}", "sentry-span")[:56]
        navigation = _NAVIGATION.get(_text(attributes.get("sentry.op") or span.get("op"), 64))
        is_segment = (span["is_segment"] is True) if "is_segment" in span else (
            span.get("segment_id") in (None, span.get("span_id")))
        if navigation is not None and is_segment:
            view = _common(context, f"{base}-pv", trace_id, _timestamp(span.get("start_timestamp"), now), sdk)
            view.update(type="page_view", data={"navigation_type": navigation})
            events.append(view)
        when = _timestamp(span.get("end_timestamp") or span.get("timestamp") or span.get("start_timestamp"), now)
        measurements = _dict(span.get("measurements"))
        for key, name in VITALS.items():
            value = _number(attributes.get(f"browser.web_vital.{key}.value"))
            if value is None:
                value = _number(_dict(measurements.get(key)).get("value"))
            if value is None:
                continue
            data: dict[str, Any] = {"name": name, "value": value}
            attribution = _attribution(span, attributes, key)
            if attribution:
                data["attribution"] = attribution
            if isinstance(attributes.get("browser.navigation.type"), str):
                data["navigation_type"] = _text(attributes["browser.navigation.type"], 32)
            vital = _common(context, f"{base}-{key}", trace_id, when, sdk)
            vital.update(type="web_vital", data=data)
            events.append(vital)
    return events


_NAVIGATION = {"pageload": "navigate", "navigation": "spa"}


def _common(payload: dict[str, Any], event_id: str, trace_id: Any, timestamp: str,
            sdk: dict[str, str] | None) -> dict[str, Any]:
    """The fields every v1 event from one Sentry payload shares: ids, release, user, page, tags, SDK."""
    event: dict[str, Any] = {
        "event_id": event_id,
        "timestamp": timestamp,
        "session_id": as_id(trace_id, event_id),
        "visitor_id": ANONYMOUS_VISITOR,
    }
    for name in ("release", "environment"):
        value = _text(payload.get(name), LIMITS["short_text"])
        if value:
            event[name] = value
    user_id = _text(_dict(payload.get("user")).get("id"), LIMITS["user_id"])
    if user_id:
        event["user_id"] = user_id
    request = _dict(payload.get("request"))
    page: dict[str, str] = {}
    if _text(request.get("url"), 1):
        page["url"] = _text(request["url"], LIMITS["url"])
    referrer = _dict(request.get("headers")).get("Referer")
    if isinstance(referrer, str) and referrer:
        page["referrer"] = referrer[:LIMITS["url"]]
    event["page"] = page
    tags = _tags(payload.get("tags"))
    if tags:
        event["tags"] = tags
    own_sdk = _sdk(payload.get("sdk")) or sdk
    if own_sdk:
        event["sdk"] = own_sdk
    return event


def _message(payload: dict[str, Any]) -> str:
    logentry = _dict(payload.get("logentry"))
    message = payload.get("message")
    text = logentry.get("formatted") or logentry.get("message") or (
        _dict(message).get("formatted") if isinstance(message, dict) else message)
    return _text(text, LIMITS["text"])


def _breadcrumb(crumb: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A Sentry breadcrumb in v1's shape: a category always (Sentry's may have only a type), RFC 3339 time."""
    mapped = breadcrumb_of(crumb)
    mapped["category"] = _text(crumb.get("category") or crumb.get("type"), LIMITS["category"]) or "default"
    # required in v1 but a detail in Sentry: an unreadable one must not sink the error it leads to
    stamp = crumb.get("timestamp")
    when = _from_epoch(stamp)
    mapped["timestamp"] = _rfc3339(when) if when is not None else stamp[:40] if isinstance(stamp, str) else _rfc3339(now)
    if "message" in mapped:
        mapped["message"] = _text(mapped["message"], LIMITS["text"])
    level = LEVELS.get(_text(crumb.get("level"), 16))
    if level:
        mapped["level"] = level
    else:
        mapped.pop("level", None)
    if not isinstance(mapped.get("data"), dict):
        mapped.pop("data", None)
    return mapped


def _tags(tags: Any) -> dict[str, Any]:
    """Sentry tags (an object, or a list of pairs) within the contract's limits."""
    pairs = tags.items() if isinstance(tags, dict) else (
        tuple(pair) for pair in _list(tags) if isinstance(pair, (list, tuple)) and len(pair) == 2)
    cleaned: dict[str, Any] = {}
    for key, value in pairs:
        if len(cleaned) == MAX_TAGS or value is None:
            continue
        if not isinstance(value, (str, int, float, bool)):
            try:
                value = orjson.dumps(value).decode()
            except orjson.JSONEncodeError:
                pass  # nested past what JSON can be written with: left as sent, for the contract to refuse
        if isinstance(value, str):
            value = value[:LIMITS["tag_value"]]
        cleaned[str(key)[:LIMITS["tag_key"]]] = value
    return cleaned


def _attributes(span: dict[str, Any]) -> dict[str, Any]:
    """A span's attributes as plain values: v2's ``{"value": …, "type": …}`` unwrapped, v1's ``data`` as is."""
    attributes = span.get("attributes")
    if isinstance(attributes, dict):
        return {k: v.get("value") if isinstance(v, dict) else v for k, v in attributes.items()}
    return _dict(span.get("data"))


def _segment_urls(spans: list[dict[str, Any]]) -> dict[Any, str]:
    """Each segment's page URL, for the vital spans that do not carry one themselves."""
    urls: dict[Any, str] = {}
    for span in spans:
        attributes = _attributes(span)
        url = attributes.get("url.full")
        op = attributes.get("sentry.op") or span.get("op")
        if isinstance(url, str) and op in _NAVIGATION:
            urls[span.get("span_id")] = url
    return urls


def _attribution(span: dict[str, Any], attributes: dict[str, Any], key: str) -> dict[str, str]:
    """What to blame, as Sentry's SDK names it: the LCP element, the largest layout shift's
    source, the INP target and interaction — v11's attributes, or a v8–v10 standalone INP span's
    description (its target) and op (``ui.interaction.click``)."""
    names = {"target": (f"browser.web_vital.{key}.element", f"browser.web_vital.{key}.target",
                        f"browser.web_vital.{key}.source.1"),
             "interaction_type": (f"browser.web_vital.{key}.interaction_type",)}
    attribution = {}
    for name, sources in names.items():
        for source in sources:
            if isinstance(attributes.get(source), str):
                attribution[name] = attributes[source][:LIMITS["text"] if name == "target" else 32]
                break
    op = _text(span.get("op") or attributes.get("sentry.op"), 64)
    if key == "inp" and op.startswith(_INTERACTION):
        if "target" not in attribution and isinstance(span.get("description"), str) and span["description"]:
            attribution["target"] = span["description"][:LIMITS["text"]]
        attribution.setdefault("interaction_type", op.removeprefix(_INTERACTION)[:32])
    return attribution


_INTERACTION = "ui.interaction."
# v8–v10 pageload transactions: what to blame, in ``contexts.trace.data`` (older SDKs: in ``tags``)
_TRANSACTION_ATTRIBUTION = {"lcp": {"target": "lcp.element", "url": "lcp.url"}, "cls": {"target": "cls.source.1"}}


def _transaction_attribution(payload: dict[str, Any], trace: dict[str, Any], key: str) -> dict[str, str]:
    """A transaction's LCP element (and image URL) and largest layout shift's source, kept as
    the vital's attribution as Vigil's SDK reports them."""
    places = (_dict(trace.get("data")), _dict(payload.get("tags")))
    attribution = {}
    for name, source in _TRANSACTION_ATTRIBUTION.get(key, {}).items():
        value = next((place[source] for place in places if isinstance(place.get(source), str) and place[source]), None)
        if value is not None:
            attribution[name] = value[:LIMITS["text"] if name == "target" else LIMITS["url"]]
    return attribution


def _route_url(route: Any, origin: str | None) -> str | None:
    """A standalone span's route (``/cart``, the pageload's transaction name) as a page URL on
    the request's origin — the route alone when the origin is unknown."""
    if not isinstance(route, str) or not route.startswith("/"):
        return None
    return f"{origin.rstrip('/')}{route}" if origin and origin != "null" else route


def _timestamp(value: Any, now: datetime) -> str:
    """Sentry's Unix seconds (or an RFC 3339 string) → RFC 3339 with ms; absent → the collector's clock.

    Anything else is passed on as text, for the contract to refuse (``bad_format``).
    """
    if value is None:
        return _rfc3339(now)
    if isinstance(value, str):
        return value[:40]
    when = _from_epoch(value)
    return _rfc3339(when) if when is not None else _text(value, 40) or "invalid"


def _from_epoch(value: Any) -> datetime | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return datetime.fromtimestamp(value, timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _rfc3339(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _sdk(sdk: Any) -> dict[str, str] | None:
    name, version = _dict(sdk).get("name"), _dict(sdk).get("version")
    if isinstance(name, str) and name and isinstance(version, str) and version:
        return {"name": name[:LIMITS["short_text"]], "version": version[:LIMITS["short_text"]]}
    return None


def _number(value: Any) -> float | int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return value
    return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
