"""Every way the collector refuses a request: an HTTP status, a closed ``reason``, and words.

Clients (the SDK, people with curl, log readers) get ``{"error": reason, "message": ...,
"path": ...}``. Envelope problems reuse the contract's reasons (:data:`pipeline.contract.REASONS`);
the collector's own are :data:`REASONS` below. Both sets are closed so that answers can be
counted and tests can pin them down.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline import contract

# The collector's own reasons, with the status each one is answered with.
REASONS: dict[str, int] = {
    "not_found": 404,  # no such endpoint
    "method_not_allowed": 405,
    "unknown_project": 404,  # the URL's project id is not a project
    "missing_key": 401,  # no X-Vigil-Key header and no ?key=
    "wrong_key": 403,  # a key, but not this project's
    "origin_not_allowed": 403,  # the browser's Origin is not on the project's allow-list
    "unsupported_media_type": 415,  # not application/json or text/plain
    "unsupported_encoding": 415,  # a Content-Encoding other than gzip, deflate, br or zstd (or a list of them)
    "bad_gzip": 400,  # Content-Encoding: gzip, but the body is not (complete) gzip
    "bad_deflate": 400,  # Content-Encoding: deflate, but the body is not one complete zlib stream
    "bad_brotli": 400,  # Content-Encoding: br, but the body is not one complete brotli stream
    "bad_zstd": 400,  # Content-Encoding: zstd, but the body is not (complete) zstd
    "body_too_large": 413,  # over VIGIL_MAX_BODY_BYTES, before or after decompression
    "rate_limited": 429,  # the key's or the client IP's token bucket cannot pay for this request
    # answered by the HTTP protocol (protocol.py) before the request reaches the app
    "uri_too_long": 414,  # request line over VIGIL_MAX_REQUEST_LINE_BYTES
    "headers_too_large": 431,  # header lines over VIGIL_MAX_HEADER_BYTES in all
    "request_timeout": 408,  # head or body slower than VIGIL_HEADER_TIMEOUT / VIGIL_BODY_MIN_RATE
    "no_valid_events": 422,  # the envelope is fine but every event in it was rejected
    "projects_unavailable": 503,  # projects could never be read from ClickHouse
    "kafka_unavailable": 503,  # Kafka refused or failed a delivery, or the local queue is full
    "kafka_timeout": 503,  # Kafka did not acknowledge within VIGIL_KAFKA_ACK_TIMEOUT
    "internal_error": 503,  # a bug in the collector; nothing was acknowledged
}

# envelope-level contract problems (invalid JSON, not an object, schema) are a bad request
ENVELOPE_STATUS = 400

# how long a client should wait before resending after a 503 (seconds)
RETRY_AFTER_UNAVAILABLE = 5


@dataclass(eq=False)
class Problem(Exception):
    """A refusal on its way to the client: raise it anywhere on the request path."""

    status: int
    reason: str
    message: str
    path: str = ""
    retry_after: int | None = None  # seconds, for the Retry-After header (429, 503)
    allow: str | None = None  # the methods an endpoint takes, for the Allow header (405)

    def __post_init__(self) -> None:
        assert self.reason in REASONS or self.reason in contract.REASONS, self.reason

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"

    def as_dict(self) -> dict[str, str | int]:
        return {"error": self.reason, "message": self.message, "path": self.path}


def problem(
    reason: str, message: str, path: str = "", retry_after: int | None = None, allow: str | None = None
) -> Problem:
    """A :class:`Problem` answered with the status its collector ``reason`` stands for."""
    return Problem(REASONS[reason], reason, message, path, retry_after, allow)


def envelope_problem(rejection: contract.Rejection) -> Problem:
    """An envelope the contract refused (bad JSON, not an object, schema) → 400."""
    return Problem(ENVELOPE_STATUS, rejection.reason, rejection.message, rejection.path)
