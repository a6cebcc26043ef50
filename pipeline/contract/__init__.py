"""The event contract, version 1: validate envelopes and events, merge batch context.

``contract/schema/v1/*.schema.json`` is the single source of truth; this module compiles it
once (fastjsonschema generates plain Python code, fast enough for the hot path) and turns a
schema violation into a :class:`Rejection` whose ``reason`` is one of :data:`REASONS` — a
closed vocabulary the collector reports to clients, the DLQ carries and dashboards count.

The contract is the bottom of the house (it may import only the settings): beside the v1
schema it holds Sentry's wire format (:mod:`~pipeline.contract.sentry`), the unified
document (:mod:`~pipeline.contract.unified`) and the Web Vitals thresholds
(:mod:`~pipeline.contract.vitals`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import fastjsonschema

from pipeline.settings import REPO_ROOT

# the traffic source of a visit with neither a referrer nor a campaign: the processor files such
# visits under it (pipeline.stream.referrers), the read model asks for it by name
DIRECT = "Direct / None"
SCHEMA_DIR = REPO_ROOT / "contract" / "schema" / "v1"
VERSION = 1

# Every reason an event or envelope can be refused for. Closed on purpose: these are the
# labels of the DLQ-by-reason chart and the values tests pin down.
REASONS = (
    "invalid_json",  # the body is not JSON (or not UTF-8)
    "not_an_object",  # JSON, but not an object where one is required
    "missing_field",  # a required field is absent
    "wrong_type",  # a field has the wrong JSON type
    "unknown_value",  # a value outside an enumeration (e.g. an unknown event type)
    "bad_format",  # a string in the wrong format (timestamp, id pattern)
    "out_of_range",  # a number outside its allowed range
    "too_short",  # a string shorter than allowed
    "too_long",  # a string longer than allowed
    "too_few",  # an array with too few items (e.g. an empty batch)
    "too_many",  # an array or object with too many items
    "too_deep",  # objects and arrays nested deeper than MAX_DEPTH levels (the event counts as one)
    "timestamp_out_of_range",  # timestamp more than 30 days old or more than 24 hours ahead
    "unsupported_version",  # an envelope version this server does not speak
)

_RULE_TO_REASON = {
    "required": "missing_field",
    "type": "wrong_type",
    "enum": "unknown_value",
    "const": "unknown_value",
    "format": "bad_format",
    "pattern": "bad_format",
    "minimum": "out_of_range",
    "maximum": "out_of_range",
    "exclusiveMinimum": "out_of_range",
    "exclusiveMaximum": "out_of_range",
    "minLength": "too_short",
    "maxLength": "too_long",
    "minItems": "too_few",
    "maxItems": "too_many",
    "maxProperties": "too_many",
    "not": "too_deep",  # the schema's only `not` is $defs/depth_0, the floor of the nesting bound
}

# context fields an event inherits from its envelope unless it sets its own
CONTEXT_FIELDS = ("session_id", "visitor_id", "user_id", "release", "environment", "page")


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why something was refused: a closed ``reason``, where (``path``), and in words."""

    reason: str
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "path": self.path, "message": self.message}


def load_schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def _bundled_envelope_schema() -> dict[str, Any]:
    """The envelope schema with event.schema.json's $defs inlined (one document to compile)."""
    event = load_schema("event")
    text = (SCHEMA_DIR / "envelope.schema.json").read_text().replace("event.schema.json#/$defs/", "#/$defs/")
    envelope = json.loads(text)
    envelope["$defs"] = event["$defs"]
    return envelope


def _max_depth(event_schema: dict[str, Any]) -> int:
    """N of the event schema's nesting bound, the ``{"$ref": "#/$defs/depth_N"}`` at the top of its ``allOf``."""
    for clause in event_schema.get("allOf", []):
        ref = clause.get("$ref", "") if isinstance(clause, dict) else ""
        if ref.startswith("#/$defs/depth_"):
            return int(ref.rsplit("_", 1)[1])
    raise ValueError("event.schema.json has no nesting bound ($ref to $defs/depth_N in its allOf)")


# How many levels of objects and arrays an event may nest, the event itself being the first:
# every value of an event is written by orjson (255 levels at most) to Kafka and the warehouse.
MAX_DEPTH = _max_depth(load_schema("event"))

_validate_event_schema = fastjsonschema.compile(load_schema("event"))
_validate_envelope_schema = fastjsonschema.compile(_bundled_envelope_schema())


