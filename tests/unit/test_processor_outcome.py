"""An Outcome is a row, a dead letter or neither — and cannot change once made."""

from __future__ import annotations

import pytest

from pipeline.processor.batches import FILTERED
from pipeline.processor.dead_letters import DeadLetter
from pipeline.processor.outcome import Outcome


def test_an_outcome_carries_a_row_or_a_dead_letter():
    row = Outcome(row=(1, "page_view"))
    letter = Outcome(dead_letter=DeadLetter("invalid_json", b"{}"))
    assert (row.row, row.dead_letter) == ((1, "page_view"), None)
    assert (letter.row, letter.dead_letter.reason) == (None, "invalid_json")


def test_a_filtered_event_is_neither():
    assert FILTERED.row is None and FILTERED.dead_letter is None


def test_an_outcome_cannot_change():
    value = Outcome(row=(1,))
    with pytest.raises(AttributeError):
        value.row = (2,)  # type: ignore[misc]
