"""Hostile requests to every collector endpoint, as hypothesis strategies.

Shared by the fuzz test (``tests/integration/test_collector_fuzz.py``) and ``bench/fuzz.py``,
which draw from the same strategies (see :mod:`tests.support.fuzz_checks` for how a request
is sent and what its answer must satisfy).

Most requests start from something real — a contract vector, the unified example, a captured
Sentry envelope — moved to now, and then get hurt: a field replaced by a wrong type, a huge
number, a very long or unicode/NUL/lone-surrogate string, free-form data (custom ``props``,
error extras, Sentry tags/contexts/extra) nested up to ~400 levels (and past the JSON parser's
own limit), a span ``op``/``span_id`` that is a list or an object; then the body may be cut,
salted with random bytes or replaced by random bytes, compressed as one gzip member, several,
a truncated one or deflate, and sent with a right, wrong or missing key, a wrong content type
or odd headers. The values and the document mutations are :mod:`tests.support.fuzz_values`'.
"""

from __future__ import annotations

import functools
import gzip
import sys
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

import brotli
import orjson
from hypothesis import strategies as st

from tests.support import vectors
from tests.support.fuzz_values import (DEEP, KEYS, NASTY, clone, deep_values, dumps, free_form_nested, json_number,
                                      mutated)

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd  # the library the collector decodes with; the checks decode independently of its code

# ── what is fuzzed ─────────────────────────────────────────────────────────────────────

# one label per collector endpoint (and the ways of reaching it that behave differently)
ENDPOINTS = ("events", "unified", "pixel", "ws", "sentry-envelope", "sentry-store", "preflight", "health")
UNKNOWN_PROJECT = 987_654_321
MAX_URL = 60_000  # the HTTP client's own limit is 64 KiB; longer URLs are another test's business


@dataclass(frozen=True)
class Target:
    """Where the requests go: a project that takes any origin, its key, and another project's key.

    ``unknown_projects``: ids of no project to send to as well. Each costs the collector a wait
    for a projects reload (up to a second, by design), so the CI test leaves them out.
    """

    project_id: int
    key: str
    other_key: str
    unknown_projects: tuple[int, ...] = (UNKNOWN_PROJECT, 0)


@dataclass(frozen=True, repr=False)
class FuzzRequest:
    """One request (or, for ``ws``, one connection carrying ``messages``)."""

    endpoint: str  # one of ENDPOINTS
    method: str
    path: str  # with the query string, already percent-encoded
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""
    messages: tuple[str | bytes, ...] = ()

    def header(self, name: bytes) -> bytes | None:
        return next((value for key, value in self.headers if key.lower() == name), None)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis prints a failing one
        printer.text(repr(self))

    def __repr__(self) -> str:  # bodies can be a megabyte
        messages = ", ".join(f"{len(m)} chars/bytes: {m[:200]!r}" for m in self.messages)
        return (f"FuzzRequest({self.endpoint}: {self.method} {self.path[:300]!r}, headers={self.headers!r:.600}, "
                f"body of {len(self.body)} bytes: {self.body[:600]!r}{f', messages: {messages}' if messages else ''})")


# ── which parts of a request are hostile ───────────────────────────────────────────────

# Besides its document, a request can be hurt in these places. Most requests get none or one
# fault, so that hurt documents mostly get past the door and reach validation and Kafka.
FAULTS = ("project", "key", "media_type", "encoding", "bytes", "headers", "origin", "method")


FAULT_COUNTS = st.sampled_from((0, 0, 0, 1, 1, 1, 2))
FAULT_SETS = [st.lists(st.sampled_from(FAULTS), min_size=n, max_size=n, unique=True) for n in range(3)]


@st.composite
def faults(draw: st.DrawFn) -> frozenset[str]:
    """No fault (most often), one, or two of :data:`FAULTS`."""
    return frozenset(draw(FAULT_SETS[draw(FAULT_COUNTS)]))


# ── bodies and their encodings ─────────────────────────────────────────────────────────


