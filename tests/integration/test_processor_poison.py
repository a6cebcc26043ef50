"""A poison message on ``vigil.events`` (issue 13, item 4), through the real Kafka broker and
ClickHouse as tests/integration/test_processor.py runs ``vigil process``: an event that did not
come through the collector — a replay, another producer, an older collector — with data nested
deeper than Vigil can store goes to the DLQ with its reason, and the stream goes on."""

from __future__ import annotations

import time

import orjson
import pytest

# the processor process and its helpers: test_processor's
from tests.integration.test_processor import (  # noqa: F401 - make_processor is a fixture, used by name
    counts, make_processor, produce, project_id, read_dlq, valid_event, valid_messages, wait_for_rows)

pytestmark = pytest.mark.integration


def nested(event: dict, field: str, levels: int) -> bytes:
    """``event`` as the bytes another producer would write, its ``field`` nested ``levels`` arrays
    deep (orjson reads 1024 levels but writes 255, so the text is spliced in)."""
    document = dict(event)
    if field == "props":
        document.update(type="custom", data={"name": "poison", "props": {"v": "DEEP"}})
    else:
        document[field] = "DEEP"
    return orjson.dumps(document).replace(b'"DEEP"', b"[" * levels + b"1" + b"]" * levels)


def test_an_event_nested_too_deep_goes_to_the_dlq_with_its_reason_and_the_stream_goes_on(make_processor, kafka, clickhouse):
    project = project_id()
    processor = make_processor(clickhouse.url, batch_size=500)
    before = valid_messages(project, processor.run, 0, 300)
    after = valid_messages(project, processor.run, 300, 600)
    poison = [
        # data nested ~300 deep: passed the contract and became a `Dropped` inside an insert
        (f"poison-{processor.run}-props".encode(), nested(valid_event(10_000, project, processor.run), "props", 300)),
        # just past the contract's bound, where orjson could still write it
        (f"poison-{processor.run}-bound".encode(), nested(valid_event(10_001, project, processor.run), "props", 40)),
        # an unknown field nested as deep
        (f"poison-{processor.run}-extra".encode(), nested(valid_event(10_002, project, processor.run), "extra", 300)),
    ]
    produce(kafka.bootstrap, processor.events_topic, before + poison + after)

    processor.start()
    client = clickhouse.client()
    good = len(before) + len(after)
    assert wait_for_rows(client, project, good, processor) == (good, good)

    records = read_dlq(kafka.bootstrap, processor.dlq_topic, {key for key, _ in poison})
    assert set(records) == {key for key, _ in poison}  # nothing good went to the DLQ
    for key, _ in poison:
        record = records[key][0]
        assert (record["reason"], record["step"]) == ("too_deep", "validate"), record
        assert "32 levels" in record["message"]
        assert record["project_id"] == project and record["source"]["topic"] == processor.events_topic
    time.sleep(2)  # a late row of a poison message would show up now
    assert counts(client, project) == (good, good)  # every good event, once; no poison row
    assert processor.alive, processor.log_tail()
