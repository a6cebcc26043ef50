"""What the processor hands the signals (pipeline/stream/samples.py): a sample for every row it
stores and for nothing else, in the order it read the events, packed and read back unchanged.

The signals run no step of their own: whatever the processor refuses (invalid, a bot, no
project) or cannot store never reaches them. These tests drive the processor's real stage
(:class:`~pipeline.stream.batches.StepBatches` with its real steps) over a corpus of good,
invalid, bot and hostile messages, with the sinks replaced by recorders.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pipeline.stream.batches import StepBatches
from pipeline.stream.processor import processor_steps
from pipeline.stream.rows import COLUMNS
from pipeline.stream.samples import RECORD, SIGNAL_VITALS, SampleOutput, pack, unpack
from pipeline.stream.steps import Options
from tests.integration.test_processor import invalid_messages, valid_event, valid_messages

HEADLESS = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36"
AT, RECEIVED_AT, TYPE, PROJECT = (COLUMNS.index(name) for name in ("timestamp", "received_at", "type", "project_id"))


class Recorder:
    """Stands in for the ClickHouse and DLQ sinks: keeps what it is given."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.dead_letters: list[Any] = []

    def extend(self, rows: list[tuple]) -> None:
        self.rows.extend(rows)

    def add(self, record: bytes, key: Any) -> None:
        self.dead_letters.append(record)

    def flush(self) -> None:
        pass


def corpus(project_id: int) -> list[bytes | None]:
    good = valid_event(0, project_id, "samples")
    bots = [orjson.dumps({**good, "client": {"ip": "198.51.100.7", "user_agent": agent}})
            for agent in ("Googlebot/2.1 (+http://www.google.com/bot.html)", HEADLESS, "curl/8.5.0", "")]
    hostile = [orjson.dumps({**good, "client": {"ip": "not-an-ip", "user_agent": "x" * 100_000}}),
               orjson.dumps({**good, "page": {"url": "http://[::1" + "/a" * 5000, "referrer": "%%" * 3000}}),
               orjson.dumps({**good, "project_id": None}), orjson.dumps({**good, "project_id": "7"}),
               None, b"", b"\x00" * 64]
    return ([value for _key, value in valid_messages(project_id, "samples", 0, 300)]
            + [value for _key, value, _reason in invalid_messages(project_id, "samples")] + bots + hostile)


def through_the_processor(messages: list[bytes | None], options: Options) -> tuple[Recorder, list[tuple[bytes, bytes]]]:
    """The messages through the processor's stage; what its sinks got, and the samples it produced."""
    recorder, produced = Recorder(), []
    stage = StepBatches(processor_steps(options), rows=recorder, dead_letters=recorder,  # type: ignore[arg-type]
                        samples=SampleOutput("vigil.samples", lambda topic, key, value: produced.append((key, value))),
                        step_batch=64)
    for offset, value in enumerate(messages):
        stage.add(value, b"session", 0, (), "vigil.events", 0, offset)
    stage.flush()
    return recorder, produced


@pytest.mark.parametrize("drop_headless", [False, True])
def test_the_processor_samples_exactly_the_rows_it_stores_in_their_order(drop_headless):
    messages = corpus(project_id=7)
    recorder, produced = through_the_processor(messages, Options(drop_headless=drop_headless))
    assert len(recorder.rows) >= 300 and recorder.dead_letters  # the corpus reaches both sides
    assert len(recorder.rows) + len(recorder.dead_letters) < len(messages)  # and drops bots

    assert {key for key, _value in produced} == {b"7"}
    samples = [sample for _key, value in produced for sample in unpack(value)]
    assert len(samples) == len(recorder.rows)
    assert [sample["at"] for sample in samples] == [min(row[AT], row[RECEIVED_AT]) for row in recorder.rows]
    assert [sample["error"] for sample in samples] == [int(row[TYPE] == "error") for row in recorder.rows]


def test_runs_of_one_projects_rows_go_out_in_the_order_they_came():
    messages = [orjson.dumps(valid_event(n, project_id, "runs")) for n, project_id in
                enumerate([1, 1, 1, 2, 2, 1, 3, 3, 3, 3])]
    recorder, produced = through_the_processor(messages, Options())
    assert [(key, len(value) // RECORD.size) for key, value in produced] == [
        (b"1", 3), (b"2", 2), (b"1", 1), (b"3", 4)]
    assert [row[PROJECT] for row in recorder.rows] == [1, 1, 1, 2, 2, 1, 3, 3, 3, 3]


def test_a_packed_sample_reads_back_as_it_was_written():
    row = [None] * len(COLUMNS)
    row[PROJECT], row[TYPE], row[AT], row[RECEIVED_AT] = 9, "web_vital", 1_772_443_815_123, 1_772_443_817_000
    row[COLUMNS.index("vital_name")], row[COLUMNS.index("vital_value")] = "CLS", 0.125
    ((project, value),) = pack([tuple(row)])
    assert project == 9 and len(value) == RECORD.size == 17
    assert unpack(value) == [{"at": 1_772_443_815_123, "error": 0, "api_call": 0, "api_failure": 0,
                              "vital": ["CLS", 0.125]}]
    assert len(SIGNAL_VITALS) < 8  # three bits of the flags name the vital