@st.composite
def hurt_bytes(draw: st.DrawFn, body: bytes, hostile: bool) -> bytes:
    """``body`` itself; hostile: cut, salted with random bytes, replaced by random bytes, doubled…"""
    if not hostile:
        return body
    how = draw(st.sampled_from(("cut", "salt", "random", "empty", "bom", "doubled", "nul")))
    if how == "cut":
        return body[:draw(st.integers(0, max(len(body) - 1, 0)))]
    if how == "salt":
        at = draw(st.integers(0, len(body)))
        return body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
    if how == "random":
        return draw(st.binary(max_size=512))
    if how == "empty":
        return b""
    if how == "bom":
        return b"\xef\xbb\xbf" + body
    if how == "nul":
        return body + b"\x00"
    return body + b"\n" + body


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


@st.composite
def encoded(draw: st.DrawFn, body: bytes, hostile: bool) -> tuple[bytes | None, bytes]:
    """(Content-Encoding header or None, body as sent): plain or gzip (one member or several);
    hostile: truncated gzip, a second member after a complete one, deflate, gzip twice, a
    plain body said to be gzip, an unknown coding."""
    if not hostile:
        how = draw(st.sampled_from(("none", "none", "gzip", "x-gzip", "members")))
        if how == "none":
            return None, body
        if how == "members":  # the same bytes split over two or three members: valid gzip (RFC 1952 §2.2)
            cuts = sorted(draw(st.lists(st.integers(0, len(body)), min_size=1, max_size=2)))
            pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
            return b"gzip", b"".join(gzipped(piece) for piece in pieces)
        return how.encode(), gzipped(body)
    how = draw(st.sampled_from(("truncated", "trailing-member", "deflate", "plain", "twice", "br", "bogus",
                                "brotli", "zstd", "zstd-cut")))
    if how == "truncated":
        compressed = gzipped(body)
        return b"gzip", compressed[:draw(st.integers(0, len(compressed) - 1))]
    if how == "trailing-member":  # a complete envelope, then more: every member counts
        return b"gzip", gzipped(body) + gzipped(draw(st.sampled_from((body, b"{}", b"[", b"\n" + body))))
    if how == "deflate":
        return b"deflate", zlib.compress(body)
    if how == "plain":
        return b"gzip", body
    if how == "twice":
        return b"gzip, gzip", gzipped(gzipped(body))
    if how == "bogus":
        return draw(header_values()), body
    if how == "brotli":
        return b"br", brotli.compress(body)
    if how == "zstd":  # one frame or, like `cat a.zst b.zst`, the body cut into frames
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=3)))
        pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
        return b"zstd", b"".join(zstd.ZstdCompressor().compress(piece, zstd.ZstdCompressor.FLUSH_FRAME)
                                 for piece in pieces)
    if how == "zstd-cut":
        compressed = zstd.ZstdCompressor().compress(body, zstd.ZstdCompressor.FLUSH_FRAME)
        return b"zstd", compressed[:draw(st.integers(0, len(compressed) - 1))]
    return how.encode(), body


def header_values() -> st.SearchStrategy[bytes]:
    """What an HTTP client can put in a header value: latin-1 without CR, LF or NUL."""
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
                   max_size=60).map(lambda text: text.strip().encode("latin-1"))


EVENT_MEDIA_TYPES = (b"application/json", b"text/plain;charset=UTF-8", b"text/plain", b"APPLICATION/JSON; charset=x")
SENTRY_MEDIA_TYPES = (b"text/plain;charset=UTF-8", b"application/x-sentry-envelope", b"application/json",
                      b"application/octet-stream", None)
WRONG_MEDIA_TYPES = (None, b"", b"application/xml", b"multipart/form-data; boundary=x",
                     b"application/x-www-form-urlencoded", b"image/gif", b"text/html", b"application/json-seq")


def media_type(fine: tuple[bytes | None, ...], hostile: bool) -> st.SearchStrategy[bytes | None]:
    return st.one_of(st.sampled_from(WRONG_MEDIA_TYPES), header_values()) if hostile else st.sampled_from(fine)


ORIGINS = st.one_of(st.sampled_from((b"https://shop.example.com", b"null", b"https://evil.example.com",
                                     b"http://127.0.0.1:1", b"")), header_values())


def extra_headers(hostile: bool) -> st.SearchStrategy[list[tuple[bytes, bytes]]]:
    if not hostile:
        return st.just([])
    names = st.sampled_from((b"x-forwarded-for", b"user-agent", b"accept", b"x-vigil-key", b"referer", b"cookie",
                             b"x-sentry-auth", b"content-language", b"expect", b"accept-encoding"))
    return st.lists(st.tuples(names, header_values()), min_size=1, max_size=3)


