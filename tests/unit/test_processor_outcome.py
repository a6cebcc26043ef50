"""Outcomes are shared, not copied, where the stream branches — and stay immutable."""

from __future__ import annotations

import pickle

import pytest

from pipeline.processor import outcome
from pipeline.processor.dead_letters import DeadLetter
from pipeline.processor.outcome import Outcome


def test_a_pickled_outcome_comes_back_as_the_same_object():
    row = Outcome(row=(1, "page_view"))
    letter = Outcome(dead_letter=DeadLetter("invalid_json", b"{}"))
    for value in (row, letter):
        assert pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)) is value


def test_an_outcome_cannot_change():
    value = Outcome(row=(1,))
    with pytest.raises(AttributeError, match="immutable"):
        value.row = (2,)


def test_the_registry_stays_small_and_an_expired_outcome_fails_loudly():
    first = pickle.dumps(Outcome(row=(0,)))
    for index in range(outcome.REGISTRY_SIZE + 10):
        pickle.loads(pickle.dumps(Outcome(row=(index,))))
    assert len(outcome._registry) <= outcome.REGISTRY_SIZE
    with pytest.raises(RuntimeError, match="registry"):
        pickle.loads(first)
