"""What a Sentry error event says besides its outermost exception, as Sentry's ingestion keeps it.

:func:`pipeline.contract.sentry.error_event` maps the exception that was thrown (type, message,
frames) and the event's page, release and breadcrumbs; this module adds the rest of the event
for every platform, browser or backend:

- ``platform`` (``javascript``, ``python``, ``node``, …; ``javascript`` when the event names
  none, as old browser SDKs' store events do) and with it the error's ``kind``: a browser's
  errors keep ``js``/``promise``, any other platform's are ``backend`` — not a browser error,
  so they stay out of the browser's error kinds while their group, page and frames are kept;
- ``level`` (Sentry's ``debug``/``info``/``warning``/``error``/``fatal``; ``critical`` →
  ``fatal``, ``log`` → ``info``; ``error`` when absent or unknown, Sentry's default),
  ``logger``, ``server_name``, ``transaction`` and the runtime and OS contexts as one line each;
- every exception of a chain (``raise … from …``, ``__context__``, ``Error.cause``, exception
  groups) as ``exceptions``, in Sentry's order — the first cause first, the thrown one last —
  each with its type, message, module, frames (innermost call first, like ``frames``) and
  ``mechanism`` (``exception_id``, ``parent_id``, ``is_exception_group``, ``source``), only
  when there is more than one: a single exception is the error itself.
"""

from __future__ import annotations

from typing import Any

from pipeline.contract.sentry_checks import BROWSER_PLATFORMS
from pipeline.contract.unified import frame_of

# the contract's limits (contract/schema/v1/event.schema.json, $defs/error and $defs/exception)
SHORT_TEXT = 200
TEXT = 8192
TYPE = 256
URL = 8192
FUNCTION = 1024
MAX_FRAMES = 100
MAX_EXCEPTIONS = 25  # the thrown exception and its nearest 24 causes; the oldest causes go first
DEFAULT_LEVEL = "error"
BACKEND_KIND = "backend"
# Sentry's event levels → the contract's
LEVELS = {"debug": "debug", "info": "info", "log": "info", "warning": "warning", "error": "error",
          "fatal": "fatal", "critical": "fatal"}
MECHANISM_IDS = ("exception_id", "parent_id")


def exceptions_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The event's exceptions, in Sentry's order (causes first, the thrown exception last)."""
    exception = payload.get("exception")
    values = exception.get("values") if isinstance(exception, dict) else exception
    return [value for value in values if isinstance(value, dict)] if isinstance(values, list) else []


def platform_of(payload: dict[str, Any]) -> str:
    """``platform`` lower-cased and cut; ``javascript`` when absent (old browser SDKs send none)."""
    platform = payload.get("platform")
    return platform.strip().lower()[:64] if isinstance(platform, str) and platform.strip() else "javascript"


def error_kind(platform: str, mechanism: dict[str, Any]) -> str:
    """``backend`` for a server's error, else the browser's kind: ``promise`` for an unhandled rejection."""
    if platform not in BROWSER_PLATFORMS:
        return BACKEND_KIND
    return "promise" if "unhandledrejection" in cut(mechanism.get("type"), SHORT_TEXT) else "js"


def event_fields(payload: dict[str, Any], exceptions: list[dict[str, Any]]) -> dict[str, Any]:
    """The v1 ``error`` fields this module adds (see the module's docstring); empty ones left out."""
    platform = platform_of(payload)
    fields: dict[str, Any] = {"platform": platform, "level": LEVELS.get(cut(payload.get("level"), 16).lower(),
                                                                      DEFAULT_LEVEL)}
    for name in ("logger", "server_name", "transaction"):
        value = cut(payload.get(name), SHORT_TEXT)
        if value:
            fields[name] = value
    contexts = mapping(payload.get("contexts"))
    for name in ("runtime", "os"):
        context = mapping(contexts.get(name))
        line = " ".join(cut(context.get(key), SHORT_TEXT) for key in ("name", "version") if context.get(key))
        if line:
            fields[name] = line[:SHORT_TEXT]
    if len(exceptions) > 1:
        fields["exceptions"] = [exception_of(value) for value in exceptions[-MAX_EXCEPTIONS:]]
    return fields


def exception_of(value: dict[str, Any]) -> dict[str, Any]:
    """One exception of a chain: type, message, module, frames innermost first, mechanism."""
    mapped: dict[str, Any] = {"type": cut(value.get("type"), TYPE) or "Error",
                              "message": cut(value.get("value"), TEXT)}
    module = cut(value.get("module"), SHORT_TEXT)
    if module:
        mapped["module"] = module
    frames = frames_of(value)
    if frames:
        mapped["frames"] = frames
    mechanism = mapping(value.get("mechanism"))
    kept: dict[str, Any] = {}
    for name in MECHANISM_IDS:
        if type(mechanism.get(name)) is int and 0 <= mechanism[name] <= 4294967295:
            kept[name] = mechanism[name]
    for name in ("is_exception_group", "handled"):
        if isinstance(mechanism.get(name), bool):
            kept[name] = mechanism[name]
    for name in ("type", "source"):
        text = cut(mechanism.get(name), SHORT_TEXT)
        if text:
            kept[name] = text
    if kept:
        mapped["mechanism"] = kept
    return mapped


def frames_of(value: dict[str, Any]) -> list[dict[str, Any]]:
    """An exception's frames as v1 frames, innermost call first (Sentry lists the oldest first)."""
    stacktrace = value.get("stacktrace")
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    if not isinstance(frames, list):
        return []
    return [frame_of(_frame(frame)) for frame in frames if isinstance(frame, dict)][::-1][:MAX_FRAMES]


def _frame(frame: dict[str, Any]) -> dict[str, Any]:
    """Cut or drop a Sentry frame's fields that would not fit a v1 frame."""
    cleaned: dict[str, Any] = {}
    for name, limit in (("filename", URL), ("function", FUNCTION)):
        if isinstance(frame.get(name), str):
            cleaned[name] = frame[name][:limit]
    for name in ("lineno", "colno"):
        if type(frame.get(name)) is int and frame[name] >= 0:
            cleaned[name] = frame[name]
    if isinstance(frame.get("in_app"), bool):
        cleaned["in_app"] = frame["in_app"]
    return cleaned


def cut(value: Any, limit: int) -> str:
    """A scalar as text of at most ``limit`` characters; an object, array or null as ``""``."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    return str(value)[:limit]


def mapping(value: Any) -> dict[str, Any]:
    """``value`` when it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}