@st.composite
def common_headers(draw: st.DrawFn, hurt: frozenset[str], content_type: bytes | None,
                   encoding: bytes | None) -> list[tuple[bytes, bytes]]:
    """Content-Type, Content-Encoding, Origin and odd extra headers, as ``hurt`` has them."""
    headers = draw(extra_headers("headers" in hurt))
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if encoding is not None:
        headers.append((b"content-encoding", encoding))
    if "origin" in hurt:
        headers.append((b"origin", draw(ORIGINS)))
    return headers


# ── projects and keys ──────────────────────────────────────────────────────────────────


@st.composite
def project_and_key(draw: st.DrawFn, target: Target, hurt: frozenset[str]) -> tuple[int, str | None]:
    """The right project and key, or (hurt) an unknown or impossible project id, a wrong, foreign or no key."""
    project = target.project_id
    if "project" in hurt:
        project = draw(st.sampled_from((10**11, 2**64, *target.unknown_projects)))
    key: str | None = target.key
    if "key" in hurt:
        key = draw(st.sampled_from((target.other_key, None, "", "wrong", target.key[:-1], target.key.upper(),
                                    "😀", target.key + "x")))
    return project, key


@st.composite
def vigil_key_placement(draw: st.DrawFn, key: str | None) -> tuple[list[tuple[bytes, bytes]], list[tuple[str, str]]]:
    """The key in ``X-Vigil-Key``, in ``?key=``, in both, or nowhere → (headers, query)."""
    if key is None:
        return [], []
    where = draw(st.sampled_from(("header", "header", "query", "both")))
    headers = [(b"x-vigil-key", key.encode("latin-1", "replace"))] if where in ("header", "both") else []
    query = [("key", key)] if where in ("query", "both") else []
    return headers, query


METHODS = ("GET", "PUT", "DELETE", "PATCH", "HEAD", "TRACE", "PROPFIND")


def path_with(path: str, query: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(query)}" if query else path


# ── base documents, moved to now ───────────────────────────────────────────────────────


def v1_envelopes() -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    return [orjson.loads(vector.body(shift_to=now)) for vector in vectors.load("valid")]


def unified_documents() -> list[dict[str, Any]]:
    [vector] = vectors.load("unified")
    return [vectors.shift_timestamps(vector.doc["document"], datetime.now(timezone.utc) - vector.now)]


# spans carry the most structure (ops, segments, attributes): twice as likely as the others
SENTRY_CAPTURES = ("thrown_error", "captured_exception", "unhandled_rejection", "pageload_spans", "pageload_spans",
                   "interaction_spans", "interaction_spans", "session")


def sentry_envelopes() -> list[list[dict[str, Any]]]:
    return [vectors.sentry_lines(name) for name in SENTRY_CAPTURES]


def one_of_documents(documents: list[Any]) -> st.SearchStrategy[Any]:
    """One of ``documents`` (drawn by index: a failure report should not print them all)."""
    return st.integers(0, len(documents) - 1).map(documents.__getitem__)


# ── the endpoints ──────────────────────────────────────────────────────────────────────


def envelope_documents() -> st.SearchStrategy[Any]:
    base = one_of_documents(v1_envelopes())
    return st.one_of(base.flatmap(mutated), base.flatmap(free_form_nested), base.flatmap(mutated))


@st.composite
def post_body(draw: st.DrawFn, target: Target, endpoint: str, documents: st.SearchStrategy[Any]) -> FuzzRequest:
    """``POST /api/{project}/events`` with a (hurt) JSON document."""
    hurt = draw(faults())
    project, key = draw(project_and_key(target, hurt))
    key_headers, query = draw(vigil_key_placement(key))
    body = draw(hurt_bytes(dumps(draw(documents)), "bytes" in hurt))
    encoding, body = draw(encoded(body, "encoding" in hurt))
    content_type = draw(media_type(EVENT_MEDIA_TYPES, "media_type" in hurt))
    headers = key_headers + draw(common_headers(hurt, content_type, encoding))
    method = draw(st.sampled_from(METHODS)) if "method" in hurt else "POST"
    return FuzzRequest(endpoint, method, path_with(f"/api/{project}/events", query), tuple(headers), body)


