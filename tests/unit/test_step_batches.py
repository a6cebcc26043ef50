"""The processor's stage between the topic and its sinks: steps over batches, outcomes to their sink.

The sinks are stand-ins that record what they are handed (the real ones are covered by
``tests/integration/test_processor*.py`` against a real broker and ClickHouse).
"""

from __future__ import annotations

import time

import pytest
from quixstreams.sinks import SinkBackpressureError

from pipeline.processor import steps
from pipeline.processor.app import processor_steps
from pipeline.processor.batches import StepBatches
from pipeline.processor.counters import Counters
from tests.unit.test_processor_app import stamped_page_view

STEPS = processor_steps(steps.Options())


class Rows:
    """Records rows, sends and flushes as the ClickHouse sink would see them."""

    def __init__(self, calls: list) -> None:
        self.calls = calls
        self.rows: list = []

    def start(self) -> None:
        self.calls.append("rows.start")

    def extend(self, values: list) -> None:
        self.rows.extend(values)

    def send_pending(self) -> None:
        self.calls.append(("rows.send_pending", len(self.rows)))

    def send_due(self) -> None:
        pass

    def flush(self) -> None:
        self.calls.append(("rows.flush", len(self.rows)))

    def on_paused(self) -> None:
        self.calls.append("rows.on_paused")

    def close(self) -> None:
        self.calls.append("rows.close")


class DeadLetters:
    """Records dead letters (and whether Kafka took them) as the DLQ sink would."""

    def __init__(self, calls: list, refuse: bool = False) -> None:
        self.calls = calls
        self.refuse = refuse
        self.sent: list = []

    def start(self) -> None:
        self.calls.append("dead_letters.start")

    def add(self, value: bytes, key: object) -> None:
        self.sent.append((key, value))

    def flush(self) -> None:
        self.calls.append(("dead_letters.flush", len(self.sent)))
        if self.refuse:
            raise SinkBackpressureError(retry_after=1.0)

    def on_paused(self) -> None:
        self.calls.append("dead_letters.on_paused")

    def close(self) -> None:
        self.calls.append("dead_letters.close")


def stage(calls: list, **options) -> StepBatches:
    refuse = options.pop("refuse", False)
    return StepBatches(STEPS, rows=Rows(calls), dead_letters=DeadLetters(calls, refuse), **options)


def test_a_checkpoint_runs_the_steps_then_flushes_the_rows_then_the_dead_letters():
    calls: list = []
    counters = Counters()
    batches = stage(calls, counters=counters, step_batch=1000)
    for offset, value in enumerate([stamped_page_view(), b"{", stamped_page_view()]):
        batches.add(value, f"session-{offset}".encode(), 0, (), "vigil.events", 2, offset)
    assert batches.rows.rows == [] and batches.dead_letters.sent == []  # gathered, not run yet
    batches.flush()
    assert calls == [("rows.flush", 2), ("dead_letters.flush", 1)]
    key, record = batches.dead_letters.sent[0]
    assert key == b"session-1" and b'"offset":1' in record  # keyed and traced like its own message
    assert (counters.consumed, counters.kept, counters.checkpoints) == (3, 2, 1)


def test_a_full_step_batch_runs_at_once():
    calls: list = []
    batches = stage(calls, step_batch=2)
    batches.add(stamped_page_view(), b"a", 0, (), "vigil.events", 0, 0)
    assert batches.rows.rows == []
    batches.add(stamped_page_view(), b"b", 0, (), "vigil.events", 0, 1)
    assert len(batches.rows.rows) == 2


def test_the_dlq_refusing_fails_the_checkpoint_after_the_rows():
    calls: list = []
    batches = stage(calls, refuse=True)
    batches.add(b"{", b"a", 0, (), "vigil.events", 0, 0)
    with pytest.raises(SinkBackpressureError):
        batches.flush()
    assert calls == [("rows.flush", 0), ("dead_letters.flush", 1)]


def test_the_timer_sends_on_what_waited_without_another_message_or_a_checkpoint():
    calls: list = []
    batches = stage(calls, max_delay=0.1)
    batches.setup()
    try:
        batches.add(stamped_page_view(), b"a", 0, (), "vigil.events", 0, 0)
        deadline = time.monotonic() + 10
        while ("rows.send_pending", 1) not in calls and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        batches.close()
    assert ("rows.send_pending", 1) in calls
    assert calls[-2:] == ["rows.close", "dead_letters.close"]


def test_backpressure_forgets_what_was_gathered():
    calls: list = []
    batches = stage(calls)
    batches.add(stamped_page_view(), b"a", 0, (), "vigil.events", 0, 0)
    batches.on_paused()
    batches.flush()
    assert batches.rows.rows == [] and calls == ["dead_letters.on_paused", "rows.on_paused",
                                                 ("rows.flush", 0), ("dead_letters.flush", 0)]
