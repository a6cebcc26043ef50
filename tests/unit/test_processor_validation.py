"""The processor's fast validation gives exactly the contract's verdicts."""

from __future__ import annotations

import copy
import json
from datetime import timedelta

import pytest

from pipeline import contract
from pipeline.processor import validation
from tests.support import vectors


def vector_events(kind: str):
    """(vector name, index, context-merged event, the vector's now) for every event of a kind."""
    for vector in vectors.load(kind):
        if "envelope" not in vector.doc:
            continue
        envelope = json.loads(vector.body())
        if not isinstance(envelope, dict) or not isinstance(envelope.get("events"), list):
            continue
        for index, event in enumerate(contract.merge_context(envelope)):
            if index >= 20:  # the too-many-events vector repeats one event a thousand times
                break
            yield pytest.param(event, vector.now, id=f"{vector.name}[{index}]")


@pytest.mark.parametrize("event, now", list(vector_events("valid")) + list(vector_events("invalid")))
def test_same_verdict_as_the_contract(event, now):
    assert validation.validate_event(event, now) == contract.validate_event(event, now=now)


def test_there_is_one_specialised_validator_per_event_type():
    assert set(validation._BY_TYPE) == set(contract.load_schema("event")["properties"]["type"]["enum"])


def test_the_clock_window_is_the_contracts():
    (event, now), = [p.values for p in vector_events("valid") if p.id == "page_view[0]"]
    late = copy.deepcopy(event)
    for offset in (validation.MAX_FUTURE + timedelta(minutes=1), -(validation.MAX_AGE + timedelta(minutes=1))):
        assert validation.validate_event(late, now - offset) == contract.validate_event(late, now=now - offset)
        assert validation.validate_event(late, now - offset).reason == "timestamp_out_of_range"


@pytest.mark.parametrize("mutation", [
    lambda e: e.update(type=["page_view"]),
    lambda e: e.update(type=None),
    lambda e: e.update(timestamp="2026-06-15 11:59:58Z"),
    lambda e: e.update(timestamp="2026-06-15T11:59:58"),
    lambda e: e["data"].update(navigation_type="teleport"),
    lambda e: e.update(tags={"k": {"nested": 1}}),
    lambda e: e.update(page={"url": 42}),
])
def test_hostile_events_get_the_contracts_rejection(mutation):
    (event, now), = [p.values for p in vector_events("valid") if p.id == "page_view[0]"]
    event = copy.deepcopy(event)
    mutation(event)
    expected = contract.validate_event(event, now=now)
    assert expected is not None
    assert validation.validate_event(event, now) == expected


def test_a_schema_with_other_conditionals_is_not_specialised():
    schema = {"type": "object", "properties": {"type": {"enum": ["a"]}},
              "allOf": [{"if": {"required": ["x"]}, "then": {"required": ["y"]}}]}
    assert validation.compile_by_type(schema) == {}