def _path(error: fastjsonschema.JsonSchemaValueException, prefix: str) -> str:
    parts = [str(p) for p in (error.path or [])[1:]]  # drop the leading "data"
    if error.rule == "required":
        # name the missing field itself, not its parent
        missing = _missing_field(error.message)
        if missing:
            parts.append(missing)
    joined = ".".join(parts)
    return f"{prefix}.{joined}" if prefix and joined else (prefix or joined)


def _missing_field(message: str) -> str | None:
    # fastjsonschema: "data.page must contain ['url'] properties"
    start, end = message.find("['"), message.find("']")
    return message[start + 2 : end].split("', '")[0] if 0 <= start < end else None


def _rejection(error: fastjsonschema.JsonSchemaValueException, prefix: str = "") -> Rejection:
    reason = _RULE_TO_REASON.get(error.rule or "", "wrong_type")
    path = _path(error, prefix)
    if reason == "too_deep":
        return Rejection(reason, path, f"{path or 'the event'} is nested more than {MAX_DEPTH} levels of objects and "
                                       "arrays deep (the event itself counts as one); send flatter data")
    message = error.message.replace("data.", "", 1).replace("data ", "event ", 1)
    return Rejection(reason, path, message)


def validate_envelope(envelope: Any) -> Rejection | None:
    """Check the batch envelope's own shape (version, sdk, context, events array)."""
    if not isinstance(envelope, dict):
        return Rejection("not_an_object", "", "the body must be a JSON object (a Vigil batch envelope)")
    if envelope.get("version", VERSION) != VERSION and isinstance(envelope.get("version"), int):
        return Rejection(
            "unsupported_version", "version",
            f"envelope version {envelope['version']} is not supported; this collector speaks version {VERSION}",
        )
    try:
        _validate_envelope_schema(envelope)
    except fastjsonschema.JsonSchemaValueException as error:
        return _rejection(error)
    return None


def validate_event(
    event: Any,
    now: datetime | None = None,
    max_age: timedelta = timedelta(days=30),
    max_future: timedelta = timedelta(hours=24),
) -> Rejection | None:
    """Check one (context-merged) event against event.schema.json and the clock."""
    if not isinstance(event, dict):
        return Rejection("not_an_object", "", "each event must be a JSON object")
    try:
        _validate_event_schema(event)
    except fastjsonschema.JsonSchemaValueException as error:
        return _rejection(error)
    try:
        when = parse_timestamp(event["timestamp"])
    except ValueError:
        return Rejection("bad_format", "timestamp", f"timestamp {event['timestamp']!r} is not an RFC 3339 date-time")
    now = now or datetime.now(timezone.utc)
    if when > now + max_future or when < now - max_age:
        return Rejection("timestamp_out_of_range", "timestamp", _clock_rule_broken(event["timestamp"], when > now,
                                                                                  max_age, max_future))
    return None


def _clock_rule_broken(timestamp: str, ahead: bool, max_age: timedelta, max_future: timedelta) -> str:
    """Why a timestamp is refused, with the rule: ``… is more than 30 days old; …``."""
    old, future = f"{max_age.days} days", f"{max_future // timedelta(hours=1)} hours"
    rule = f"the collector accepts events up to {old} old and {future} ahead"
    if ahead:
        return f"timestamp {timestamp} is more than {future} ahead; {rule}: check the client clock"
    return f"timestamp {timestamp} is more than {old} old; {rule}"


def parse_timestamp(value: str) -> datetime:
    """RFC 3339 → aware UTC datetime (``Z`` and offsets accepted)."""
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise ValueError("timestamp has no time zone")
    return when.astimezone(timezone.utc)


def merge_context(envelope: dict[str, Any]) -> Iterable[Any]:
    """Yield the envelope's events with its shared context filled in (the event's own fields win)."""
    context = envelope.get("context") or {}
    sdk = envelope.get("sdk")
    shared = {name: context[name] for name in CONTEXT_FIELDS if name in context}
    context_tags = context.get("tags")
    for event in envelope["events"]:
        if not isinstance(event, dict):
            yield event
            continue
        merged = {**shared, **event}
        own_tags = event.get("tags")
        # tags that are not an object stay as sent, for the schema to refuse (wrong_type)
        if context_tags and (own_tags is None or isinstance(own_tags, dict)):
            merged["tags"] = {**context_tags, **(own_tags or {})}
        if sdk is not None and "sdk" not in event:
            merged["sdk"] = sdk
        yield merged
