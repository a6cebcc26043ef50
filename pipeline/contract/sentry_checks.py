"""The fields of a Sentry item that the mapping uses as ids and keys, checked before it maps them.

:mod:`pipeline.contract.sentry` cuts and converts whatever Sentry's loosely typed payloads
carry (Relay does the same), and leaves anything else to the contract, event by event. A few
fields it cannot convert: ids it hashes into v1 ids, span ops and segment ids it looks up in
tables, tag keys. An object or array there — nested a thousand levels deep, say — is not a
value to map but a broken item: the item (or, in a span container, the span) is refused with
a :class:`~pipeline.contract.Rejection` naming the field, and its envelope's other items go on.
"""

from __future__ import annotations

from typing import Any

from pipeline.contract import Rejection

# used as ids or table keys by the mapping, so each must be a string (or a number) when present
EVENT_FIELDS = ("event_id",)
TRACE_FIELDS = ("trace_id", "span_id", "op")  # an event's or transaction's contexts.trace
SPAN_FIELDS = ("span_id", "trace_id", "segment_id", "parent_span_id", "op")
SPAN_ATTRIBUTES = ("sentry.op", "sentry.segment.id")
# a transaction from a server SDK (platform python, node, java, …): server-side tracing, which
# Vigil does not store — refused by name, so the answer lists it and refusals_minute counts it
UNSUPPORTED_ITEM = "unsupported_item"
BROWSER_PLATFORMS = frozenset({"javascript"})


def refused(item: int, rejection: Rejection) -> dict[str, Any]:
    """A refused item (or span) as the collector lists it in the answer's ``rejected``."""
    return {"item": item, **rejection.as_dict()}


def event_problem(payload: dict[str, Any], path: str) -> Rejection | None:
    """Why an ``event`` or ``transaction`` payload cannot be mapped, or None."""
    contexts = payload.get("contexts")
    trace = contexts.get("trace") if isinstance(contexts, dict) else None
    return (_fields_problem(payload, EVENT_FIELDS, path)
            or (_fields_problem(trace, TRACE_FIELDS, f"{path}.contexts.trace") if isinstance(trace, dict) else None)
            or _tags_problem(payload.get("tags"), f"{path}.tags"))


def backend_transaction_problem(payload: dict[str, Any], path: str) -> Rejection | None:
    """A transaction whose ``platform`` is not the browser's: why it is refused, or None.

    Vigil keeps the browser's page loads and Web Vitals from transactions; a server SDK's
    transaction (an HTTP handler's or a task's spans and durations) has neither, and no page.
    """
    platform = payload.get("platform")
    if not isinstance(platform, str) or platform in BROWSER_PLATFORMS:
        return None
    trace = payload.get("contexts", {}).get("trace") if isinstance(payload.get("contexts"), dict) else None
    op = trace.get("op") if isinstance(trace, dict) and isinstance(trace.get("op"), str) else "?"
    name = payload.get("transaction") if isinstance(payload.get("transaction"), str) else "?"
    return Rejection(UNSUPPORTED_ITEM, f"{path}.platform",
                     f"a {platform[:64]} transaction ({name[:200]!r}, op {op[:64]!r}) is server-side tracing, which "
                     "Vigil does not store (it keeps browser page loads and Web Vitals); the item is refused and "
                     "counted — set traces_sample_rate=0 in the server's Sentry SDK to stop sending them")


def span_problem(span: Any, attributes: dict[str, Any], path: str) -> Rejection | None:
    """Why one span (``attributes``: its attributes unwrapped) cannot be mapped, or None."""
    if not isinstance(span, dict):
        return Rejection("not_an_object", path, f"{path} must be a JSON object (a span)")
    return (_fields_problem(span, SPAN_FIELDS, path)
            or _fields_problem(attributes, SPAN_ATTRIBUTES, f"{path}.attributes")
            or _tags_problem(span.get("tags"), f"{path}.tags"))


def _fields_problem(values: dict[str, Any], names: tuple[str, ...], path: str) -> Rejection | None:
    for name in names:
        value = values.get(name)
        if isinstance(value, (dict, list)):
            return Rejection("wrong_type", f"{path}.{name}",
                             f"{path}.{name} must be a string, not {_kind(value)}; the item is refused")
    return None


def _tags_problem(tags: Any, path: str) -> Rejection | None:
    """Sentry's tags as a list of ``[key, value]`` pairs: each key must be text (the values are the contract's)."""
    if not isinstance(tags, list):
        return None
    for index, pair in enumerate(tags):
        if isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], (dict, list)):
            return Rejection("wrong_type", f"{path}[{index}]",
                             f"the key of tag {index} must be a string, not {_kind(pair[0])}; the item is refused")
    return None


def _kind(value: Any) -> str:
    return "an object" if isinstance(value, dict) else "an array"
