"""Sentry's ingestion endpoints on the collector, for apps that keep their Sentry SDK.

``POST /api/{project}/envelope/`` (every current Sentry SDK) and ``POST /api/{project}/store/``
(the legacy one-event endpoint), with the DSN ``http://<ingest key>@<collector host>/<project id>``.
The Sentry side of the work — framing and mapping to v1 events — is
:mod:`pipeline.contract.sentry`; here are the HTTP parts, which follow Vigil's own endpoint:
the same project, ``Origin`` and key checks (the key is the DSN's public key, found where
Sentry's SDKs put it: ``X-Sentry-Auth``, ``?sentry_key=`` or the envelope header's ``dsn``),
the same limits, validation and Kafka path, and the answer Sentry gives —
``200 {"id": <event id>}`` — only once Kafka acknowledged; per-event rejections and the
item types that were accepted but not stored are listed beside it.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pipeline.collector import envelope
from pipeline.collector.funnel import Answer, Funnel
from pipeline.collector.problems import envelope_problem, problem
from pipeline.collector.request import Receive, RequestMeta
from pipeline.contract import sentry

# What Sentry's SDKs send: the browser's fetch a string (text/plain, no CORS preflight),
# server SDKs their own envelope type or JSON; Relay takes any, and so does this.
SENTRY_MEDIA_TYPES = frozenset({"text/plain", "application/json", "application/x-sentry-envelope",
                                "application/octet-stream", ""})
SENTRY_PREFLIGHT_HEADERS = [
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type, Content-Encoding, X-Sentry-Auth, sentry-trace, baggage"),
    (b"access-control-max-age", b"86400"),
]
# the SDK reads both to back off (it honours Retry-After when the other is absent)
SENTRY_EXPOSE = (b"access-control-expose-headers", b"Retry-After, X-Sentry-Rate-Limits")


def check_media_type(content_type: str | None) -> None:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in SENTRY_MEDIA_TYPES:
        raise problem("unsupported_media_type",
                      f"Content-Type {content_type!r} is not accepted here; send the Sentry envelope as text/plain "
                      "or application/x-sentry-envelope (the Sentry SDKs do), a store event as application/json")


def header_key(meta: RequestMeta) -> str | None:
    """The DSN's public key from ``X-Sentry-Auth`` or ``?sentry_key=`` (before the body is read)."""
    return sentry.auth_key(meta.header(b"x-sentry-auth")) or meta.query("sentry_key")


async def post_sentry(funnel: Funnel, meta: RequestMeta, receive: Receive) -> Answer:
    """One Sentry envelope or store event → v1 events on Kafka → Sentry's answer (status, body)."""
    project_id = meta.project_id
    key = header_key(meta)
    if key is not None:  # refuse a wrong key before reading a byte of the body
        project = await funnel.authenticate(meta, key)
    else:  # the key is in the envelope's header: the project alone for now
        project = meta.project = await funnel.project_for(meta)
    check_media_type(meta.header(b"content-type"))
    body = await funnel.read_body(meta, receive, key_checked=key is not None)
    try:
        parsed = sentry.parse_envelope(body) if meta.endpoint == "envelope" else sentry.parse_store(body)
        if key is None:
            key = sentry.dsn_key(parsed.headers.get("dsn"), project_id)
            if key is None:
                raise problem("missing_key", "no Sentry key: the DSN's public key goes in X-Sentry-Auth "
                                             "(sentry_key=…), as ?sentry_key= or in the envelope header's dsn; "
                                             f"use the DSN http://<ingest key>@<collector>/{project_id}")
            funnel.check_key(project, key)
            funnel.charge_key(project, meta, len(body))
        client_name = meta.query("sentry_client") or sentry.auth_param(meta.header(b"x-sentry-auth"), "sentry_client")
        mapped = sentry.to_events(parsed, datetime.now(timezone.utc), client_name, meta.origin)
    except sentry.SentryFormatError as error:
        raise envelope_problem(error.rejection) from None
    answer: dict[str, Any] = {"id": parsed.event_id} if parsed.event_id else {}
    status = 200
    document = mapped.envelope()
    if document is not None:
        status, outcome = await funnel.ingest(meta, envelope.check_envelope(document, funnel.max_events))
        status = 200 if status == 202 else status
        answer.update(outcome)
    if mapped.rejected:  # items refused before mapping: listed first, each by its item number
        answer["rejected"] = [*mapped.rejected, *answer.get("rejected", [])]
        if document is None:  # nothing else to deliver: refused like a batch of invalid events
            status = 422
            answer.update(error="no_valid_events", path="items", accepted=0, message=(
                f"all {len(mapped.rejected)} mapped item(s) in the envelope were refused; see `rejected` for why"))
    if mapped.ignored:
        answer["ignored"] = mapped.ignored
    return status, answer
