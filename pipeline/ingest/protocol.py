"""uvicorn's httptools protocol with the limits every production HTTP server has.

uvicorn reads a request line and headers of any size (httptools even joins a long header
value chunk by chunk, quadratically: a 64 MB header took seconds of the event loop that every
other client waited for) and waits for slow headers and bodies forever. This protocol, which
``vigil collect`` passes to uvicorn as ``http=``, answers before the parser sees the bytes:

- a request line longer than ``VIGIL_MAX_REQUEST_LINE_BYTES`` → ``414``;
- header lines longer than ``VIGIL_MAX_HEADER_BYTES`` in all → ``431``;
- a request whose head is not complete ``VIGIL_HEADER_TIMEOUT`` seconds after its first byte
  (or after the connection opened) → ``408``;
- a body not complete within ``VIGIL_BODY_TIMEOUT`` seconds plus one second per
  ``VIGIL_BODY_MIN_RATE`` bytes of it (its Content-Length, or ``VIGIL_MAX_BODY_BYTES`` when
  chunked) → ``408``, or a plain close once an answer was already sent.

Each refusal is a short JSON answer (the collector's ``{"error", "message"}``) with
``Connection: close``; the connection then stops reading, discards what is still arriving
for at most :data:`LINGER_S` seconds (so the client reads the answer instead of a reset),
and closes.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from pipeline import settings as settings_module
from pipeline.ingest.problems import problem

# seconds a refused connection keeps draining what the client still sends before closing
LINGER_S = 2.0


@dataclass(frozen=True)
class ReadLimits:
    max_request_line: int = 8 * 1024
    max_headers: int = 32 * 1024
    header_timeout_s: float = 10.0
    body_timeout_s: float = 10.0
    body_min_rate: float = 10 * 1024  # bytes per second
    max_body: int = 1024 * 1024

    def body_seconds(self, expected: int | None) -> float:
        """How long a body of ``expected`` bytes (None: chunked, as large as allowed) may take."""
        size = self.max_body if expected is None else min(expected, self.max_body)
        return self.body_timeout_s + (size / self.body_min_rate if self.body_min_rate > 0 else 0.0)


@functools.cache
def configured_limits() -> ReadLimits:
    """The limits from ``VIGIL_*`` (read once per worker process)."""
    settings = settings_module.load()
    return ReadLimits(settings.max_request_line_bytes, settings.max_header_bytes, settings.header_timeout_s,
                      settings.body_timeout_s, settings.body_min_rate, settings.max_body_bytes)


def refusal(reason: str, message: str) -> bytes:
    """A complete HTTP/1.1 answer (the collector's JSON reason) that closes the connection."""
    issue = problem(reason, message)
    body = orjson.dumps(issue.as_dict())
    return b"".join([STATUS_LINE[issue.status], b"content-type: application/json\r\ncontent-length: ",
                     str(len(body)).encode(), b"\r\nconnection: close\r\n\r\n", body])


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` plus request-line and header caps and read timeouts."""

    limits: ReadLimits | None = None  # None: :func:`configured_limits`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_limits = self.limits or configured_limits()
        self.head_bytes = 0  # bytes of the current request's head seen so far
        self.line_bytes = 0  # of which the request line
        self.line_done = False
        self.head_tail = b""  # the last bytes of the head so far, to find its end across chunks
        self.reading_head = True
        self.head_timer: asyncio.TimerHandle | None = None
        self.body_timer: asyncio.TimerHandle | None = None
        self.refused = False

    # ── connection events ──────────────────────────────────────────────────────────────

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.arm_head_timer()  # a connection that never sends a byte is a slowloris too

    def connection_lost(self, exc: Exception | None) -> None:
        self.cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return  # draining until the linger ends
        if self.reading_head:
            if self.head_timer is None:
                self.arm_head_timer()
            if self.head_too_large(data):
                return
        super().data_received(data)

    def head_too_large(self, data: bytes) -> bool:
        """Count this chunk against the head's limits; refuse (and say True) once one is passed."""
        limits = self.read_limits
        if not self.line_done:
            end = data.find(b"\n")
            self.line_bytes += len(data) if end < 0 else end
            self.line_done = end >= 0
            if self.line_bytes > limits.max_request_line:
                self.refuse("uri_too_long",
                            f"the request line is longer than {limits.max_request_line} bytes; "
                            "send events in the body, not the URL")
                return True
        # only up to the blank line that ends the head: a body may follow in the same chunk
        joint = (self.head_tail + data[:3]).find(b"\r\n\r\n")  # the blank line across two chunks
        if joint >= 0:
            self.head_bytes += max(joint + 4 - len(self.head_tail), 0)
        else:
            end = data.find(b"\r\n\r\n")
            self.head_bytes += len(data) if end < 0 else end + 4
        self.head_tail = data[-3:] if len(data) >= 3 else (self.head_tail + data)[-3:]
        if self.head_bytes - self.line_bytes > limits.max_headers:
            self.refuse("headers_too_large",
                        f"the request's headers are larger than {limits.max_headers} bytes in all")
            return True
        return False

    # ── parser callbacks ───────────────────────────────────────────────────────────────

    def on_headers_complete(self) -> None:
        self.reading_head = False
        self.cancel_head_timer()
        super().on_headers_complete()
        if self.parser is not None and self.cycle is not None and self.cycle.more_body and \
                not (self.parser.should_upgrade() and self._should_upgrade()):
            headers = dict(self.headers)
            length = headers.get(b"content-length")
            if length is not None or b"transfer-encoding" in headers:  # else there is no body
                expected = int(length) if length is not None and length.isdigit() else None
                self.body_timer = self.loop.call_later(self.read_limits.body_seconds(expected), self.body_timeout)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.cancel_body_timer()
        self.reading_head, self.line_done, self.head_tail = True, False, b""
        self.head_bytes = self.line_bytes = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # the keep-alive timer now watches the idle connection; the next request's first
        # byte starts its own head timer
        self.cancel_head_timer()

    # ── timeouts and refusals ──────────────────────────────────────────────────────────

    def arm_head_timer(self) -> None:
        self.cancel_head_timer()
        self.head_timer = self.loop.call_later(self.read_limits.header_timeout_s, self.head_timeout)

    def head_timeout(self) -> None:
        self.head_timer = None
        if self.reading_head and not self.transport.is_closing():
            self.refuse("request_timeout",
                        f"the request's headers did not arrive within {self.read_limits.header_timeout_s:g}s")

    def body_timeout(self) -> None:
        self.body_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # the answer went out already; the rest of the body is not wanted
            return
        self.refuse("request_timeout", "the request body arrived slower than "
                                       f"{self.read_limits.body_min_rate:g} bytes/s; send it faster or smaller")

    def refuse(self, reason: str, message: str) -> None:
        """Answer the ``reason``'s status and close; the ASGI app (if it was waiting for the body) sees a disconnect."""
        self.refused = True
        self.cancel_timers()
        self._unset_keepalive_if_required()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.response_started = self.cycle.response_complete = True  # the app must not answer now
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.write(refusal(reason, message))
        if self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_S, self.transport.close)
        else:
            self.transport.close()

    def cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def cancel_body_timer(self) -> None:
        if self.body_timer is not None:
            self.body_timer.cancel()
            self.body_timer = None

    def cancel_timers(self) -> None:
        self.cancel_head_timer()
        self.cancel_body_timer()
