"""One message through ``process`` — what the processor's step batches do for each message."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import orjson

from pipeline.processor import rows, steps
from pipeline.processor.app import processor_steps, to_row
from pipeline.processor.batches import process, process_many
from pipeline.processor.counters import Counters
from pipeline.processor.dead_letters import Source


STEPS = processor_steps(steps.Options())


def test_the_processor_runs_every_step_then_to_row_as_the_last_named_step():
    assert [step.__name__ for step in STEPS] == [step.__name__ for step in steps.STEPS] + ["to_row"]


def stamped_page_view() -> bytes:
    now = datetime.now(timezone.utc)
    return orjson.dumps({
        "event_id": "01J0ZK4T0001XQ5M8R2B7C9D", "type": "page_view",
        "timestamp": (now - timedelta(seconds=3)).isoformat().replace("+00:00", "Z"),
        "session_id": "s_7f3a9c2e41d8", "visitor_id": "v_0b6e2d94c7a1f3",
        "page": {"url": "https://shop.example.com/cart"}, "data": {},
        "project_id": 9, "received_at": now.isoformat().replace("+00:00", "Z"),
        "client": {"ip": "203.0.113.1", "user_agent": "curl/8.0"},
    })


def test_a_valid_message_becomes_its_row_and_is_counted():
    counters = Counters()
    outcome = process(stamped_page_view(), STEPS, counters=counters)
    assert outcome.dead_letter is None
    row = dict(zip(rows.COLUMNS, outcome.row))
    assert (row["project_id"], row["type"], row["path"]) == (9, "page_view", "/cart")
    assert (counters.consumed, counters.kept, sum(counters.dropped.values())) == (1, 1, 0)


def test_an_invalid_message_becomes_its_dead_letter_with_the_source():
    counters = Counters()
    outcome = process(b"not json", STEPS, counters=counters, source=lambda: Source("vigil.events", 1, 42))
    assert outcome.row is None
    record = orjson.loads(outcome.dead_letter.record)
    assert (record["reason"], record["step"]) == ("invalid_json", "parse")
    assert record["source"] == {"topic": "vigil.events", "partition": 1, "offset": 42}
    assert counters.dropped == {"invalid_json": 1}


def test_a_failing_row_mapping_parks_the_event_instead_of_stopping_the_stream():
    # with only `parse`, the event lacks what the enrichment steps add: the mapping raises
    outcome = process(stamped_page_view(), (steps.parse, to_row))
    record = orjson.loads(outcome.dead_letter.record)
    assert (record["reason"], record["step"]) == ("step_failed", "to_row")
    assert record["event"]["event_id"] == "01J0ZK4T0001XQ5M8R2B7C9D"


def test_an_event_whose_data_cannot_be_a_row_is_a_dead_letter_with_its_reason_not_an_insert():
    # with only `parse` (as another producer's message would be if a step let it through), data
    # nested 300 deep reaches the row mapping, which cannot write it as JSON (orjson: 255 levels)
    event = orjson.loads(stamped_page_view())
    event["data"] = {"deep": "DEEP"}
    raw = orjson.dumps(event).replace(b'"DEEP"', b'{"n":' * 300 + b"{}" + b"}" * 300)  # orjson writes 255 levels
    counters = Counters()
    outcome = process(raw, (steps.parse, to_row), counters=counters,
                          source=lambda: Source("vigil.events", 0, 7))
    assert outcome.row is None
    record = orjson.loads(outcome.dead_letter.record)
    assert (record["reason"], record["path"], record["step"]) == ("too_deep", "data", "to_row")
    assert record["source"] == {"topic": "vigil.events", "partition": 0, "offset": 7}
    assert "raw" in record  # the event itself is too deep to write: its bytes are kept
    assert (counters.kept, dict(counters.dropped)) == (0, {"too_deep": 1})



def test_a_batch_becomes_one_outcome_per_message_with_each_drop_traced_to_its_own_offset():
    counters = Counters()
    asked = []

    def source_of(index):
        asked.append(index)
        return Source("vigil.events", 3, 100 + index)

    outcomes = process_many([stamped_page_view(), b"{", stamped_page_view(), b"[]"], STEPS, counters=counters,
                            source_of=source_of)
    assert [outcome.row is not None for outcome in outcomes] == [True, False, True, False]
    offsets = [orjson.loads(outcomes[index].dead_letter.record)["source"]["offset"] for index in (1, 3)]
    assert offsets == [101, 103] and asked == [1, 3]  # the source is looked up for drops only
    assert (counters.consumed, counters.kept, dict(counters.dropped)) == (
        4, 2, {"invalid_json": 1, "not_an_object": 1})
