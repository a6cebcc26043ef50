"""What a Sentry SDK's request carried, read off the wire: its spans and the Web Vitals in them.

The end-to-end tests compare what ClickHouse stored with what the page's SDK really sent, so
they read each request body as Sentry's ingestion reads it — the envelope's items (framing by
:func:`pipeline.contract.sentry.parse_envelope`), in each ``transaction`` the event and its
spans, in each ``span`` item the standalone span (8.x–10.x) or the streamed spans of a
``span.v2`` container (11.x) — and find the vitals by their keys: ``measurements.<name>`` (up
to 10.x) or the attribute ``browser.web_vital.<name>.value`` (11.x). Each vital is reported
with the trace of the span that carries it: the session Vigil stores it under.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

from pipeline.contract import sentry

VITALS = ("lcp", "fcp", "ttfb", "cls", "inp")  # what the SDKs send that Vigil keeps (no FID, no first paint)


def spans_of(envelope: sentry.SentryEnvelope) -> Iterator[dict[str, Any]]:
    """Every transaction, transaction child span, standalone span and streamed span of the envelope."""
    for item in envelope.items:
        if item.type not in ("transaction", "span"):
            continue
        payload = orjson.loads(item.payload)
        if item.type == "transaction":
            yield payload
            yield from payload.get("spans") or ()
        elif isinstance(payload.get("items"), list):  # span.v2: a container of streamed spans
            yield from payload["items"]
        else:
            yield payload


def vital_names(span: dict[str, Any]) -> set[str]:
    """The names of the measurements (up to 10.x) and ``browser.web_vital.*.value`` attributes (11.x) of a span."""
    measurements = span.get("measurements")
    names = set(measurements) if isinstance(measurements, dict) else set()
    attributes = span.get("attributes")
    if isinstance(attributes, dict):
        names |= {key.split(".")[2] for key in attributes
                  if key.startswith("browser.web_vital.") and key.endswith(".value") and key.count(".") == 3}
    return names


def trace_of(span: dict[str, Any], envelope: sentry.SentryEnvelope) -> str:
    """The span's trace (a transaction's is in its ``contexts.trace``), else the envelope header's."""
    trace = span.get("trace_id") or ((span.get("contexts") or {}).get("trace") or {}).get("trace_id")
    return trace or (envelope.headers.get("trace") or {}).get("trace_id") or ""


def sent_vitals(body: bytes | str | None) -> list[tuple[str, str]]:
    """(``LCP``…, trace) of every Web Vital in a request body; none for an empty body (a preflight)."""
    if not body:
        return []
    envelope = sentry.parse_envelope(body.encode() if isinstance(body, str) else body)
    return [(name.upper(), trace_of(span, envelope)) for span in spans_of(envelope)
            for name in sorted(vital_names(span) & set(VITALS))]


def carries_page_load(body: bytes | str | None) -> bool:
    """Whether a request body holds a pageload segment (11.x's streamed ``pageload`` span, or an
    8.x–10.x ``pageload`` transaction): what Vigil stores as the trace's page view."""
    if not body:
        return False
    envelope = sentry.parse_envelope(body.encode() if isinstance(body, str) else body)
    for span in spans_of(envelope):
        attributes = span.get("attributes") or {}
        op = (attributes.get("sentry.op") or {}).get("value") if isinstance(attributes, dict) else None
        op = op or span.get("op") or ((span.get("contexts") or {}).get("trace") or {}).get("op")
        if op == "pageload" and span.get("is_segment", True) is not False:
            return True
    return False
