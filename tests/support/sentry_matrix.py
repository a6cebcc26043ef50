"""docs/sentry.md's compatibility table, measured: what each Sentry major sent and what Vigil kept.

``tests/e2e/test_sentry_browser.py`` calls :func:`measure` for each major's visit (the envelopes
the page's SDK sent, read off the wire, and the rows ClickHouse holds for its project) and,
with ``VIGIL_SENTRY_MATRIX=<file>``, writes :func:`table` of all majors there, to paste into
docs/sentry.md. Nothing in the table is written by hand.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

from pipeline.contract import merge_context, sentry, validate_event
from tests.support import sentry_wire

# why what was accepted is not stored (the collector counts those items in its answer's ``ignored``)
WHY = {
    "session": "release health, not a Vigil event; counted in the answer's `ignored`",
    "client_report": "the SDK's count of what it dropped itself; counted in `ignored`",
}
NO_VITAL_NAME = "no v1 name: INP replaced FID; first paint, connection and request timings are not vitals"


def measure(sent: list[str], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One major's row: its version, the stored rows by type, the vitals stored with their page,
    release, environment and target, and what was accepted but not stored."""
    version = ""
    items: Counter[str] = Counter()
    unnamed: set[str] = set()
    other_spans = 0
    refused: Counter[str] = Counter()
    for body in sent:
        envelope = sentry.parse_envelope(body.encode())
        refused.update(_refusals(envelope))
        version = version or (envelope.headers.get("sdk") or {}).get("version", "")
        items.update(item.type for item in envelope.items)
        for span in sentry_wire.spans_of(envelope):
            names = sentry_wire.vital_names(span)
            unnamed |= names - set(sentry.VITALS)
            op = _op(span)
            if not names & set(sentry.VITALS) and op not in ("pageload", "navigation"):
                other_spans += 1
    vitals = [row for row in rows if row["type"] == "web_vital"]
    return {
        "version": version,
        "sent": dict(items),
        "stored": dict(Counter(row["type"] for row in rows)),
        "errors": sorted({f"{row['error_kind']} {row['error_type']}" for row in rows if row["type"] == "error"}),
        "vitals": sorted({row["vital_name"] for row in vitals}),
        "vitals_with_page": sorted({row["vital_name"] for row in vitals
                                    if row["url"] and row["path"] and row["release"] and row["environment"]}),
        "targets": sorted({row["vital_name"] for row in vitals if row["target"]}),
        "ignored": {name: count for name, count in items.items() if name not in sentry.MAPPED_TYPES},
        "unnamed_measurements": sorted(unnamed),
        "other_spans": other_spans,
        "refused": dict(refused),
    }


def table(rows: dict[str, dict[str, Any]]) -> str:
    """The measured rows as a Markdown table, one line per major (oldest first)."""
    lines = ["| SDK | version | stored | vitals with page, release, environment | vitals with target "
             "| accepted, not stored (why) | refused |",
             "|---|---|---|---|---|---|---|"]
    for major in sorted(rows, key=int):
        row = rows[major]
        stored = ", ".join(f"{count} {kind}" + (f" ({', '.join(row['errors'])})" if kind == "error" else "")
                           for kind, count in sorted(row["stored"].items()))
        refused = ", ".join(f"{reason} ×{count}" for reason, count in sorted(row["refused"].items())) or "none"
        kept = [f"{name} ×{count} ({WHY.get(name, 'not mapped')})" for name, count in sorted(row["ignored"].items())]
        if row["unnamed_measurements"]:
            kept.append(f"measurements {', '.join(row['unnamed_measurements'])} ({NO_VITAL_NAME})")
        if row["other_spans"]:
            kept.append(f"{row['other_spans']} spans without a vital (resource, http.client, browser timings: "
                        "Vigil keeps page views and vitals)")
        lines.append(f"| `@sentry/browser` {major}.x | {row['version']} | {stored}; vitals {', '.join(row['vitals'])} "
                     f"| {', '.join(row['vitals_with_page'])} | {', '.join(row['targets'])} | {'; '.join(kept)} | {refused} |")
    return "\n".join(lines) + "\n"


def _refusals(envelope: sentry.SentryEnvelope) -> list[str]:
    """The reasons the mapping or the contract refuses any of an envelope's items or events."""
    now = datetime.now(timezone.utc)
    mapped = sentry.to_events(envelope, now)
    reasons = [refusal["reason"] for refusal in mapped.rejected]
    document = mapped.envelope()
    for event in merge_context(document) if document else []:
        rejection = validate_event(event, now=now)
        if rejection is not None:
            reasons.append(rejection.reason)
    return reasons


def _op(span: dict[str, Any]) -> str:
    attributes = span.get("attributes") if isinstance(span.get("attributes"), dict) else {}
    op = (attributes.get("sentry.op") or {}).get("value") if isinstance(attributes.get("sentry.op"), dict) else None
    trace_op = ((span.get("contexts") or {}).get("trace") or {}).get("op")
    return op or span.get("op") or trace_op or ""
