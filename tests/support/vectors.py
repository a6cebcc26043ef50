"""The shared contract test vectors (contract/vectors), loaded for Python tests.

Vectors carry the reference time they were written for (``now``); tests that send them to
a live collector move every timestamp by the same offset so they are current. The captured
Sentry envelopes (``tests/unit/sentry_envelopes``) are moved to now the same way.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from pipeline.contract import parse_timestamp
from pipeline.settings import REPO_ROOT

VECTORS = REPO_ROOT / "contract" / "vectors"
SENTRY_FIXTURES = REPO_ROOT / "tests" / "unit" / "sentry_envelopes"
SENTRY_CAPTURED_AT = 1795733553.0  # about when the fixtures were captured (Unix seconds)


@dataclass(frozen=True)
class Vector:
    name: str
    doc: dict[str, Any]

    @property
    def now(self) -> datetime:
        return parse_timestamp(self.doc["now"])

    def body(self, shift_to: datetime | None = None) -> bytes:
        """The request body; with ``shift_to``, timestamps moved so ``now`` becomes that time."""
        if "body" in self.doc:
            return self.doc["body"].encode()
        envelope = self.doc["envelope"]
        if shift_to is not None:
            envelope = shift_timestamps(envelope, shift_to - self.now)
        return json.dumps(envelope).encode()


def load(kind: str) -> list[Vector]:
    return [Vector(p.stem, json.loads(p.read_text())) for p in sorted((VECTORS / kind).glob("*.json"))]


def shift_timestamps(value: Any, offset) -> Any:
    """Return a copy of ``value`` with every ``timestamp`` string moved by ``offset``."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "timestamp" and isinstance(item, str):
                try:
                    moved = parse_timestamp(item) + offset
                except ValueError:
                    out[key] = item
                    continue
                out[key] = moved.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            else:
                out[key] = shift_timestamps(item, offset)
        return out
    if isinstance(value, list):
        return [shift_timestamps(item, offset) for item in value]
    return value


def sentry_lines(name: str) -> list[dict[str, Any]]:
    """A captured @sentry/browser envelope's JSON lines (header, then item header and payload
    pairs), with its times moved to now (the contract refuses old events)."""
    shift = time.time() - SENTRY_CAPTURED_AT

    def moved(value, key=""):
        if isinstance(value, dict):
            return {k: moved(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [moved(v, key) for v in value]
        if key.endswith("timestamp") and isinstance(value, float):
            return value + shift
        return value

    lines = (SENTRY_FIXTURES / f"{name}.envelope").read_bytes().split(b"\n")
    return [moved(orjson.loads(line)) for line in lines if line.strip()]


def fresh_sentry_envelope(name: str) -> bytes:
    """A captured @sentry/browser envelope with its times moved to now."""
    return b"\n".join(orjson.dumps(line) for line in sentry_lines(name))
