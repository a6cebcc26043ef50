"""Which error group an error belongs to: a 64-bit fingerprint, Sentry-style.

The default fingerprint hashes what stays the same when the same bug fires again:

* the error's kind (js, promise, resource, api) and type (``TypeError``);
* its message with the parts that vary per occurrence masked (:func:`normalise_message`):
  URLs, quoted strings, UUIDs, hex numbers and numbers;
* the top :data:`TOP_FRAMES` in-app frames (all frames when none is marked in-app) as
  function and file path — no query, fragment or host, and build hashes (``app.3f9a1c.js``)
  masked, so a deploy does not start new groups.

An SDK-supplied ``data.fingerprint`` (a list of strings) replaces it; an element
``{{ default }}`` stands for the default fingerprint, to split a group further (Sentry's
convention). The value fills the warehouse's ``fingerprint`` column (UInt64), whose
``lower(hex(…))`` is the error-group id of the Errors page and the alert rules.
"""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

TOP_FRAMES = 3
DEFAULT_PART = "{{ default }}"
MAX_MESSAGE_CHARS = 1024  # the head of a message is what identifies it; bounds the regex work

_MASKS = (
    (re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s'\"`<>()]+"), "<url>"),
    (re.compile(r"'[^']*'|\"[^\"]*\"|`[^`]*`"), "<str>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    (re.compile(r"\b0[xX][0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
)
# a build hash inside a file name: 6+ hex characters with a digit, between separators
_BUILD_HASH = re.compile(r"(?<=[./_\-])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}(?=[./_\-]|$)")
_AFTER_AUTHORITY = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*://[^/]*")


@functools.lru_cache(maxsize=4096)
def normalise_message(message: str) -> str:
    """``Order 8412 failed at 'https://x/api?id=3'`` → ``Order <n> failed at <str>``."""
    text = message[:MAX_MESSAGE_CHARS]
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text


@functools.lru_cache(maxsize=4096)
def frame_file(filename: str) -> str:
    """``https://cdn.example/js/app.3f9a1c.js?v=2#x`` → ``/js/app.<hash>.js``."""
    path = _AFTER_AUTHORITY.sub("", filename.split("?", 1)[0].split("#", 1)[0])
    return _BUILD_HASH.sub("<hash>", path)


def _frames(frames: Any) -> list[str]:
    if type(frames) is not list:
        return []
    usable = [f for f in frames if type(f) is dict]
    in_app = [f for f in usable if f.get("in_app") is True] or usable
    parts = []
    for frame in in_app[:TOP_FRAMES]:
        function, filename = frame.get("function"), frame.get("filename")
        parts.append(f"{function if type(function) is str else ''}@"
                     f"{frame_file(filename) if type(filename) is str else ''}")
    return parts


def _hash(parts: list[str]) -> int:
    digest = hashlib.blake2b("\x00".join(parts).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def default_fingerprint(data: dict[str, Any]) -> int:
    """Kind, type, normalised message and the top in-app frames of one error's ``data``."""
    kind, error_type, message = data.get("kind"), data.get("type"), data.get("message")
    return _hash([
        kind if type(kind) is str else "",
        error_type if type(error_type) is str else "",
        normalise_message(message) if type(message) is str else "",
        *_frames(data.get("frames")),
    ])


def fingerprint(data: dict[str, Any]) -> int:
    """The error group of one error event's ``data`` (the SDK's own fingerprint wins)."""
    custom = data.get("fingerprint")
    if type(custom) is list and custom and all(type(part) is str for part in custom):
        if DEFAULT_PART in custom:
            default = f"{default_fingerprint(data):016x}"
            custom = [default if part == DEFAULT_PART else part for part in custom]
        return _hash(["sdk", *custom])
    return default_fingerprint(data)
