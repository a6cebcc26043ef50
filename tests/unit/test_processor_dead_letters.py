"""A drop → its DLQ record: reason, where, the event (or the raw bytes), and its source."""

from __future__ import annotations

import base64

import orjson

from pipeline.stream import steps
from pipeline.stream.dead_letters import Source, dead_letter

SOURCE = Source("vigil.events", 2, 81723)


def test_record_of_an_invalid_event_carries_the_event():
    raw = orjson.dumps({"event_id": "e-12345678", "type": "teleport", "project_id": 4})
    dropped = steps.run(raw)
    letter = dead_letter(dropped, raw, SOURCE)
    record = orjson.loads(letter.record)
    assert letter.reason == record["reason"] == "missing_field"
    assert record["path"] == "session_id" and "session_id" in record["message"]
    assert record["step"] == "validate" and record["project_id"] == 4
    assert record["event"]["event_id"] == "e-12345678"
    assert record["source"] == {"topic": "vigil.events", "partition": 2, "offset": 81723}
    assert record["failed_at"].endswith("Z") and "raw" not in record
    assert set(record) >= {"reason", "path", "message", "event", "failed_at", "step"}


def test_record_of_unparseable_text_carries_it_raw():
    raw = b'{"event_id": "e1", '
    record = orjson.loads(dead_letter(steps.run(raw), raw, SOURCE).record)
    assert (record["reason"], record["step"], record["raw"]) == ("invalid_json", "parse", '{"event_id": "e1", ')
    assert "event" not in record and "raw_base64" not in record


def test_record_of_non_utf8_bytes_keeps_the_exact_bytes():
    raw = b"\xff\xfe{\x00\x81"
    record = orjson.loads(dead_letter(steps.run(raw), raw, SOURCE).record)
    assert record["reason"] == "invalid_json"
    assert base64.b64decode(record["raw_base64"]) == raw
    assert "\\xff" in record["raw"]


def test_record_of_an_event_too_deep_to_write_falls_back_to_the_bytes():
    raw = b'{"project_id": 1, "a":' + b'{"a":' * 400 + b"1" + b"}" * 401
    event = orjson.loads(raw)
    dropped = steps.Dropped("too_deep", "nested too deep", "data", step="event_row", event=event)
    record = orjson.loads(dead_letter(dropped, raw, SOURCE).record)
    assert record["raw"] == raw.decode() and "event" not in record
    assert record["project_id"] == 1


def test_record_of_an_empty_message():
    record = orjson.loads(dead_letter(steps.run(None), None, None).record)
    assert (record["reason"], record["raw"]) == ("invalid_json", None)
    assert "source" not in record


def test_a_huge_message_leaves_a_bounded_record_kafka_will_take():
    from pipeline.stream.dead_letters import MAX_RECORD_BYTES, PREVIEW_CHARS

    raw = b"\xff" * 900_000  # not UTF-8: as text and base64 it would be ~4.8 MB
    letter = dead_letter(steps.run(raw), raw, SOURCE)
    record = orjson.loads(letter.record)
    assert len(letter.record) <= MAX_RECORD_BYTES
    assert record["truncated"] is True and record["raw_bytes"] == 900_000
    assert len(record["raw"]) == PREVIEW_CHARS and record["reason"] == "invalid_json"


def test_a_huge_invalid_event_keeps_a_preview_instead_of_the_event():
    raw = orjson.dumps({"event_id": "e-12345678", "type": "custom", "project_id": 2, "junk": "x" * 800_000})
    record = orjson.loads(dead_letter(steps.run(raw), raw, SOURCE).record)
    assert "event" not in record and record["truncated"] is True
    assert record["project_id"] == 2 and record["raw"].startswith('{"event_id":"e-12345678"')
