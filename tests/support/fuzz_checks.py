"""Sending a :class:`~tests.support.fuzz.FuzzRequest` to a live collector, and what its answer must be.

The properties, for every endpoint and every request however hostile:

- never a 5xx, never a hang (no answer within the client's timeout);
- every refusal is a 4xx with the collector's problem body — ``{"error": reason, "message",
  "path"}``, the reason one the collector or the contract knows and answered with its own
  status — and a 429 says when to come back (``Retry-After``);
- every 2xx accounts for the events sent: ``accepted`` plus the ``rejected`` list is the
  number of events in the body (for a unified document or a Sentry envelope, the number it
  maps to), and a 2xx for a body that is not one envelope is a defect in itself.

Used by the fuzz test and by ``bench/fuzz.py``.
"""

from __future__ import annotations

import gzip
import time
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import brotli
import httpx
import orjson
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect as websocket_connect

from pipeline import contract
from pipeline.ingest.problems import REASONS
from pipeline.contract import sentry, unified
from tests.support.fuzz import FuzzRequest, zstd

PIXEL_MAGIC = b"GIF89a"
WS_MESSAGE_TOO_BIG = 1009  # the collector's WebSocket closes on a frame over its size limit


@dataclass
class Answer:
    """What came back: an HTTP answer, or a WebSocket's handshake answer and one reply per message."""

    status: int  # the HTTP status; 101 for an accepted WebSocket
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    replies: list[bytes | str] = field(default_factory=list)
    close_code: int | None = None  # set when the WebSocket was closed before every reply came
    seconds: float = 0.0
    hang: str | None = None  # what did not answer in time
    dropped: str | None = None  # the connection broke without an answer
    client_error: str | None = None  # the fuzzer itself could not send the request (its own bug)

    @property
    def labels(self) -> list[str]:
        """How the bench counts it: the status (a WebSocket: ``101`` and ``ws:<status>`` per reply), ``hang`` or ``dropped``."""
        if self.hang is not None:
            return ["hang"]
        if self.dropped is not None:
            return ["dropped"]
        if self.client_error is not None:
            return ["client-error"]
        replies = [f"ws:{(_json(raw) or {}).get('status', '?')}" for raw in self.replies]
        return [str(self.status), *replies, *([f"ws-close:{self.close_code}"] if self.close_code else [])]


# ── sending ────────────────────────────────────────────────────────────────────────────


def send(request: FuzzRequest, base_url: str, http: httpx.Client, timeout: float) -> Answer:
    """Send ``request`` (``http`` carries the base URL and keep-alive); a timeout is an ``Answer.hang``."""
    started = time.monotonic()
    try:
        answer = _send(request, base_url, http, timeout)
    except Exception as error:  # noqa: BLE001 — reported as the fuzzer's own failure, never hidden
        answer = Answer(0, client_error=repr(error))
    answer.seconds = time.monotonic() - started
    return answer


def _send(request: FuzzRequest, base_url: str, http: httpx.Client, timeout: float) -> Answer:
    if request.endpoint == "ws" and request.method == "GET":
        answer = _send_ws(request, base_url, timeout)
    else:
        try:
            response = http.request(request.method, request.path, headers=list(request.headers),
                                    content=request.body if request.method not in ("GET", "HEAD", "OPTIONS") else None,
                                    timeout=timeout)
            answer = Answer(response.status_code, dict(response.headers), response.content)
        except httpx.TimeoutException as error:
            answer = Answer(0, hang=f"no HTTP answer within {timeout:g} s ({type(error).__name__})")
        except httpx.TransportError as error:
            answer = Answer(0, dropped=f"the connection broke without an answer: {error!r}")
    return answer


def _send_ws(request: FuzzRequest, base_url: str, timeout: float) -> Answer:
    url = base_url.replace("http://", "ws://", 1) + request.path
    # the handshake client takes one of each header (it sets User-Agent itself)
    headers = list({name.lower(): (name.decode("latin-1"), value.decode("latin-1"))
                    for name, value in reversed(request.headers)}.values())
    try:
        socket = websocket_connect(url, additional_headers=headers, open_timeout=timeout, close_timeout=1,
                                   max_size=None)
    except InvalidStatus as refused:
        response = refused.response
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.raw_items()}, response.body or b"")
    except TimeoutError:
        return Answer(0, hang=f"no WebSocket handshake within {timeout:g} s")
    except (InvalidHandshake, OSError) as error:
        return Answer(0, dropped=f"the WebSocket handshake failed: {error!r}")
    answer = Answer(101)
    with socket:
        for message in request.messages:
            try:
                socket.send(message)
                answer.replies.append(socket.recv(timeout=timeout))
            except TimeoutError:
                answer.hang = f"no reply to WebSocket message {len(answer.replies)} within {timeout:g} s"
                break
            except ConnectionClosed as closed:
                answer.close_code = closed.rcvd.code if closed.rcvd is not None else None
                break
    return answer