def events_requests(target: Target) -> st.SearchStrategy[FuzzRequest]:
    return post_body(target, "events", envelope_documents())


def unified_requests(target: Target) -> st.SearchStrategy[FuzzRequest]:
    document = one_of_documents(unified_documents())
    event_id_nested = document.flatmap(lambda doc: deep_values(1100).map(lambda value: {**doc, "event_id": value}))
    return post_body(target, "unified", st.one_of(document.flatmap(mutated), event_id_nested))


def any_envelope_documents() -> st.SearchStrategy[Any]:
    """v1 envelopes and unified documents, hurt: what the pixel and the WebSocket carry."""
    return st.one_of(envelope_documents(), one_of_documents(unified_documents()).flatmap(mutated))


@st.composite
def pixel_request(draw: st.DrawFn, target: Target, documents: st.SearchStrategy[Any]) -> FuzzRequest:
    """``GET /api/{project}/pixel.gif?key=…&d=<envelope>``: the envelope in the query string."""
    hurt = draw(faults())
    project, key = draw(project_and_key(target, hurt))
    body = draw(hurt_bytes(dumps(draw(documents)), "bytes" in hurt))
    while len(quote(body)) > MAX_URL:
        body = body[:len(body) * 2 // 3]
    key_headers, query = draw(vigil_key_placement(key))
    params = [f"{name}={quote(value)}" for name, value in query]
    d = [f"d={quote(body)}"]
    if "bytes" in hurt:  # also: no d, or two
        d = draw(st.sampled_from((d, [], d + [f"d={quote(draw(st.binary(max_size=64)))}"])))
    params = draw(st.permutations(params + d))
    method = draw(st.sampled_from(("POST", "HEAD", "PUT", "OPTIONS"))) if "method" in hurt else "GET"
    headers = key_headers + draw(common_headers(hurt, None, None))
    return FuzzRequest("pixel", method, f"/api/{project}/pixel.gif?{'&'.join(params)}", tuple(headers))


def pixel_requests(target: Target) -> st.SearchStrategy[FuzzRequest]:
    return pixel_request(target, any_envelope_documents())


@st.composite
def ws_request(draw: st.DrawFn, target: Target, documents: st.SearchStrategy[Any]) -> FuzzRequest:
    """A WebSocket to ``/api/{project}/ws?key=…`` carrying one to three (hurt) envelopes, as text or binary."""
    hurt = draw(faults())
    project, key = draw(project_and_key(target, hurt))
    messages = []
    for _ in range(draw(st.integers(1, 3))):
        body = draw(hurt_bytes(dumps(draw(documents)), "bytes" in hurt))
        messages.append(body.decode("utf-8", "replace") if draw(st.booleans()) else body)
    key_headers, query = draw(vigil_key_placement(key))
    path = f"/api/{project}/ws"
    if "method" in hurt:  # the only method is the upgrade; hurt the path instead
        path = draw(st.sampled_from(("/api/ws", f"/api/{project}/events", f"/api/{project}/ws/", "/healthz")))
    headers = key_headers + draw(common_headers(hurt, None, None))
    return FuzzRequest("ws", "GET", path_with(path, query), tuple(headers), messages=tuple(messages))


def ws_requests(target: Target) -> st.SearchStrategy[FuzzRequest]:
    return ws_request(target, any_envelope_documents())


# ── Sentry ─────────────────────────────────────────────────────────────────────────────


SPAN_FIELDS = st.sampled_from(("op", "op", "span_id", "span_id", "segment_id", "parent_span_id", "trace_id", "name",
                               "attributes", "start_timestamp", "end_timestamp", "timestamp", "status", "is_segment"))
SPAN_VALUES = st.one_of(st.lists(st.integers(0, 9), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(0, 9)),
                        DEEP, NASTY)
SPAN_ATTRIBUTES = st.sampled_from(("sentry.op", "sentry.op", "sentry.op", "url.full", "sentry.segment.id", "sentry.release",
                                   "user.id", "sentry.sdk.name", "lcp.element", "cls.source.1"))
SENTRY_SPOTS = st.sampled_from(("none", "tags", "tags", "contexts", "extra", "span", "user"))
SPAN_SPOTS = st.sampled_from(("none", "tags", "contexts", "span", "span", "span", "span"))  # a payload of spans


@st.composite
def sentry_payload(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """A Sentry event/transaction/span payload: deep tags/contexts/extra, span ids of the wrong type."""
    payload = clone(payload)
    spot = draw(SPAN_SPOTS if payload.get("items") or payload.get("spans") else SENTRY_SPOTS)
    if spot in ("tags", "contexts", "extra", "user"):
        field = payload.setdefault(spot, {})
        if isinstance(field, dict):
            field[draw(KEYS)] = draw(st.one_of(DEEP, NASTY))
        else:
            payload[spot] = draw(NASTY)
    elif spot == "span":
        spans = [s for s in payload.get("items") or payload.get("spans") or [] if isinstance(s, dict)]
        span = spans[draw(st.integers(0, len(spans) - 1))] if spans else payload
        attributes = span.get("attributes")
        if isinstance(attributes, dict) and draw(st.booleans()):  # a v2 span's op, URL, segment are attributes
            value = draw(SPAN_VALUES)
            attributes[draw(SPAN_ATTRIBUTES)] = draw(st.sampled_from(({"value": value, "type": "string"}, value)))
        else:
            span[draw(SPAN_FIELDS)] = draw(SPAN_VALUES)
    return draw(mutated(payload, max_mutations=2))


LENGTHS = st.one_of(st.sampled_from((-1, 0, 1, 2**31, 2**64, 10**30, 1.5, "12", None, True)).map(json_number),
                    st.integers(-5, 5))


@st.composite
def sentry_envelope_body(draw: st.DrawFn, lines: list[dict[str, Any]], dsn: str | None) -> bytes:
    """A captured envelope, its header, item headers and payloads hurt, with right or bogus lengths."""
    header = draw(mutated(lines[0], max_mutations=1))
    if dsn is not None:
        header["dsn"] = dsn
    out = [dumps(header)]
    for item_header, payload in zip(lines[1::2], lines[2::2]):
        item_header = draw(mutated(item_header, max_mutations=1))
        raw = dumps(draw(sentry_payload(payload)))
        how = draw(st.sampled_from(("no-length",) * 3 + ("length",) * 3 + ("bogus-length", "off-by")))
        if isinstance(item_header, dict) and how != "no-length":
            length: Any = len(raw)
            if how == "bogus-length":
                length = draw(LENGTHS)
            elif how == "off-by":
                length = len(raw) + draw(st.integers(-3, 3))
            item_header["length"] = length
        out += [dumps(item_header), raw]
    separator = draw(st.sampled_from((b"\n",) * 6 + (b"\r\n", b"\n\n", b"")))
    return separator.join(out) + draw(st.sampled_from((b"", b"\n", b"\n\n")))


@st.composite
def sentry_auth(draw: st.DrawFn, target: Target, hurt: frozenset[str]
                ) -> tuple[int, list[tuple[bytes, bytes]], list[tuple[str, str]], str | None]:
    """(project, headers, query, envelope-header dsn): the key in X-Sentry-Auth, ?sentry_key= or
    the dsn; hurt: also a garbled X-Sentry-Auth, or no key anywhere."""
    project, key = draw(project_and_key(target, hurt))
    where = draw(st.sampled_from(("header", "query", "dsn", "both") + (("garbled-header", "nowhere") if "key" in hurt else ())))
    headers: list[tuple[bytes, bytes]] = []
    query: list[tuple[str, str]] = [("sentry_version", "7")] if draw(st.booleans()) else []
    dsn = None
    if key is not None:
        if where in ("header", "both"):
            headers.append((b"x-sentry-auth", f"Sentry sentry_key={key}, sentry_version=7, "
                                              f"sentry_client=sentry.javascript.browser/11.12.0".encode("latin-1", "replace")))
        if where in ("query", "both"):
            query.append(("sentry_key", key))
        if where == "dsn":
            dsn = f"http://{key}@127.0.0.1:1/{project}"
        if where == "garbled-header":
            headers.append((b"x-sentry-auth", draw(header_values())))
    return project, headers, query, dsn


@st.composite
def sentry_post(draw: st.DrawFn, target: Target, endpoint: str, documents: st.SearchStrategy[Any]) -> FuzzRequest:
    """``POST /api/{project}/envelope/`` with a hurt captured envelope, or ``/store/`` with one
    hurt Sentry event (the legacy endpoint)."""
    hurt = draw(faults())
    project, headers, query, dsn = draw(sentry_auth(target, hurt))
    if endpoint == "sentry-envelope":
        body = draw(sentry_envelope_body(draw(documents), dsn))
    else:
        body = dumps(draw(sentry_payload(draw(documents))))
    body = draw(hurt_bytes(body, "bytes" in hurt))
    encoding, body = draw(encoded(body, "encoding" in hurt))
    content_type = draw(media_type(SENTRY_MEDIA_TYPES, "media_type" in hurt))
    headers += draw(common_headers(hurt, content_type, encoding))
    name = endpoint.removeprefix("sentry-")
    path = draw(st.sampled_from((f"/api/{project}/{name}/", f"/api/{project}/{name}")))
    method = draw(st.sampled_from(METHODS)) if "method" in hurt else "POST"
    return FuzzRequest(endpoint, method, path_with(path, query), tuple(headers), body)


def sentry_envelope_requests(target: Target) -> st.SearchStrategy[FuzzRequest]:
    return sentry_post(target, "sentry-envelope", one_of_documents(sentry_envelopes()))


def sentry_store_requests(target: Target) -> st.SearchStrategy[FuzzRequest]:
    payloads = [lines[2] for lines in sentry_envelopes() if lines[1].get("type") == "event"]
    return sentry_post(target, "sentry-store", one_of_documents(payloads))


# ── preflight, health and everything else ──────────────────────────────────────────────


@st.composite
def preflight_requests(draw: st.DrawFn, target: Target) -> FuzzRequest:
    """``OPTIONS`` on every endpoint, with any Origin and CORS request headers."""
    hurt = draw(faults())
    project, _ = draw(project_and_key(target, hurt))
    endpoint = draw(st.sampled_from(("events", "events", "envelope/", "store/", "envelope", "pixel.gif", "ws")))
    headers = [(b"access-control-request-method", draw(st.sampled_from((b"POST", b"GET", b"DELETE")) | header_values())),
               (b"access-control-request-headers", draw(st.sampled_from((b"content-type,x-vigil-key",)) | header_values())),
               (b"origin", draw(ORIGINS))]
    return FuzzRequest("preflight", "OPTIONS", f"/api/{project}/{endpoint}", tuple(headers + draw(extra_headers("headers" in hurt))))


@st.composite
def health_requests(draw: st.DrawFn) -> FuzzRequest:
    """``/healthz`` with any method and query — and paths next to the real ones."""
    method = draw(st.sampled_from(("GET",) * 6 + ("HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")))
    path = draw(st.one_of(
        st.just("/healthz"), st.just("/healthz"),
        st.sampled_from(("/", "/healthz/", "/api", "/api/1", "/api/1/", "/api/-1/events", "/api/01/events",
                         "/api/1/events/", "/api/1/store//", "/api/１/events", "/api/1/EVENTS", "/api/1/events//")),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="?#%"), max_size=30)
        .map(lambda text: "/" + text.lstrip("/"))))  # "//x" would name a host
    query = draw(st.lists(st.tuples(st.text(max_size=5), st.text(max_size=10)), max_size=2))
    return FuzzRequest("health", method, path_with(path, query), tuple(draw(extra_headers(draw(st.booleans())))))


@functools.cache
def requests_for(endpoint: str, target: Target) -> st.SearchStrategy[FuzzRequest]:
    """The strategy of one endpoint's requests (built once: it holds the base documents)."""
    builders = {
        "events": events_requests, "unified": unified_requests, "pixel": pixel_requests, "ws": ws_requests,
        "sentry-envelope": sentry_envelope_requests, "sentry-store": sentry_store_requests,
        "preflight": preflight_requests, "health": lambda _target: health_requests(),
    }
    return builders[endpoint](target)


def any_request(target: Target) -> st.SearchStrategy[FuzzRequest]:
    """A request to any endpoint, every endpoint about equally often."""
    return st.one_of(*(requests_for(endpoint, target) for endpoint in ENDPOINTS))
