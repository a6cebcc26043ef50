"""Contract validation at stream speed, with the contract's own verdicts.

``contract.validate_event`` (fastjsonschema) costs 35–50 µs an event: its ten
``if type == … then …`` clauses fail by raising on every event. At 20,000 events/s that
alone would take most of a core. This module compiles the very same ``event.schema.json``
with ``jsonschema-rs`` (Rust, ≈2–3 µs an event) as a *fast path that can only say
"valid"*. Whenever it objects — or the timestamp is outside the window — the event goes to
``contract.validate_event``, so every rejection (reason, path, message) is exactly the
contract's.

For that to be sound the fast path must never accept what the contract refuses. The two
libraries differ in two places, both closed here:

- ``format: date-time``: jsonschema-rs is given fastjsonschema's own date-time pattern;
- ``type: integer``: JSON Schema counts ``42.0`` as an integer (jsonschema-rs does),
  fastjsonschema wants a Python ``int``; every integer in the schema also gets a keyword
  that refuses floats.

The unit tests check the verdicts agree on every shared vector and on thousands of random
mutations of valid events.
"""

from __future__ import annotations

import copy
import inspect
import re
from datetime import datetime, timedelta
from typing import Any

import jsonschema_rs
from fastjsonschema.draft04 import CodeGeneratorDraft04

from pipeline import contract

# the contract's clock window, read from its signature so there is one source of truth
_DEFAULTS = inspect.signature(contract.validate_event).parameters
MAX_AGE: timedelta = _DEFAULTS["max_age"].default
MAX_FUTURE: timedelta = _DEFAULTS["max_future"].default

# fastjsonschema's date-time check, byte for byte
_DATE_TIME = re.compile(CodeGeneratorDraft04.FORMAT_REGEXS["date-time"])

PYTHON_INT_KEYWORD = "x-vigil-python-int"


class _PythonInt:
    """``42.0`` is a JSON Schema integer but not a fastjsonschema one: refuse floats."""

    def __init__(self, parent_schema: dict[str, Any], value: Any, schema_path: list[str | int]) -> None:
        self.enabled = bool(value)

    def validate(self, instance: Any) -> None:
        if self.enabled and type(instance) is float:
            raise ValueError(f"{instance!r} is a float, not an integer")


def _is_date_time(value: str) -> bool:
    return _DATE_TIME.match(value) is not None


def strict_integers(schema: Any) -> Any:
    """A copy of ``schema`` where every ``type: integer`` also carries the float-refusing keyword."""
    if isinstance(schema, dict):
        out = {key: strict_integers(value) for key, value in schema.items()}
        kinds = schema.get("type")
        if kinds == "integer" or (isinstance(kinds, list) and "integer" in kinds):
            out[PYTHON_INT_KEYWORD] = True
        return out
    if isinstance(schema, list):
        return [strict_integers(item) for item in schema]
    return copy.deepcopy(schema)


def compile_fast(schema: dict[str, Any]) -> jsonschema_rs.Validator:
    """The fast-path validator for ``schema`` (see the module docstring)."""
    return jsonschema_rs.validator_for(
        strict_integers(schema),
        validate_formats=True,
        formats={"date-time": _is_date_time},
        keywords={PYTHON_INT_KEYWORD: _PythonInt},
    )


_FAST = compile_fast(contract.load_schema("event"))


def validate_event(event: Any, now: datetime) -> contract.Rejection | None:
    """Same answer as ``contract.validate_event(event, now=now)``, much faster for valid events."""
    if type(event) is dict and _FAST.is_valid(event):
        try:
            when = contract.parse_timestamp(event["timestamp"])
        except ValueError:
            pass
        else:
            if now - MAX_AGE <= when <= now + MAX_FUTURE:
                return None
    return contract.validate_event(event, now=now)
