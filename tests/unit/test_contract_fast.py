"""The fast validation path (collector and processor) gives exactly the contract's verdicts."""

from __future__ import annotations

import copy
import json
import random
from datetime import timedelta

import pytest

from pipeline import contract
from pipeline.contract import fast as validation
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


@pytest.mark.parametrize("mutation", [
    lambda e: e["data"].update(status=201.0),  # JSON Schema's integer, not the contract's
    lambda e: e.update(timestamp="2026-06-15t11:59:58.250z"),  # lower-case: the contract's pattern allows it
    lambda e: e.update(timestamp="2026-02-29T11:59:58.250Z"),  # not a leap year
    lambda e: e.update(timestamp="2026-06-15T11:59:60Z"),  # a leap second: pattern yes, Python no
    lambda e: e.update(timestamp="2026-06-15T11:59:58.250+0200"),
    lambda e: e.update(event_id="abcdefgh\n"),
    lambda e: e.update(timestamp="٢٠٢٦-06-15T11:59:58.250Z"),  # Unicode digits: Python's \d, not ECMA's
])
def test_the_edges_where_json_schema_libraries_differ(mutation):
    (event, now), = [p.values for p in vector_events("valid") if p.id == "mixed_batch[8]"]
    assert event["type"] == "api_call"
    event = copy.deepcopy(event)
    mutation(event)
    assert validation.validate_event(event, now) == contract.validate_event(event, now=now)


def test_random_mutations_of_valid_events_get_the_contracts_verdict():
    rng = random.Random(20260615)
    originals = [p.values for p in vector_events("valid")]
    replacements = [None, True, 0, -1, 1.5, 2.0, 10**12, "", "x" * 300, "ok", [], [1], {}, {"k": "v"},
                    "2026-06-15T11:59:58.250Z", "not-a-date", "LCP", "js", "page_view"]
    disagreements = []
    for attempt in range(3000):
        event, now = copy.deepcopy(rng.choice(originals))
        for _ in range(rng.randint(1, 3)):
            parent, key = _random_slot(rng, event)
            if parent is None:
                break
            if rng.random() < 0.2 and isinstance(parent, dict):
                parent.pop(key, None)
            else:
                parent[key] = copy.deepcopy(rng.choice(replacements))
        fast, slow = validation.validate_event(event, now), contract.validate_event(event, now=now)
        if fast != slow:
            disagreements.append((event, fast, slow))
    assert not disagreements, disagreements[:3]


def test_formats_are_checked_with_fastjsonschemas_patterns():
    schema = validation.fast_schema({"properties": {"at": {"type": "string", "format": "date-time"},
                                                    "both": {"format": "date-time", "pattern": "^2"}}})
    assert "format" not in schema["properties"]["at"] and schema["properties"]["at"]["pattern"].endswith("$")
    assert schema["properties"]["both"]["pattern"] == "^2" and schema["properties"]["both"]["allOf"]


def test_a_format_without_a_fastjsonschema_pattern_means_no_fast_path():
    assert validation.compile_fast({"properties": {"x": {"format": "made-up"}}}) is None


def test_integers_stay_python_ints():
    schema = validation.fast_schema({"properties": {"n": {"type": "integer"}, "m": {"type": ["integer", "null"]}}})
    assert {"$ref": validation.NOT_A_FLOAT_URI} in schema["properties"]["n"]["allOf"]
    assert {"$ref": validation.NOT_A_FLOAT_URI} in schema["properties"]["m"]["allOf"]
    checker = validation.compile_fast({"properties": {"n": {"type": "integer", "minimum": 1},
                                                      "m": {"type": ["integer", "null"]}}})
    assert [checker.is_valid({"n": n}) for n in (42, 2**70, 42.0, 1.5, 0, True, "42")] == [
        True, True, False, False, False, False, False]
    assert [checker.is_valid({"m": m}) for m in (None, 7, 7.0)] == [True, True, False]


def _random_slot(rng: random.Random, value):
    """A random (container, key) somewhere inside ``value``."""
    slots = []

    def walk(node):
        if isinstance(node, dict):
            for key, child in node.items():
                slots.append((node, key))
                walk(child)
        elif isinstance(node, list):
            for index, child in enumerate(node):
                slots.append((node, index))
                walk(child)

    walk(value)
    return rng.choice(slots) if slots else (None, None)


def test_one_fast_validator_per_event_type_and_odd_types_go_to_the_contract():
    schema = contract.load_schema("event")
    assert set(validation.compile_by_type(schema)) == set(schema["properties"]["type"]["enum"])
    (event, now), = [p.values for p in vector_events("valid") if p.id == "page_view[0]"]
    for odd in (["page_view"], {"a": 1}, 7, None, "Page_View"):
        odd_event = {**event, "type": odd}
        assert validation.validate_event(odd_event, now) == contract.validate_event(odd_event, now=now)
        assert validation.validate_event(odd_event, now) is not None


def test_a_type_resolved_validator_checks_that_types_data_shape():
    """Each type's validator must still apply its own ``then``: a page_view without a page is refused."""
    (event, now), = [p.values for p in vector_events("valid") if p.id == "page_view[0]"]
    fast = validation.compile_by_type(contract.load_schema("event"))
    assert fast["page_view"].is_valid(event)
    assert not fast["page_view"].is_valid({k: v for k, v in event.items() if k != "page"})
    assert fast["custom"].is_valid({k: v for k, v in event.items() if k != "page"}) is False  # data lacks name
