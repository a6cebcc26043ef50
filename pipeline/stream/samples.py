"""The processor's hand-off to the signals: each stored event's :data:`Sample` on ``vigil.samples``.

The processor validates and enriches every event once; for each row it writes to ``events``
it also produces what ``vigil signals`` needs of it, so the signals count exactly the
events the warehouse stores (no bots, nothing invalid, nothing without a project) without
running a step themselves. The samples go out through Quix Streams' own producer, inside
the processor's Kafka transaction (``processing_guarantee="exactly-once"``): a checkpoint's
samples and its consumed offsets are committed together, and a crash aborts both, so the
signals (reading committed messages only) see every stored event once.

The wire format is small on purpose, since the processor produces it for every event: one
Kafka message per run of consecutive rows of one project in a step batch (a whole batch, as a
rule: an envelope's events come together), keyed by the project id (ASCII digits), its value
the run's records back to back in the processor's order, each :data:`RECORD` (17 bytes,
little-endian):

- ``at``: int64, the event's time in epoch ms, but never later than the collector's
  ``received_at`` (a browser clock running ahead, which the contract accepts up to a day,
  would otherwise move the partition's event time forward and close every project's
  current minute early);
- ``flags``: uint8, bit 0 an error, bit 1 an API call, bit 2 a failed one (HTTP status ≥ 400
  or none at all: a network error or timeout), bits 3–5 the Web Vital (1 + its index in
  :data:`SIGNAL_VITALS`, 0: none of them);
- ``value``: float64, the vital's value (0 without one).

Runs, not one message per project per batch: the windows close by their partition's event
time, so a partition must see its samples in the order the processor read the events (a
batch's first project's samples all sent before the second's could be minutes ahead of them
in a replay, and close the second's minutes before its samples came).

The definitions are the warehouse's (``traffic_totals``, ``api_call_totals``), so a signal and
the dashboards agree on the same minute.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Iterable

from pipeline.stream.rows import COLUMNS

# the Web Vitals a signal carries a p75 of (the alert rules' vital_p75 can name any of them)
SIGNAL_VITALS: tuple[str, ...] = ("LCP", "INP", "CLS", "FCP", "TTFB")
RECORD = struct.Struct("<qBd")

ERROR, API_CALL, API_FAILURE = 1, 2, 4
VITAL_SHIFT = 3
_VITAL_BITS = {name: (index + 1) << VITAL_SHIFT for index, name in enumerate(SIGNAL_VITALS)}

# where a row (rows.COLUMNS order) keeps what a sample needs
_PROJECT, _TYPE, _TIMESTAMP, _RECEIVED_AT, _VITAL_NAME, _VITAL_VALUE, _HTTP_STATUS = (
    COLUMNS.index(name) for name in
    ("project_id", "type", "timestamp", "received_at", "vital_name", "vital_value", "http_status"))

# One event, as much of it as the window needs:
# {"at": epoch ms, "error": 0|1, "api_call": 0|1, "api_failure": 0|1, "vital": ["LCP", 2380.0] | None}
Sample = dict[str, Any]
Produce = Callable[[str, bytes, bytes], None]  # (topic, key, value)


class MalformedSamples(ValueError):
    """A ``vigil.samples`` message that is not whole :data:`RECORD` s (not written by this version)."""


def record_of(row: tuple) -> bytes:
    """An ``events`` row (``rows.COLUMNS`` order, as the processor writes it) → its packed sample."""
    event_type = row[_TYPE]
    flags = value = 0
    if event_type == "error":
        flags = ERROR
    elif event_type == "api_call":
        status = row[_HTTP_STATUS]
        flags = API_CALL | API_FAILURE if not status or status >= 400 else API_CALL
    elif event_type == "web_vital":
        bits = _VITAL_BITS.get(row[_VITAL_NAME])
        if bits is not None:
            flags, value = bits, row[_VITAL_VALUE]
    return RECORD.pack(min(row[_TIMESTAMP], row[_RECEIVED_AT]), flags, value)


def pack(rows: Iterable[tuple]) -> list[tuple[int, bytes]]:
    """Rows → (project id, the packed samples) per run of consecutive rows of one project, in order."""
    runs: list[tuple[int, bytes]] = []
    project, records = None, []
    for row in rows:
        if row[_PROJECT] != project:
            if records:
                runs.append((project, b"".join(records)))  # type: ignore[arg-type]
            project, records = row[_PROJECT], []
        records.append(record_of(row))
    if records:
        runs.append((project, b"".join(records)))  # type: ignore[arg-type]
    return runs


def unpack(value: bytes | None) -> list[Sample]:
    """A ``vigil.samples`` message's value → its samples; :class:`MalformedSamples` if it is not whole records."""
    if not value or len(value) % RECORD.size:
        raise MalformedSamples(f"a samples message must be whole {RECORD.size}-byte records, got "
                               f"{len(value or b'')} bytes; is every processor of this version?")
    samples = []
    for at, flags, vital_value in RECORD.iter_unpack(value):
        vital = flags >> VITAL_SHIFT
        if vital > len(SIGNAL_VITALS):
            raise MalformedSamples(f"a sample names Web Vital #{vital}; there are {len(SIGNAL_VITALS)}")
        samples.append({"at": at, "error": flags & ERROR, "api_call": (flags & API_CALL) >> 1,
                        "api_failure": (flags & API_FAILURE) >> 2,
                        "vital": [SIGNAL_VITALS[vital - 1], vital_value] if vital else None})
    return samples


class SampleOutput:
    """Sends the samples of the processor's rows to ``topic`` through ``produce``.

    ``produce`` is the application's own (transactional) producer's, so the samples commit
    with the checkpoint's offsets (:func:`pipeline.stream.processor.build_app`).
    """

    def __init__(self, topic: str, produce: Produce) -> None:
        self.topic = topic
        self.produce = produce
        self.sent = 0  # samples, not messages

    def send(self, rows: list[tuple]) -> None:
        """One message per run of one project's rows (:func:`pack`)."""
        for project, value in pack(rows):
            self.produce(self.topic, str(project).encode(), value)
        self.sent += len(rows)