# ── what was sent ──────────────────────────────────────────────────────────────────────


def decoded(request: FuzzRequest) -> bytes | None:
    """The body as the collector should read it (every gzip member), or None if it can't be read."""
    encoding = (request.header(b"content-encoding") or b"").strip().lower()
    if encoding in (b"", b"identity", b"utf-8"):  # plain, as Relay reads an empty or UTF-8 header
        return request.body
    try:
        if encoding in (b"gzip", b"x-gzip"):
            return gzip.decompress(request.body)
        if encoding == b"deflate":
            return zlib.decompress(request.body)
        if encoding == b"br":
            return brotli.decompress(request.body)
        if encoding == b"zstd":
            return zstandard_frames(request.body)
    except (OSError, EOFError, zlib.error, brotli.error, zstd.ZstdError):
        return None
    return None


def zstandard_frames(body: bytes) -> bytes:
    """Every concatenated zstd frame decompressed (RFC 8878 §3); a broken or cut one raises."""
    parts = []
    while body:
        decompressor = zstd.ZstdDecompressor()
        parts.append(decompressor.decompress(body))
        if not decompressor.eof:
            raise zstd.ZstdError("truncated frame")
        body = decompressor.unused_data
    return b"".join(parts)


def events_in_envelope(raw: bytes | str | None) -> int | None:
    """How many v1 events a Vigil body carries (a unified document: how many it maps to); None if not one envelope."""
    if raw is None:
        return None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if isinstance(document, dict) and isinstance(document.get("events"), list):
        return len(document["events"])
    if unified.is_unified(document):
        try:
            return len(unified.to_envelope(document)["events"])
        except Exception:  # a unified document of the wrong shape is refused whole
            return None
    return None


def events_in_sentry(raw: bytes | None, store: bool) -> int | None:
    """How many v1 events a Sentry envelope (or store event) maps to, plus the items or spans
    refused before mapping (they are listed in ``rejected`` too); None if it is not one."""
    if raw is None:
        return None
    try:
        parsed = sentry.parse_store(raw) if store else sentry.parse_envelope(raw)
        mapped = sentry.to_events(parsed, datetime.now(timezone.utc))
    except Exception:
        return None
    return len(mapped.events) + len(getattr(mapped, "rejected", ()))  # a mapping that refuses nothing has none


def events_sent(request: FuzzRequest, message: bytes | str | None = None) -> int | None:
    """The number of events a 2xx (or a 422) must account for."""
    if request.endpoint == "ws":
        return events_in_envelope(message)
    if request.endpoint == "pixel":
        query = urlsplit(request.path).query
        values = parse_qs(query).get("d")
        return events_in_envelope(values[0]) if values else None
    if request.endpoint in ("sentry-envelope", "sentry-store"):
        return events_in_sentry(decoded(request), request.endpoint == "sentry-store")
    return events_in_envelope(decoded(request))


# ── the properties ─────────────────────────────────────────────────────────────────────


def violations(request: FuzzRequest, answer: Answer) -> list[str]:
    """Every way this answer breaks the properties (empty: it holds them all)."""
    if answer.hang is not None:
        return [f"hang: {answer.hang}"]
    if answer.dropped is not None:
        return [f"dropped: {answer.dropped}"]
    if answer.client_error is not None:
        return [f"client error (the fuzzer's own, fix it): {answer.client_error}"]
    if request.endpoint == "ws" and answer.status == 101:
        return _ws_violations(request, answer)
    status = answer.status
    if status >= 500:
        return [f"{status} (a 5xx): {answer.body[:300]!r}"]
    if request.method == "HEAD":  # an answer to HEAD has no body to check
        return [] if 200 <= status < 500 else [f"unexpected status {status}"]
    if 200 <= status < 300 and status != 202 or (status == 202 and request.endpoint == "pixel"):
        return _success_violations(request, answer)
    if 400 <= status < 500 or status == 202:
        body = _json(answer.body)
        if body is None:
            return [f"{status} without a JSON object body: {answer.body[:300]!r}"]
        return _answer_violations(request, status, body, answer.headers.get("retry-after"), events_sent(request))
    return [f"unexpected status {status}"]


