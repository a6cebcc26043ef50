"""From request bytes to Kafka messages: decode, parse, validate, split and stamp.

Pure functions, no I/O: the HTTP, pixel and WebSocket transports all end here, and the unit
tests call them directly. A whole-request problem raises :class:`~pipeline.collector.problems.Problem`;
a bad *event* never sinks its batch — it is listed in :attr:`Batch.rejected` with its index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from pipeline import contract
from pipeline.contract import fast, unified
# the contract's verdicts, with a Rust fast path for valid events (shared with the processor)
from pipeline.contract.fast import validate_event
from pipeline.collector.problems import envelope_problem, problem

# sendBeacon sends a string body as text/plain (no CORS preflight); fetch sends JSON
ACCEPTED_MEDIA_TYPES = frozenset({"application/json", "text/plain"})

# The envelope's own shape on the same Rust fast path as events (contract.fast): it can only
# say "valid"; whatever it doubts gets the contract's own verdict. Compiled from the very
# document contract.validate_envelope compiles (envelope schema with the event $defs inlined).
_FAST_ENVELOPE = fast.compile_fast(contract._bundled_envelope_schema())


def validate_envelope(document: Any) -> contract.Rejection | None:
    """Same answer as ``contract.validate_envelope``, a few µs faster for valid envelopes."""
    if _FAST_ENVELOPE is not None and type(document) is dict and _FAST_ENVELOPE.is_valid(document):
        return None
    return contract.validate_envelope(document)


@dataclass(slots=True)
class Batch:
    """One envelope's outcome: Kafka messages for the valid events, reasons for the rest."""

    messages: list[tuple[bytes, bytes]] = field(default_factory=list)  # (key = session_id, value = JSON)
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"index", "reason", "path", "message"}

    @property
    def accepted(self) -> int:
        return len(self.messages)


def check_media_type(content_type: str | None) -> None:
    """Refuse anything but JSON or text/plain (charset and other parameters are fine)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type not in ACCEPTED_MEDIA_TYPES:
        shown = f"Content-Type {content_type!r}" if content_type else "a request without Content-Type"
        raise problem(
            "unsupported_media_type",
            f"{shown} is not accepted; send the envelope as application/json (fetch) or text/plain (sendBeacon)",
        )


def parse_envelope(raw: bytes | str, max_events: int) -> dict[str, Any]:
    """JSON → a checked v1 envelope (a unified, Sentry-like document is mapped to one first)."""
    document = loads(raw)
    if unified.is_unified(document):
        document = from_unified(document)
    return check_envelope(document, max_events)


def loads(raw: bytes | str) -> Any:
    """The body as JSON, or a 400 saying why it is not."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise envelope_problem(contract.Rejection(
            "invalid_json", "", f"the body is not valid UTF-8 JSON ({error}); send one JSON object")) from None


def from_unified(document: dict[str, Any]) -> dict[str, Any]:
    """A unified (Sentry-like) document → the v1 envelope it stands for, or a 400 naming the wrong shape."""
    try:
        return unified.to_envelope(document)
    except (AttributeError, TypeError, KeyError) as error:
        raise envelope_problem(contract.Rejection(
            "wrong_type", "", f"this looks like a unified (Sentry-like) document, but a field has the wrong "
                              f"shape ({error}); compare it with MISSION.md's unified format")) from None


def check_envelope(document: Any, max_events: int) -> dict[str, Any]:
    """A v1 envelope's own shape and size, whether it came as JSON or was mapped from Sentry's format."""
    rejection = validate_envelope(document)
    if rejection is not None:
        raise envelope_problem(rejection)
    if len(document["events"]) > max_events:
        raise envelope_problem(contract.Rejection(
            "too_many", "events",
            f"the batch has {len(document['events'])} events; this collector takes at most {max_events} per request"))
    return document


_second: tuple[int, str] = (0, "")  # the last whole second formatted, reused by every request in it


def received_at(now: datetime) -> str:
    """RFC 3339 with milliseconds, UTC, ``Z``: the form every Vigil timestamp takes."""
    global _second
    epoch_second = int(now.timestamp())
    if _second[0] != epoch_second:
        _second = (epoch_second, now.strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{now.microsecond // 1000:03d}Z"


def split(
    envelope: dict[str, Any],
    project_id: int,
    client: dict[str, str],
    now: datetime | None = None,
) -> Batch:
    """Merge the context into each event, validate it, and stamp the valid ones for Kafka.

    Stamps: ``project_id``, ``received_at`` and ``client`` (``ip``, ``user_agent``) — the
    collector's word, which overrides anything a client may have put in those fields.
    """
    now = now or datetime.now(timezone.utc)
    stamp = received_at(now)
    validate = validate_event
    dumps = orjson.dumps
    batch = Batch()
    messages, rejected = batch.messages, batch.rejected
    for index, event in enumerate(contract.merge_context(envelope)):
        rejection = validate(event, now=now)
        if rejection is not None:
            rejected.append({"index": index, "reason": rejection.reason, "path": rejection.path,
                             "message": rejection.message})
            continue
        event["project_id"] = project_id
        event["received_at"] = stamp
        event["client"] = client
        messages.append((event["session_id"].encode(), dumps(event)))
    return batch


def outcome(batch: Batch) -> tuple[int, dict[str, Any]]:
    """The answer for a batch whose valid events Kafka acknowledged (or that had none)."""
    if not batch.messages:
        count = len(batch.rejected)
        return 422, {"error": "no_valid_events", "path": "events",
                     "message": f"all {count} event{'s' if count != 1 else ''} in the batch were rejected; "
                                "see `rejected` for each one's reason",
                     "accepted": 0, "rejected": batch.rejected}
    return 202, {"accepted": batch.accepted, "rejected": batch.rejected}
