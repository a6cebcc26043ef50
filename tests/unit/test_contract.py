"""The Python contract agrees with the shared vectors: valid ones pass, each invalid one
fails for exactly the reason (and at the path) its file states."""

import json

import pytest

from pipeline import contract
from tests.support import vectors

VALID = vectors.load("valid")
INVALID = vectors.load("invalid")


def check(vector: vectors.Vector) -> tuple[int | None, contract.Rejection | None]:
    """(index of the failing event or None, the first rejection) for one vector."""
    try:
        envelope = json.loads(vector.body())
    except ValueError:
        return None, contract.Rejection("invalid_json", "", "not JSON")
    rejection = contract.validate_envelope(envelope)
    if rejection:
        return None, rejection
    for index, event in enumerate(contract.merge_context(envelope)):
        rejection = contract.validate_event(event, now=vector.now)
        if rejection:
            return index, rejection
    return None, None


def test_there_is_a_valid_vector_for_every_event_type():
    types = {e["type"] for v in VALID for e in v.doc["envelope"]["events"]}
    assert types == set(contract.load_schema("event")["properties"]["type"]["enum"])


def test_there_is_an_invalid_vector_for_every_reason():
    assert {v.doc["reason"] for v in INVALID} == set(contract.REASONS)


@pytest.mark.parametrize("vector", VALID, ids=lambda v: v.name)
def test_valid_vector_passes(vector):
    assert check(vector) == (None, None)


@pytest.mark.parametrize("vector", INVALID, ids=lambda v: v.name)
def test_invalid_vector_fails_for_its_stated_reason(vector):
    index, rejection = check(vector)
    assert rejection is not None, vector.doc["description"]
    assert (rejection.reason, rejection.path) == (vector.doc["reason"], vector.doc["path"])
    assert vector.doc["reason"] in contract.REASONS
    if vector.doc["level"] == "event":
        assert index == vector.doc["index"]
    else:
        assert index is None


def test_event_fields_win_over_context():
    envelope = {"version": 1, "sdk": {"name": "t", "version": "1"},
                "context": {"session_id": "ctx-session", "release": "1.0", "tags": {"a": "ctx", "b": "ctx"}},
                "events": [{"event_id": "e1234567", "release": "2.0", "tags": {"b": "event"}}]}
    [merged] = contract.merge_context(envelope)
    assert merged["session_id"] == "ctx-session"
    assert merged["release"] == "2.0"
    assert merged["tags"] == {"a": "ctx", "b": "event"}
    assert merged["sdk"] == {"name": "t", "version": "1"}


def test_rejection_messages_name_the_problem():
    rejection = contract.validate_event({"event_id": "abcdefgh"})
    assert rejection.reason == "missing_field"
    assert "type" in rejection.message or "timestamp" in rejection.message


@pytest.mark.parametrize("vector", vectors.load("unified"), ids=lambda v: v.name)
def test_unified_document_maps_to_valid_v1_events(vector):
    from collections import Counter

    from pipeline.contract import unified

    document = vector.doc["document"]
    assert unified.is_unified(document)
    envelope = unified.to_envelope(document)
    assert contract.validate_envelope(envelope) is None
    events = list(contract.merge_context(envelope))
    assert [contract.validate_event(e, now=vector.now) for e in events] == [None] * len(events)
    assert Counter(e["type"] for e in events) == vector.doc["expected_types"]
    assert len({e["event_id"] for e in events}) == len(events)
    # resending the same document yields the same ids, so the warehouse keeps one copy
    assert [e["event_id"] for e in unified.to_envelope(document)["events"]] == [e["event_id"] for e in events]
    errors = [e for e in events if e["type"] == "error"]
    assert errors[0]["data"]["frames"][0]["function"] == "myFunction"
    assert errors[0]["data"]["breadcrumbs"][0]["category"] == "ui.click"
    assert errors[1]["data"]["kind"] == "promise"
