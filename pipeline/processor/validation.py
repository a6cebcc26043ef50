"""Contract validation at stream speed, with the contract's own verdicts.

``contract.validate_event`` compiles ``event.schema.json`` as written: ten ``if type == …
then …`` clauses, nine of which fail (by raising) on every event — about 35–50 µs an
event, most of the processor's budget at 20,000 events/s. The clauses are mutually exclusive
on ``type``, so for an event whose ``type`` is known the schema is equivalent to the base
schema plus that one ``then``: this module compiles one such specialisation per type from
the very same schema file (≈10 µs an event).

A specialised validator only ever says "valid". Whenever it objects — or the type is
unknown, or the timestamp is outside the window — the event goes to
``contract.validate_event``, so every rejection (reason, path, message) is exactly the
contract's. The unit tests check both agree on every shared test vector.
"""

from __future__ import annotations

import copy
import inspect
from datetime import datetime, timedelta
from typing import Any, Callable

import fastjsonschema

from pipeline import contract

# the contract's clock window, read from its signature so there is one source of truth
_DEFAULTS = inspect.signature(contract.validate_event).parameters
MAX_AGE: timedelta = _DEFAULTS["max_age"].default
MAX_FUTURE: timedelta = _DEFAULTS["max_future"].default


def _type_of(clause: dict[str, Any]) -> str | None:
    try:
        return clause["if"]["properties"]["type"]["const"]
    except (KeyError, TypeError):
        return None


def compile_by_type(schema: dict[str, Any]) -> dict[str, Callable[[Any], Any]]:
    """One fastjsonschema validator per event type: the base schema plus that type's clause."""
    clauses = schema.get("allOf", [])
    if any(_type_of(clause) is None for clause in clauses):
        # a clause that is not "if type == X then …": specialising would change meaning
        return {}
    validators: dict[str, Callable[[Any], Any]] = {}
    for event_type in schema["properties"]["type"]["enum"]:
        specialised = copy.deepcopy(schema)
        specialised["allOf"] = [clause["then"] for clause in clauses if _type_of(clause) == event_type]
        if not specialised["allOf"]:
            del specialised["allOf"]
        validators[event_type] = fastjsonschema.compile(specialised)
    return validators


_BY_TYPE = compile_by_type(contract.load_schema("event"))


def validate_event(event: Any, now: datetime) -> contract.Rejection | None:
    """Same answer as ``contract.validate_event(event, now=now)``, faster for valid events."""
    if type(event) is dict and type(event_type := event.get("type")) is str:
        validator = _BY_TYPE.get(event_type)
        if validator is not None:
            try:
                validator(event)
                when = contract.parse_timestamp(event["timestamp"])
            except (fastjsonschema.JsonSchemaValueException, ValueError):
                pass
            else:
                if now - MAX_AGE <= when <= now + MAX_FUTURE:
                    return None
    return contract.validate_event(event, now=now)
