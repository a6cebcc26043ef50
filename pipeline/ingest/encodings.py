"""Request bodies' ``Content-Encoding``: gzip, deflate, br and zstd, as Sentry's ingestion takes them.

One coding per body, as Relay (tower-http's request decompression) takes it: a list such as
``gzip, br`` is refused (415) like an unknown coding, with the ones accepted named. An empty
header or ``UTF-8`` means a plain body, as Relay reads them (sentry-ruby 5 sends the one,
sentry-java for Android the other).

Every decoder stops at ``limit`` bytes of output: it is fed the compressed body and asked for
at most ``limit + 1`` bytes, so a bomb is refused (413) having inflated no more than that.
A stream that is broken, truncated or followed by bytes that are not another stream is
``400 bad_<coding>``, never half-decoded. gzip members and zstd frames may be concatenated
(``cat a.gz b.gz``; RFC 1952 §2.2, RFC 8878 §3), at most :data:`MAX_MEMBERS` of them, each
costing a new decompressor.
"""

from __future__ import annotations

import sys
import zlib
from typing import Any, Callable

import brotli

from pipeline.ingest.problems import problem

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

CODINGS = ("gzip", "deflate", "br", "zstd")
ALIASES = {"x-gzip": "gzip"}
PLAIN = frozenset({"", "identity", "utf-8"})
# gzip members or zstd frames one body may hold (clients send one; `cat a.gz b.gz` makes a few)
MAX_MEMBERS = 16
ACCEPT_ENCODING = ", ".join(CODINGS)
NAMES = {"gzip": "gzip", "deflate": "deflate (zlib)", "br": "brotli", "zstd": "zstd"}


def coding_of(content_encoding: str | None) -> str | None:
    """The body's one coding (``gzip``, ``deflate``, ``br``, ``zstd``), None for a plain body; 415 otherwise."""
    value = (content_encoding or "").strip().lower()
    if value in PLAIN:
        return None
    value = ALIASES.get(value, value)
    if value in CODINGS:
        return value
    more = " (one coding per body: compress once)" if "," in value else ""
    raise problem("unsupported_encoding",
                  f"Content-Encoding {content_encoding!r} is not accepted{more}; send the body plain or "
                  f"compressed with one of {ACCEPT_ENCODING}")


def decode(body: bytes, coding: str, limit: int) -> bytes:
    """The body decompressed, at most ``limit`` bytes (more → 413 ``body_too_large``), or 400 ``bad_<coding>``."""
    if coding == "br":
        return _unbrotli(body, limit)
    new: Callable[[], Any] = {
        "gzip": lambda: zlib.decompressobj(wbits=16 + zlib.MAX_WBITS),
        "deflate": lambda: zlib.decompressobj(wbits=zlib.MAX_WBITS),
        "zstd": zstd.ZstdDecompressor,
    }[coding]
    return _members(body, coding, new, limit, many=coding != "deflate")


def gunzip(body: bytes, limit: int) -> bytes:
    """A gzip body decompressed (every member), at most ``limit`` bytes."""
    return decode(body, "gzip", limit)


def _members(body: bytes, coding: str, new: Callable[[], Any], limit: int, many: bool) -> bytes:
    """zlib-like decompressors (``decompress(data, max_length)``, ``eof``, ``unused_data``): one
    stream, or (``many``) up to :data:`MAX_MEMBERS` concatenated, the limit counting them all."""
    parts: list[bytes] = []
    size = 0
    rest = body
    name = NAMES[coding]
    unit = "member" if coding == "gzip" else "frame"
    while True:
        decompressor = new()
        try:
            plain = decompressor.decompress(rest, limit - size + 1)
        except (zlib.error, zstd.ZstdError) as error:
            where = "the body" if not parts else f"what follows {coding} {unit} {len(parts)}"
            raise _bad(coding, f"Content-Encoding is {coding} but {where} is not valid {name} ({error}); "
                               "compress the whole body, or drop the header") from None
        size += len(plain)
        if size > limit or not _drained(decompressor):
            raise _too_large(limit)
        if not decompressor.eof:
            raise _bad(coding, f"the {name} body is truncated; send the complete compressed body")
        parts.append(plain)
        rest = decompressor.unused_data
        if not rest:
            return b"".join(parts)
        if not many:
            raise _bad(coding, f"bytes follow the end of the {name} stream; send one compressed stream")
        if len(parts) == MAX_MEMBERS:
            raise _bad(coding, f"the body has more than {MAX_MEMBERS} {coding} {unit}s; compress the whole body as one")


def _drained(decompressor: Any) -> bool:
    """Whether the decompressor consumed all its input (zlib keeps the rest in ``unconsumed_tail``,
    zstd says ``needs_input`` False while output is pending)."""
    if isinstance(decompressor, zstd.ZstdDecompressor):
        return decompressor.eof or decompressor.needs_input
    return not decompressor.unconsumed_tail


def _unbrotli(body: bytes, limit: int) -> bytes:
    """One brotli stream, its output bounded with brotli ≥ 1.2's ``output_buffer_limit``."""
    decompressor = brotli.Decompressor()
    try:
        plain = decompressor.process(body, output_buffer_limit=limit + 1)
        if len(plain) > limit or not decompressor.can_accept_more_data():
            raise _too_large(limit)
        if not decompressor.is_finished():
            raise _bad("br", "the brotli body is truncated; send the complete compressed body")
    except brotli.error as error:
        raise _bad("br", f"Content-Encoding is br but the body is not valid brotli ({error or 'corrupt stream'}); "
                         "compress the whole body, or drop the header") from None
    return plain


def _bad(coding: str, message: str):
    return problem(f"bad_{'brotli' if coding == 'br' else coding}", message)


def _too_large(limit: int):
    return problem("body_too_large", f"the body decompresses to more than {limit} bytes; send smaller batches")