def _success_violations(request: FuzzRequest, answer: Answer) -> list[str]:
    """2xx other than an envelope's 202: health, preflight, pixel, Sentry's 200."""
    if request.endpoint == "pixel":
        return [] if answer.body.startswith(PIXEL_MAGIC) else [f"pixel 202 is not a GIF: {answer.body[:60]!r}"]
    if answer.status == 204:
        return [] if request.method == "OPTIONS" and not answer.body else [f"unexpected 204 for {request.method}"]
    body = _json(answer.body)
    if body is None:
        return [f"{answer.status} without a JSON object body: {answer.body[:300]!r}"]
    if request.endpoint == "health" or request.path.startswith("/healthz"):
        return [] if body.get("status") == "ok" else [f"health {answer.status} but {body!r}"]
    return _answer_violations(request, answer.status, body, answer.headers.get("retry-after"), events_sent(request))


def _answer_violations(request: FuzzRequest, status: int, body: dict[str, Any], retry_after: Any,
                       sent: int | None) -> list[str]:
    """A JSON answer (HTTP body or WebSocket reply) to a request that carried ``sent`` events."""
    if 200 <= status < 300:
        accepted, rejected = body.get("accepted", 0), body.get("rejected", [])
        if sent is None:
            return [f"{status} for a body that is not one envelope: {body!r:.300}"]
        if not isinstance(accepted, int) or not isinstance(rejected, list):
            return [f"{status} without accepted/rejected counts: {body!r:.300}"]
        if accepted + len(rejected) != sent:
            return [f"{status} says {accepted} accepted + {len(rejected)} rejected, but {sent} events were sent"]
        # an event is named by its index in the batch; a Sentry item refused before mapping, by its item number
        return [f"rejected entry without index (or item)/reason/message: {entry!r:.200}" for entry in rejected
                if not (isinstance(entry, dict) and {"reason", "message"} <= entry.keys()
                        and ("index" in entry or "item" in entry))]
    problems = _problem_violations(status, body, retry_after)
    if not problems and body.get("error") == "no_valid_events":
        rejected = body.get("rejected")
        if sent is None or not isinstance(rejected, list) or body.get("accepted") != 0 or len(rejected) != sent:
            problems.append(f"422 for {sent} events sent: {body!r:.300}")
    return problems


def _problem_violations(status: int, body: dict[str, Any], retry_after: Any) -> list[str]:
    reason, message = body.get("error"), body.get("message")
    if not isinstance(reason, str) or not isinstance(message, str) or not message or "path" not in body:
        return [f"{status} is not a problem body (error, message, path): {body!r:.300}"]
    expected = REASONS.get(reason, 400 if reason in contract.REASONS else None)
    if expected is None:
        return [f"{status} with an unknown reason {reason!r}"]
    if status != expected:
        return [f"{status} with reason {reason!r}, which is answered {expected}"]
    if status == 429 and not (isinstance(retry_after, (int, str)) and str(retry_after).isdigit() and int(retry_after) >= 1):
        return [f"429 without a Retry-After of at least a second: {retry_after!r}"]
    return []


def _ws_violations(request: FuzzRequest, answer: Answer) -> list[str]:
    found = []
    for message, raw in zip(request.messages, answer.replies):
        reply = _json(raw)
        if reply is None or not isinstance(reply.get("status"), int):
            found.append(f"WebSocket reply is not a JSON object with a status: {raw!r:.300}")
            continue
        status = reply.pop("status")
        if status >= 500:
            found.append(f"WebSocket reply {status} (a 5xx): {reply!r:.300}")
        else:
            found += _answer_violations(request, status, reply, reply.get("retry_after"), events_sent(request, message))
    if answer.close_code is not None:
        message = request.messages[len(answer.replies)]
        size = len(message.encode() if isinstance(message, str) else message)
        if answer.close_code != WS_MESSAGE_TOO_BIG:
            found.append(f"WebSocket closed ({answer.close_code}) after {len(answer.replies)} of "
                         f"{len(request.messages)} replies (message of {size} bytes)")
    return found


def _json(raw: bytes | str) -> dict[str, Any] | None:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None
