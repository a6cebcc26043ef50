"""docs/sentry.md's Python rows, measured: what Python's ``sentry-sdk`` sent and what Vigil kept.

``tests/integration/test_sentry_python.py`` calls :func:`measure` with the envelopes the SDK
sent (read off its transport, decompressed) and the error rows ClickHouse holds for its project
and, with ``VIGIL_SENTRY_PYTHON_MATRIX=<file>``, writes :func:`table` there, to paste into
docs/sentry.md. Nothing in the table is written by hand.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from typing import Any

import brotli
import orjson

from pipeline.contract import sentry
from tests.support.sentry_matrix import WHY

# the error columns a backend's error keeps (079_backend_errors.sql), as the table names them
KEPT = (("platform", "platform"), ("level", "level"), ("logger", "logger"), ("server_name", "server name"),
        ("transaction", "transaction"), ("url", "request URL"))
WHY_IGNORED = {**WHY, "sessions": "release health, not a Vigil event; counted in the answer's `ignored`"}
WHY_REFUSED = {"unsupported_item": "server-side tracing, no page or Web Vitals; counted in `refusals_minute`"}


def measure(sent: list[bytes], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The SDK's row: its version, the items it sent, the rows stored (errors by kind, type and
    level), how many errors kept each field and the longest chain, and what was refused."""
    version = ""
    items: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    reasons: dict[str, str] = {}
    now = datetime.now(timezone.utc)
    for body in sent:
        envelope = sentry.parse_envelope(_decoded(body))
        items.update(item.type for item in envelope.items)
        for item in envelope.items:  # Python's SDK names itself in each event, not in the envelope's header
            if not version and item.type in ("event", "transaction"):
                version = (orjson.loads(item.payload).get("sdk") or {}).get("version", "")
        for refusal in sentry.to_events(envelope, now).rejected:
            item_type = envelope.items[refusal["item"]].type
            refused[item_type] += 1
            reasons[item_type] = refusal["reason"]
    errors = [row for row in rows if row["type"] == "error"]
    return {
        "version": version,
        "sent": dict(items),
        "stored": dict(Counter(row["type"] for row in rows)),
        "errors": sorted(f"{row['error_kind']} {row['error_type']} ({row['level']})" for row in errors),
        "platforms": sorted({row["platform"] for row in errors}),
        "kept": {label: sum(1 for row in errors if row[column]) for column, label in KEPT},
        "chain": max((len(row["data"].get("exceptions") or [1]) for row in errors), default=0),
        "with_browser": sum(1 for row in errors if row["browser"] or row["os"] or row["device"]),
        "ignored": {name: count for name, count in items.items() if name not in sentry.MAPPED_TYPES},
        "refused": dict(refused),
        "reasons": reasons,
    }


def table(row: dict[str, Any]) -> str:
    """The measured row as a Markdown table."""
    errors = len(row["errors"])
    sent = ", ".join(f"{name} ×{count}" for name, count in sorted(row["sent"].items()))
    ignored = "; ".join(f"{name} ×{count} ({WHY_IGNORED.get(name, 'not mapped')})"
                        for name, count in sorted(row["ignored"].items())) or "none"
    stored = ", ".join(f"{count} {kind}" + (f" ({', '.join(row['errors'])})" if kind == "error" else "")
                       for kind, count in sorted(row["stored"].items()))
    kept = [f"platform {', '.join(row['platforms'])}"]
    kept += [f"{label} {count}/{errors}" for label, count in row["kept"].items() if label != "platform"]
    kept += [f"a chain of {row['chain']} exceptions, each with its frames",
             f"browser, OS, device on {row['with_browser']}/{errors}"]
    refused = "; ".join(f"{name} ×{count}: {row['reasons'][name]} "
                        f"({WHY_REFUSED.get(row['reasons'][name], WHY.get(name, 'refused'))})"
                        for name, count in sorted(row["refused"].items())) or "none"
    return ("| SDK | version | sent | stored | kept of the errors | accepted, not stored (why) | refused (why) |\n"
            "|---|---|---|---|---|---|---|\n"
            f"| `sentry-sdk` (Python) 2.x | {row['version']} | {sent} | {stored} | {'; '.join(kept)} | {ignored} "
            f"| {refused} |\n")


def _decoded(body: bytes) -> bytes:
    """The SDK's request body: ``br`` when ``brotli`` is importable (the test makes it so), else as sent."""
    try:
        return brotli.decompress(body)
    except brotli.error:
        return body
