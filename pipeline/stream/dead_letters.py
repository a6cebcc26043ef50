"""A dropped event → its record on the dead-letter topic (``vigil.events.dlq``).

One JSON object per drop, keyed like the input message (the session id)::

    {"reason": "bad_format", "path": "timestamp", "message": "…", "step": "validate",
     "failed_at": "2026-06-15T12:00:00.123Z", "project_id": 3,
     "source": {"topic": "vigil.events", "partition": 2, "offset": 81723},
     "event": {…}}

``event`` is the event as the failing step saw it. When there is none (the message never
parsed) or it cannot be written as JSON (nested too deep), ``raw`` carries the message
instead, as text (undecodable bytes shown as ``\\xNN``), plus ``raw_base64`` with the exact
bytes when they are not UTF-8. ``source`` pins the input message: the processor is
at-least-once, so after a crash or a ClickHouse outage a drop may be recorded twice, and
(topic, partition, offset) tells the copies apart.

A record never exceeds :data:`MAX_RECORD_BYTES` (Kafka refuses messages over about 1 MB by
default, and a refused dead letter would stop the stream): a bigger one keeps the first
:data:`PREVIEW_CHARS` characters of the message as ``raw``, with ``truncated: true`` and the
message's full size in ``raw_bytes``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from pipeline.stream.steps import Dropped

MAX_RECORD_BYTES = 512 * 1024
PREVIEW_CHARS = 16 * 1024


@dataclass(frozen=True, slots=True)
class Source:
    """Where the dropped message was read from."""

    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A drop on its way to the DLQ topic, its record already serialised.

    Serialised as soon as the drop happens, so the sink only has to hand bytes to Kafka.
    """

    reason: str
    record: bytes


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _raw_fields(raw: bytes | None) -> dict[str, Any]:
    if raw is None:
        return {"raw": None}
    try:
        return {"raw": raw.decode("utf-8")}
    except UnicodeDecodeError:
        return {
            "raw": raw.decode("utf-8", "backslashreplace"),
            "raw_base64": base64.b64encode(raw).decode("ascii"),
        }


def dead_letter(dropped: Dropped, raw: bytes | None, source: Source | None = None) -> DeadLetter:
    """Build the DLQ record for ``dropped`` (``raw``: the message value as consumed)."""
    record: dict[str, Any] = {
        "reason": dropped.reason,
        "path": dropped.path,
        "message": dropped.message,
        "step": dropped.step,
        "failed_at": _now(),
    }
    event = dropped.event
    if event is not None:
        project_id = event.get("project_id")
        if type(project_id) is int:
            record["project_id"] = project_id
    if source is not None:
        record["source"] = {"topic": source.topic, "partition": source.partition, "offset": source.offset}
    if event is not None:
        try:
            serialised = orjson.dumps({**record, "event": event})
        except (orjson.JSONEncodeError, TypeError):
            pass  # too deep (orjson writes 255 levels) or not JSON-able: fall back to the bytes
        else:
            if len(serialised) <= MAX_RECORD_BYTES:
                return DeadLetter(dropped.reason, serialised)
    serialised = orjson.dumps({**record, **_raw_fields(raw)})
    if len(serialised) <= MAX_RECORD_BYTES:
        return DeadLetter(dropped.reason, serialised)
    preview = (raw or b"").decode("utf-8", "backslashreplace")[:PREVIEW_CHARS]
    return DeadLetter(dropped.reason, orjson.dumps(
        {**record, "raw": preview, "truncated": True, "raw_bytes": len(raw or b"")}))
