"""The dead-letter topic → the ``dead_letters`` table, so DLQ volume by reason is queryable.

``vigil process`` consumes ``vigil.events.dlq`` as a second stream of its Quix Streams
application and sinks :func:`dead_letter_row` rows through the same ``ClickHouseSink``
(batched, back-pressured, committed after the insert). The table is a ReplacingMergeTree
keyed by the dropped message's source (topic, partition, offset) and reason, so a drop that
was recorded twice (the processor is at-least-once) counts once when read with ``FINAL``.
A record without a ``source`` (written by something other than the processor) is keyed by
its own DLQ coordinates.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import orjson

COLUMNS: tuple[str, ...] = (
    "failed_at", "reason", "step", "path", "message", "project_id", "event_type", "event_id",
    "source_topic", "source_partition", "source_offset", "record",
)
MAX_RECORD_CHARS = 64 * 1024  # a record's JSON kept for drill-down (the DLQ has the rest)


def _epoch_ms(text: Any) -> int:
    if isinstance(text, str):
        try:
            return int(datetime.fromisoformat(text).timestamp() * 1000)
        except ValueError:
            pass
    return int(time.time() * 1000)


def _text(value: Any, limit: int = 4096) -> str:
    return value[:limit] if isinstance(value, str) else ""


def dead_letter_row(value: bytes | None, topic: str, partition: int, offset: int) -> tuple:
    """One DLQ message (the processor's JSON record) → a ``dead_letters`` row.

    ``topic``/``partition``/``offset`` are the DLQ message's own coordinates, the key of a
    record that names no ``source``. A record that is not JSON is kept as reason
    ``unreadable_dead_letter`` rather than lost.
    """
    raw = value or b""
    try:
        record = orjson.loads(raw)
        if not isinstance(record, dict):
            raise ValueError("not an object")
    except (orjson.JSONDecodeError, ValueError):
        record = {"reason": "unreadable_dead_letter"}
    source = record.get("source") if isinstance(record.get("source"), dict) else {}
    src_topic, src_partition, src_offset = source.get("topic"), source.get("partition"), source.get("offset")
    if not (isinstance(src_topic, str) and type(src_partition) is int and type(src_offset) is int):
        src_topic, src_partition, src_offset = topic, partition, offset
    event = record.get("event") if isinstance(record.get("event"), dict) else {}
    project_id = record.get("project_id")
    return (
        _epoch_ms(record.get("failed_at")),
        _text(record.get("reason"), 64) or "unknown",
        _text(record.get("step"), 64),
        _text(record.get("path"), 512),
        _text(record.get("message")),
        project_id if type(project_id) is int and 0 <= project_id < 2**32 else 0,
        _text(event.get("type"), 64),
        _text(event.get("event_id"), 128),
        src_topic,
        max(src_partition, 0),
        max(src_offset, 0),
        raw.decode("utf-8", "backslashreplace")[:MAX_RECORD_CHARS],
    )
