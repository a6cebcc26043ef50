"""``vigil clickhouse``: the chDB engine served behind ClickHouse's own HTTP interface.

A chDB data directory can be opened by one process only (a second opener gets ``Cannot lock
file …/status``), yet the processor, the dashboard, the notebooks and the alert evaluator are
separate processes. So one process owns the engine and speaks enough of ClickHouse's HTTP
protocol that every other process uses the unchanged ``clickhouse-connect`` client, exactly as
against a real ClickHouse server (``VIGIL_CLICKHOUSE_URL`` switches to one).

What is implemented (see docs/clickhouse.md for the full list):

* users ``vigil`` and ``vigil_reader`` (:mod:`pipeline.warehouse.access`), signed in the ways
  ClickHouse takes credentials (Basic auth, ``X-ClickHouse-User``/``-Key``, ``user``/``password``
  parameters), anything else ``516 AUTHENTICATION_FAILED``; each query runs in the user's role
  under ClickHouse's own grants (no table function or engine reaches outside the database), and
  what chDB runs outside its access control (``INTO OUTFILE``, ``FROM INFILE``, scalar
  ``file()``, ``executable()``, ``SET ROLE``) is refused before the engine sees it
* ``GET /ping`` and ``GET /replicas_status`` → ``Ok.``; ``GET /`` without a query → ``Ok.``
  (no credentials needed, as on ClickHouse)
* queries in the ``query`` URL parameter, in the body, or both (``query + "\\n" + body``,
  as ClickHouse concatenates them); ``multipart/form-data`` bodies (query and parameters as fields)
* ``database``, ``default_format``, ``query_id``, ``session_id``/``session_timeout``/
  ``session_check``, ``wait_end_of_query``, ``param_<name>`` for ``{name:Type}`` placeholders
  (bound by the engine itself, never spliced into the SQL text), and every other URL parameter
  that names a setting the engine knows (unknown ones are ignored)
* INSERT with the data in the body (the statement in the URL, or on the body's first line),
  streamed into chDB's ``send_insert`` chunk by chunk — no per-row work in Python
* ``Transfer-Encoding: chunked`` request bodies; ``Content-Encoding`` gzip / deflate / zstd /
  lz4 request bodies; compressed responses when ``enable_http_compression=1`` and the client's
  ``Accept-Encoding`` offers one of those
* results in any output format the engine has (clickhouse-connect asks for Native); formats
  without header or footer are streamed block by block unless ``wait_end_of_query=1``, with
  mid-stream errors reported in ClickHouse's ``X-ClickHouse-Exception-Tag`` block so the client
  raises them
* errors with ClickHouse's HTTP status for the error code, the ``X-ClickHouse-Exception-Code``
  header and a ``Code: N. DB::Exception: …`` body
* the headers clickhouse-connect reads: ``X-ClickHouse-Query-Id``, ``-Summary``, ``-Format``,
  ``-Timezone``, ``-Server-Display-Name``

Concurrency: chDB runs queries on different connections of one engine in parallel and releases
the GIL while it works, so every HTTP request gets its own chDB connection (pooled, keyed by
database and settings); a ClickHouse session (``session_id``) gets a dedicated connection so
``SET``, ``USE`` and temporary tables persist across its requests, as on a real server.
"""

from __future__ import annotations

import argparse
import fcntl
import hmac
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import chdb

from pipeline import settings as vigil_settings
from pipeline.warehouse import access

log = logging.getLogger("vigil.clickhouse")

HOST = "127.0.0.1"
READ_CHUNK = 1 << 20  # bytes read from the socket per step of a body
APPEND_CHUNK = 1 << 20  # bytes handed to chDB per append() of an INSERT's data
MAX_QUERY_BYTES = 64 << 20  # a non-INSERT statement (or a form body) larger than this is refused
KEEP_ALIVE_S = 300  # idle keep-alive connections (and stalled bodies) are dropped after this
DEFAULT_SESSION_TIMEOUT_S = 60  # ClickHouse's default_session_timeout
MAX_SESSION_TIMEOUT_S = 3600  # ClickHouse's max_session_timeout
MAX_SESSIONS = 1000  # beyond this, the least recently used idle session is closed
MAX_IDLE_CONNECTIONS = 32  # pooled chDB connections kept open between requests
MAX_CONCURRENT_QUERIES = 64  # requests beyond this wait for a slot (ClickHouse: max_concurrent_queries)
SESSION_LOCK_WAIT_S = 5.0  # how long a request waits for its session's previous request to finish
SHUTDOWN_GRACE_S = 15.0  # on SIGTERM, how long running requests may take before the engine closes

# URL parameters that belong to the HTTP interface, never forwarded to the engine as settings
HTTP_PARAMETERS = frozenset(
    {
        "query", "database", "default_format", "session_id", "session_timeout", "session_check",
        "query_id", "quota_key", "compress", "decompress", "buffer_size", "wait_end_of_query",
        "user", "password", "role", "client_protocol_version", "enable_http_compression",
        "send_progress_in_http_headers", "cancel_http_readonly_queries_on_client_close",
        "add_http_cors_header", "http_zlib_compression_level", "http_native_compression_disable_checksumming_on_decompress",
    }
)
HTTP_PARAMETER_PREFIXES = ("param_", "http_")

# statements whose result is a table (ClickHouse's ASTQueryWithOutput); others answer with no body
RESULT_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK", "WATCH", "KILL"})
# statements that change a connection's state; outside a session their connection is not reused
STATEFUL_STATEMENTS = frozenset({"SET", "USE"})
# output formats whose blocks concatenate to exactly the whole result (no header, footer or
# per-block framing), so a result in them can be sent block by block as chDB produces it
STREAMABLE_FORMATS = frozenset(
    {"native", "rowbinary", "tabseparated", "tsv", "tabseparatedraw", "tsvraw", "csv",
     "jsoneachrow", "jsonlines", "ndjson", "jsoncompacteachrow"}
)
# result formats chDB's Python API turns into Python objects instead of bytes
PYTHON_ONLY_FORMATS = frozenset({"dataframe", "arrowtable", "datastore"})

# ClickHouse's exceptionCodeToHTTPStatus, by the error's symbolic name (chDB reports it in the message)
HTTP_STATUS_BY_ERROR = {
    **dict.fromkeys(("REQUIRED_PASSWORD",), 401),
    **dict.fromkeys(("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"), 403),
    **dict.fromkeys(
        (
            "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
            "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
            "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
            "CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
            "UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST",
            "TOO_BIG_AST", "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
            "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
        ),
        400,
    ),
    **dict.fromkeys(
        (
            "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
            "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
            "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE",
        ),
        404,
    ),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "CANNOT_SCHEDULE_TASK": 503,
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}

_ERROR_CODE_RE = re.compile(r"Code: (\d+)\. DB::Exception: ")
_ERROR_NAME_RE = re.compile(r"\(([A-Z][A-Z0-9_]+)\)(?: \(version [^)]*\))?\s*$")
_SETTING_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ClickHouseError(Exception):
    """An error answered the way ClickHouse answers it: a code, a symbolic name, a message."""

    def __init__(self, code: int, name: str, message: str):
        super().__init__(message)
        self.code = code
        self.name = name

    @property
    def http_status(self) -> int:
        return HTTP_STATUS_BY_ERROR.get(self.name, 500)

    def body(self) -> bytes:
        text = str(self)
        if not text.startswith("Code: "):
            text = f"Code: {self.code}. DB::Exception: {text}. ({self.name})"
        return (text.rstrip() + "\n").encode("utf-8", "replace")

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """Wrap an exception raised by chDB, keeping the engine's own code, name and text."""
        text = str(exc)
        match = _ERROR_CODE_RE.search(text)
        if not match:
            return cls(1001, "STD_EXCEPTION", f"Code: 1001. DB::Exception: {text}. (STD_EXCEPTION)")
        message = text[match.start():]  # drop chDB's Python-side prefixes ("Streaming insert finish failed: ")
        name = _ERROR_NAME_RE.search(message)
        return cls(int(match.group(1)), name.group(1) if name else "UNKNOWN_EXCEPTION", message)


def _syntax_error(message: str) -> ClickHouseError:
    return ClickHouseError(62, "SYNTAX_ERROR", f"Code: 62. DB::Exception: {message}. (SYNTAX_ERROR)")


def _bad_arguments(message: str) -> ClickHouseError:
    return ClickHouseError(36, "BAD_ARGUMENTS", f"Code: 36. DB::Exception: {message}. (BAD_ARGUMENTS)")


def _not_implemented(message: str) -> ClickHouseError:
    return ClickHouseError(48, "NOT_IMPLEMENTED", f"Code: 48. DB::Exception: {message}. (NOT_IMPLEMENTED)")


# --------------------------------------------------------------------------------------------
# SQL statement heads: where an INSERT's data begins, which FORMAT a query asks for.
# A lexer, not a parser: it skips strings, quoted identifiers and comments and tracks bracket
# depth, which is all that is needed to find top-level keywords the way ClickHouse does.
# --------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    rb"""
    (?P<ws>\s+)
    |(?P<comment>(?:--|\#)[^\n]*)
    |(?P<string>'(?:[^'\\]+|\\.|'')*+')
    |(?P<dquoted>"(?:[^"\\]+|\\.|"")*+")
    |(?P<bquoted>`(?:[^`\\]+|\\.|``)*+`)
    |(?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    |(?P<number>[0-9][0-9A-Za-z_.]*(?:[eEpP][+-][0-9]+)?)
    |(?P<open>[(\[{])
    |(?P<close>[)\]}])
    |(?P<semicolon>;)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)


class _Incomplete(Exception):
    """The text ends inside a string, quoted name or comment: more of the body is needed."""


@dataclass(frozen=True)
class _Token:
    kind: str
    start: int
    end: int
    depth: int
    text: bytes


def _tokens(text: bytes | bytearray) -> Iterator[_Token]:
    """Significant tokens of ``text`` with their bracket depth (whitespace and comments skipped)."""
    pos, depth, size = 0, 0, len(text)
    while pos < size:
        if text.startswith(b"/*", pos):  # block comments nest in ClickHouse
            level, pos = 1, pos + 2
            while level:
                nxt_open, nxt_close = text.find(b"/*", pos), text.find(b"*/", pos)
                if nxt_close < 0:
                    raise _Incomplete
                if 0 <= nxt_open < nxt_close:
                    level, pos = level + 1, nxt_open + 2
                else:
                    level, pos = level - 1, nxt_close + 2
            continue
        match = _TOKEN_RE.match(text, pos)
        assert match is not None  # the last alternative matches any byte
        kind = match.lastgroup or "other"
        if kind == "other" and text[pos:pos + 1] in (b"'", b'"', b"`"):
            raise _Incomplete  # an opening quote whose closing quote has not arrived yet
        end = match.end()
        if kind not in ("ws", "comment"):
            if kind == "close":
                depth = max(0, depth - 1)
            yield _Token(kind, pos, end, depth, bytes(text[pos:end]))
            if kind == "open":
                depth += 1
        pos = end


@dataclass(frozen=True)
class Statement:
    """One request's statement, split the way ClickHouse's HTTP handler splits it."""

    sql: bytes  # the SQL to run; for an INSERT with data: the statement without its FORMAT/VALUES part
    keyword: str  # first keyword, upper-cased ("SELECT", "INSERT", …); "SELECT" for "(SELECT …)"
    insert_format: str | None = None  # set for an INSERT whose data follows: its input format
    data_offset: int = 0  # INSERT with data: where the data starts in the text read so far
    output_format: str | None = None  # a query's own FORMAT clause, if it has one
    temporary: bool = False  # mentions TEMPORARY (a session-scoped table)

    @property
    def has_result(self) -> bool:
        return self.insert_format is None and (self.keyword in RESULT_STATEMENTS or self.output_format is not None)


def analyze_statement(text: bytes | bytearray, complete: bool) -> Statement | None:
    """Classify the statement at the start of ``text``; None when more text is needed to tell.

    For ``INSERT … FORMAT fmt <data>`` / ``INSERT … VALUES <data>`` the data starts where
    ClickHouse starts it: after the format name, trailing blanks and at most one newline.
    Everything else is a query and needs the complete text.
    """
    try:
        tokens = _tokens(text)
        first = next(tokens, None)
        if first is None:
            if complete:
                raise _syntax_error("Empty query")
            return None
        keyword = "SELECT" if first.kind == "open" else first.text.decode("latin-1").upper()
        if keyword == "INSERT":
            for token in tokens:
                if token.depth or token.kind != "word":
                    continue
                word = token.text.upper()
                if word == b"FORMAT":
                    name = next(tokens, None)
                    if name is None:
                        break  # the format name has not arrived yet
                    if name.kind != "word":
                        raise _syntax_error("Expected a format name after FORMAT in the INSERT")
                    data = name.end
                    while data < len(text) and text[data] in b" \t\f":
                        data += 1
                    if data < len(text) and text[data] == 0x0D:
                        data += 1
                    if data < len(text) and text[data] == 0x0A:
                        data += 1
                    if data == len(text) and not complete:
                        return None  # the separator before the data might still be on its way
                    return Statement(bytes(text[:token.start]), "INSERT", name.text.decode("ascii"), data)
                if word == b"VALUES":
                    return Statement(bytes(text[:token.start]), "INSERT", "Values", token.end)
                if word in (b"SELECT", b"WITH"):
                    break  # INSERT … SELECT: an ordinary query, needs the whole text
        if not complete:
            return None
        return _query_statement(text, keyword)
    except _Incomplete:
        if complete:
            raise _syntax_error("Unterminated string, quoted identifier or comment in the query") from None
        return None


def _query_statement(text: bytes | bytearray, keyword: str) -> Statement:
    tokens = list(_tokens(text))
    semicolons = [i for i, t in enumerate(tokens) if t.kind == "semicolon" and t.depth == 0]
    if semicolons and semicolons[0] != len(tokens) - 1 and any(t.kind != "semicolon" for t in tokens[semicolons[0]:]):
        raise _syntax_error("Multi-statements are not allowed: send one statement per request")
    output_format = None
    for i, token in enumerate(tokens):
        if token.depth or token.kind != "word" or token.text.upper() != b"FORMAT" or i + 1 >= len(tokens):
            continue
        name, after = tokens[i + 1], tokens[i + 2] if i + 2 < len(tokens) else None
        # FORMAT <name> ends the statement (only SETTINGS or ';' may follow); anything else is a
        # column or function that happens to be called "format"
        if name.kind == "word" and (after is None or after.kind == "semicolon" or after.text.upper() == b"SETTINGS"):
            output_format = name.text.decode("ascii")
    temporary = any(t.kind == "word" and t.depth == 0 and t.text.upper() == b"TEMPORARY" for t in tokens[:4])
    return Statement(bytes(text), keyword, output_format=output_format, temporary=temporary)


# functions that read files or run programs outside the access control of table functions
# (ClickHouse's scalar file() reads any path in chDB; executable() runs scripts)
OUTSIDE_FUNCTIONS = frozenset({"file", "executable", "executablepool"})


def _access_denied(message: str) -> ClickHouseError:
    return ClickHouseError(497, "ACCESS_DENIED", f"Code: 497. DB::Exception: {message}. (ACCESS_DENIED)")


def _name(token: _Token) -> str:
    """A word or quoted identifier as the name it stands for (lower-cased)."""
    text = token.text.decode("utf-8", "replace")
    if token.kind in ("bquoted", "dquoted"):
        text = text[1:-1].replace(text[0] * 2, text[0]).replace("\\" + text[0], text[0])
    return text.lower()


def refusal(sql: bytes) -> ClickHouseError | None:
    """Why the embedded server refuses ``sql`` for every user, or None.

    ClickHouse's grants refuse table functions and engines that reach outside the database;
    these are the parts chDB runs outside them: ``INTO OUTFILE`` and ``FROM INFILE`` (done by
    chDB's client side, as root of the server's files), the scalar ``file()``, ``executable()``,
    and ``SET ROLE`` (the server sets the authenticated user's role; a query may not change it).
    """
    tokens = [t for t in _tokens(sql) if t.kind != "semicolon"]
    names = [_name(t) if t.kind in ("word", "bquoted", "dquoted") else "" for t in tokens]
    if names[:2] == ["set", "role"] or names[:3] == ["set", "default", "role"]:
        return _access_denied("SET ROLE is not allowed: the server sets the role of the user who authenticated")
    for i, token in enumerate(tokens[:-1]):
        pair = (names[i], names[i + 1]) if token.kind == "word" and tokens[i + 1].kind == "word" else None
        if pair == ("into", "outfile"):
            return _access_denied("INTO OUTFILE is not allowed: the server writes no files; read the result from the response")
        if pair == ("from", "infile"):
            return _access_denied("FROM INFILE is not allowed: the server reads no files; send the data in the request body")
        if names[i] in OUTSIDE_FUNCTIONS and tokens[i + 1].kind == "open" and tokens[i + 1].text == b"(":
            return _access_denied(f"The function {names[i]}() is not allowed: it reaches outside the database")
    return None


def insert_target(sql: bytes) -> str | None:
    """The table an ``INSERT INTO [TABLE] [db.]table …`` writes to; None for ``INSERT INTO
    FUNCTION …`` or anything else."""
    tokens = list(_tokens(sql))
    names = [_name(t) if t.kind in ("word", "bquoted", "dquoted") else None for t in tokens[:6]]
    if names[:2] != ["insert", "into"]:
        return None
    position = 3 if len(names) > 2 and names[2] == "table" and tokens[2].kind == "word" else 2
    if position >= len(tokens) or names[position] is None or (names[position] == "function" and tokens[position].kind == "word"):
        return None
    table = position
    if position + 2 < len(tokens) and tokens[position + 1].text == b"." and names[position + 2] is not None:
        table = position + 2
    text = tokens[table].text.decode("utf-8", "replace")
    return text[1:-1].replace(text[0] * 2, text[0]) if tokens[table].kind in ("bquoted", "dquoted") else text


# --------------------------------------------------------------------------------------------
# Request bodies: Content-Length or chunked, optionally compressed. Bytes stay bytes.
# --------------------------------------------------------------------------------------------


class _Decompressor:
    """Streaming decompression of one Content-Encoding; concatenated frames/members are fine
    (clickhouse-connect compresses each insert block as its own lz4/zstd frame)."""

    def __init__(self, encoding: str):
        self.encoding = encoding
        self._new: Callable[[], Any]
        if encoding in ("gzip", "x-gzip"):
            self._new = lambda: zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._new = lambda: zlib.decompressobj(zlib.MAX_WBITS)
        elif encoding == "zstd":
            zstd = _import_zstd()
            self._new = zstd.ZstdDecompressor
        elif encoding == "lz4":
            import lz4.frame

            self._new = lz4.frame.LZ4FrameDecompressor
        elif encoding == "br":
            try:
                import brotli
            except ImportError:
                raise _not_implemented("Content-Encoding br needs the brotli package on the server; send lz4, zstd or gzip") from None
            self._new = brotli.Decompressor
        else:
            raise ClickHouseError(
                36, "BAD_ARGUMENTS",
                f"Code: 36. DB::Exception: Unsupported Content-Encoding {encoding!r}: use gzip, deflate, zstd or lz4. (BAD_ARGUMENTS)",
            )
        self._current = self._new()

    def decompress(self, data: bytes) -> bytes:
        out = []
        while data:
            try:
                if self.encoding == "br":
                    out.append(self._current.process(data))
                    break
                out.append(self._current.decompress(data))
            except Exception as exc:
                raise ClickHouseError(
                    271, "CANNOT_DECOMPRESS",
                    f"Code: 271. DB::Exception: Cannot decompress the {self.encoding} request body: {exc}. (CANNOT_DECOMPRESS)",
                ) from None
            if getattr(self._current, "eof", False):
                data = self._current.unused_data
                self._current = self._new()
            else:
                break
        return b"".join(out)


def _import_zstd():
    if sys.version_info >= (3, 14):
        from compression import zstd
    else:
        from backports import zstd
    return zstd


class RequestBody:
    """The bytes of a request body, decoded from its transfer and content encodings."""

    def __init__(self, rfile, headers):
        self._rfile = rfile
        transfer = (headers.get("Transfer-Encoding") or "").lower()
        self._chunked = "chunked" in transfer
        length = headers.get("Content-Length")
        try:
            self._remaining = int(length) if length is not None and not self._chunked else 0
        except ValueError:
            raise _bad_arguments(f"Invalid Content-Length {length!r}") from None
        encoding = (headers.get("Content-Encoding") or "").strip().lower()
        self._decompressor = _Decompressor(encoding) if encoding and encoding != "identity" else None
        self.exhausted = not self._chunked and self._remaining == 0

    def _raw_chunks(self) -> Iterator[bytes]:
        if self._chunked:
            while True:
                line = self._rfile.readline(65537)
                if not line:
                    raise _bad_arguments("The chunked request body ended early")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise _bad_arguments(f"Invalid chunk size line {line[:40]!r}") from None
                if size == 0:
                    while self._rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self.exhausted = True
                    return
                while size:
                    piece = self._rfile.read(min(size, READ_CHUNK))
                    if not piece:
                        raise _bad_arguments("The chunked request body ended early")
                    size -= len(piece)
                    yield piece
                self._rfile.readline(3)  # CRLF after the chunk
        else:
            while self._remaining:
                piece = self._rfile.read(min(self._remaining, READ_CHUNK))
                if not piece:
                    raise _bad_arguments("The request body ended before Content-Length bytes arrived")
                self._remaining -= len(piece)
                yield piece
            self.exhausted = True

    def chunks(self) -> Iterator[bytes]:
        """Decoded body bytes, in pieces of about READ_CHUNK (empty pieces are skipped)."""
        for raw in self._raw_chunks():
            data = self._decompressor.decompress(raw) if self._decompressor else raw
            if data:
                yield data

    def read_all(self, limit: int) -> bytes:
        out = bytearray()
        for piece in self.chunks():
            out += piece
            if len(out) > limit:
                raise ClickHouseError(
                    413, "QUERY_IS_TOO_LARGE",
                    f"Code: 413. DB::Exception: The request body is larger than {limit} bytes; "
                    "send large data as INSERT … FORMAT with the data in the body. (QUERY_IS_TOO_LARGE)",
                )
        return bytes(out)


def parse_form(content_type: str, body: bytes) -> dict[str, str]:
    """Fields of a multipart/form-data body (clickhouse-connect sends the query and long
    ``param_*`` values this way). File fields are external data, which chDB cannot receive."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise _bad_arguments("multipart/form-data request without a boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    fields: dict[str, str] = {}
    for part in body.split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, value = part.partition(b"\r\n\r\n")
        if value.endswith(b"\r\n"):
            value = value[:-2]
        disposition = re.search(rb"(?im)^content-disposition:.*$", head)
        name = re.search(rb'name="([^"]*)"', disposition.group(0)) if disposition else None
        if not name:
            continue
        if re.search(rb'filename="', disposition.group(0)):
            raise _not_implemented(
                "External data (tables sent with the query) is not supported by the embedded chDB server; "
                "insert the data into a table first, or point VIGIL_CLICKHOUSE_URL at a real ClickHouse"
            )
        fields[name.group(1).decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return fields


# --------------------------------------------------------------------------------------------
# Response compression (one stream per response, as clickhouse-connect decodes one frame)
# --------------------------------------------------------------------------------------------


class _Compressor:
    def __init__(self, encoding: str, level: int):
        self.encoding = encoding
        if encoding in ("gzip", "deflate"):
            obj = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
            self.compress, self._flush = obj.compress, obj.flush
        elif encoding == "zstd":
            obj = _import_zstd().ZstdCompressor()
            self.compress, self._flush = obj.compress, obj.flush
        else:  # lz4
            import lz4.frame

            obj = lz4.frame.LZ4FrameCompressor()
            header = obj.begin()
            first = [header]

            def compress(data: bytes) -> bytes:
                out = obj.compress(data)
                return first.pop() + out if first else out

            def flush() -> bytes:
                return (first.pop() if first else b"") + obj.flush()

            self.compress, self._flush = compress, flush

    def finish(self) -> bytes:
        return self._flush()


RESPONSE_ENCODINGS = ("lz4", "zstd", "gzip", "deflate")


def choose_response_encoding(accept_encoding: str) -> str | None:
    """The first encoding the client lists (and does not refuse with q=0) that we can produce."""
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if re.search(r"q\s*=\s*0(?:\.0*)?\s*$", params.strip()):
            continue
        if name in RESPONSE_ENCODINGS:
            return name
    return None


def content_type_for(fmt: str) -> str:
    name = fmt.lower()
    if name.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if name.startswith("csv"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "names" in name else "absent")
    if name.startswith(("jsoneachrow", "jsonlines", "ndjson", "jsoncompacteachrow", "jsonstringseachrow")):
        return "application/x-ndjson; charset=UTF-8"
    if name.startswith("json"):
        return "application/json; charset=UTF-8"
    if name.startswith(("pretty", "vertical", "values", "markdown", "template", "prometheus")):
        return "text/plain; charset=UTF-8"
    if name == "xml":
        return "application/xml; charset=UTF-8"
    return "application/octet-stream"


# --------------------------------------------------------------------------------------------
# The engine: one chDB data directory, a pool of connections and ClickHouse sessions.
# --------------------------------------------------------------------------------------------


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _set_statement(values: dict[str, str | None]) -> str:
    """``SET a = 'x', b = DEFAULT`` (None restores the default); readonly goes last because one
    SET's constraints are checked against the state before it."""
    names = sorted(values, key=lambda n: n == "readonly")
    return "SET " + ", ".join(f"{name} = {'DEFAULT' if values[name] is None else _quote_literal(values[name])}" for name in names)


@dataclass
class Session:
    """A ClickHouse HTTP session: one dedicated chDB connection and what was applied to it."""

    id: str
    connection: Any
    timeout: float
    last_used: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    database: str | None = None  # last database switched to by a URL parameter (None: unknown)
    overrides: dict[str, str] = field(default_factory=dict)  # settings currently applied from the URL
    baseline: dict[str, str | None] = field(default_factory=dict)  # the session's own values of those (None: default)
    closed: bool = False


def _refuse_if_in_use(path: Path) -> None:
    """Exit with a clear message if another process holds the data directory's lock (chDB
    itself only reports "Error initializing EmbeddedServer")."""
    status = path / "status"
    if not status.exists():
        return
    with open(status, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(
                f"vigil clickhouse: the chDB data directory {path} is in use by another process (only one "
                "process may open it). Stop the other `vigil clickhouse`, or set VIGIL_DATA_DIR to another directory."
            ) from None
        fcntl.flock(handle, fcntl.LOCK_UN)


class Engine:
    """One chDB engine on one data directory, shared by all requests of this process."""

    def __init__(self, path: Path, database: str = "vigil"):
        self.path = str(path)
        path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        _refuse_if_in_use(path)
        # users, roles and grants (pipeline/warehouse/access.py) from a config file next to the data
        config = access.embedded_config(path.with_name(path.name + "-config"), database)
        self._keeper = chdb.connect(f"file:{self.path}?config-file={config}")  # keeps the engine open between requests
        version, tz = self._keeper.query("SELECT version(), timezone()", "TabSeparated").bytes().decode().strip().split("\t")
        self.version, self.timezone = version, tz
        names = self._keeper.query("SELECT name FROM system.settings", "TabSeparated").bytes().decode().split("\n")
        self.known_settings = frozenset(n for n in names if n)
        self._idle: dict[tuple, list[Any]] = {}
        self._idle_count = 0
        self._sessions: dict[str, Session] = {}
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_QUERIES)
        self._closed = False

    # -- settings -------------------------------------------------------------------------

    def engine_settings(self, params: dict[str, str]) -> dict[str, str]:
        """The URL parameters that are engine settings (HTTP-interface ones and unknown ones dropped)."""
        return {
            name: value
            for name, value in params.items()
            if name not in HTTP_PARAMETERS
            and not name.startswith(HTTP_PARAMETER_PREFIXES)
            and name in self.known_settings
            and _SETTING_NAME_RE.match(name)
        }

    # -- connections ----------------------------------------------------------------------

    def _open(self, role: str, database: str | None, settings: dict[str, str]):
        if self._closed:
            raise ClickHouseError(210, "NETWORK_ERROR", "Code: 210. DB::Exception: The server is shutting down. (NETWORK_ERROR)")
        with self._lock:
            connection = chdb.connect(self.path)
        try:
            connection.query(f"SET ROLE {_quote_identifier(role)}")  # the authenticated user's grants only
            if database:
                connection.query(f"USE {_quote_identifier(database)}")
            if settings:
                connection.query(_set_statement(settings))
        except Exception as exc:
            connection.close()
            raise ClickHouseError.from_engine(exc) from None
        return connection

    @contextmanager
    def pooled(self, role: str, database: str | None, settings: dict[str, str], reusable: Callable[[], bool]):
        """A connection in ``role`` with ``database`` selected and ``settings`` set, for one request."""
        key = (role, database or "", tuple(sorted(settings.items())))
        with self._slots:
            with self._lock:
                idle = self._idle.get(key)
                connection = idle.pop() if idle else None
                if connection is not None:
                    self._idle_count -= 1
            if connection is None:
                connection = self._open(role, database, settings)
            healthy = False
            try:
                yield connection
                healthy = True
            finally:
                keep = healthy and reusable() and not self._closed
                with self._lock:
                    if keep and self._idle_count < MAX_IDLE_CONNECTIONS:
                        self._idle.setdefault(key, []).append(connection)
                        self._idle_count += 1
                        connection = None
                if connection is not None:
                    connection.close()

    @contextmanager
    def session(self, role: str, session_id: str, timeout: float, must_exist: bool):
        """The session's connection, locked for this request (ClickHouse: one query per session at a
        time). Sessions are per role: one user cannot continue another's session."""
        shown, session_id = session_id, f"{role}/{session_id}"
        with self._lock:
            current = self._sessions.get(session_id)
            if current is None:
                if must_exist:
                    raise ClickHouseError(
                        372, "SESSION_NOT_FOUND",
                        f"Code: 372. DB::Exception: Session {shown} not found. (SESSION_NOT_FOUND)",
                    )
                if self._closed:
                    raise ClickHouseError(210, "NETWORK_ERROR", "Code: 210. DB::Exception: The server is shutting down. (NETWORK_ERROR)")
                current = Session(session_id, None, timeout)
                self._sessions[session_id] = current
                self._evict_sessions_locked()
        if not current.lock.acquire(timeout=SESSION_LOCK_WAIT_S):
            raise ClickHouseError(
                373, "SESSION_IS_LOCKED",
                f"Code: 373. DB::Exception: Session {shown} is locked by a concurrent client. (SESSION_IS_LOCKED)",
            )
        try:
            while current.closed:  # expired or evicted while we waited: continue in its successor
                current.lock.release()
                with self._lock:
                    successor = self._sessions.get(session_id)
                    if successor is None:
                        successor = Session(session_id, None, timeout)
                        self._sessions[session_id] = successor
                current = successor
                current.lock.acquire()
            if current.connection is None:
                current.connection = self._open(role, None, {})
            current.timeout = timeout
            with self._slots:
                yield current
        finally:
            current.last_used = time.monotonic()
            current.lock.release()

    def _evict_sessions_locked(self) -> None:
        if len(self._sessions) <= MAX_SESSIONS:
            return
        for session in sorted(self._sessions.values(), key=lambda s: s.last_used):
            if len(self._sessions) <= MAX_SESSIONS:
                break
            if session.lock.acquire(blocking=False):
                self._close_session_locked(session)
                session.lock.release()

    def _close_session_locked(self, session: Session) -> None:
        session.closed = True
        if self._sessions.get(session.id) is session:
            del self._sessions[session.id]
        if session.connection is not None:
            session.connection.close()
            session.connection = None

    def expire_sessions(self) -> None:
        """Close sessions idle for longer than their timeout (called periodically)."""
        now = time.monotonic()
        with self._lock:
            for session in list(self._sessions.values()):
                if now - session.last_used > session.timeout and session.lock.acquire(blocking=False):
                    self._close_session_locked(session)
                    session.lock.release()

    def prepare_session(self, session: Session, database: str | None, settings: dict[str, str]) -> None:
        """Select ``database`` and apply this request's URL settings on the session's connection,
        restoring the session's own values of settings the previous request overrode — URL
        settings apply to one query, ``SET`` statements to the session, as in ClickHouse."""
        connection = session.connection
        try:
            if database and database != session.database:
                connection.query(f"USE {_quote_identifier(database)}")
                session.database = database
            changes = {name: session.baseline[name] for name in session.overrides if name not in settings}
            wanted = {name: value for name, value in settings.items() if session.overrides.get(name) != value}
            unknown = [name for name in wanted if name not in session.baseline]
            if unknown:
                session.baseline.update(self._current_values(connection, unknown))
            changes.update(wanted)
            if changes:
                connection.query(_set_statement(changes))
            for name in session.overrides:
                if name not in settings:
                    session.baseline.pop(name, None)
            session.overrides = dict(settings)
        except ClickHouseError:
            raise
        except Exception as exc:  # the failed SET changed nothing: the bookkeeping stays true
            raise ClickHouseError.from_engine(exc) from None

    def after_session_statement(self, session: Session, statement: Statement) -> None:
        """Keep the session's bookkeeping true after a statement that changed its state."""
        if statement.keyword == "USE":
            session.database = None
        elif statement.keyword == "SET" and session.overrides:
            current = self._current_values(session.connection, list(session.overrides))
            for name, value in current.items():
                if value is None or value != session.overrides[name]:  # the SET replaced an override: it is the session's now
                    session.baseline.pop(name, None)
                    del session.overrides[name]

    @staticmethod
    def _current_values(connection, names: list[str]) -> dict[str, str | None]:
        listing = ", ".join(_quote_literal(n) for n in names)
        rows = connection.query(f"SELECT name, value, changed FROM system.settings WHERE name IN ({listing})", "JSONCompact").bytes()
        return {name: (value if changed else None) for name, value, changed in json.loads(rows)["data"]}

    def close(self) -> None:
        """Close every connection; the engine shuts down (and flushes) with the last one."""
        with self._lock:
            self._closed = True
            for session in list(self._sessions.values()):
                if session.connection is not None:
                    session.connection.close()
                    session.connection = None
                session.closed = True
            self._sessions.clear()
            for connections in self._idle.values():
                for connection in connections:
                    connection.close()
            self._idle.clear()
            self._idle_count = 0
            keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.close()


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


@dataclass
class QueryRequest:
    """The ClickHouse-level meaning of one HTTP request's URL parameters."""

    params: dict[str, str]
    method: str
    query_id: str
    database: str | None
    default_format: str
    bind: dict[str, str]
    session_id: str | None
    session_timeout: float
    session_check: bool
    wait_end_of_query: bool
    compression: str | None

    @classmethod
    def parse(cls, params: dict[str, str], method: str, accept_encoding: str) -> QueryRequest:
        for flag in ("compress", "decompress"):
            if params.get(flag, "0") not in ("0", "", "false"):
                raise _not_implemented(
                    f"'{flag}=1' (ClickHouse's internal block compression) is not supported by the embedded server; "
                    "use HTTP compression (Content-Encoding / Accept-Encoding with enable_http_compression=1) instead"
                )
        try:
            timeout = float(params.get("session_timeout") or DEFAULT_SESSION_TIMEOUT_S)
        except ValueError:
            raise _bad_arguments(f"Invalid session_timeout {params.get('session_timeout')!r}") from None
        compression = None
        if params.get("enable_http_compression", "0") not in ("0", "", "false"):
            compression = choose_response_encoding(accept_encoding)
        return cls(
            params=params,
            method=method,
            query_id=params.get("query_id") or str(uuid.uuid4()),
            database=params.get("database") or None,
            default_format=params.get("default_format") or "TabSeparated",
            bind={name[6:]: value for name, value in params.items() if name.startswith("param_")},
            session_id=params.get("session_id") or None,
            session_timeout=min(max(timeout, 1.0), MAX_SESSION_TIMEOUT_S),
            session_check=params.get("session_check", "0") not in ("0", "", "false"),
            wait_end_of_query=params.get("wait_end_of_query", "0") not in ("0", "", "false"),
            compression=compression,
        )


class ClickHouseHandler(BaseHTTPRequestHandler):
    """One keep-alive HTTP connection; each request runs on its own chDB connection."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = KEEP_ALIVE_S
    server: ClickHouseHTTPServer

    # -- plumbing -------------------------------------------------------------------------

    def version_string(self) -> str:
        return f"vigil-clickhouse (chDB {chdb.__version__})"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's signature
        log.debug("%s %s", self.address_string(), vigil_settings.redact_query(format % args))

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _common_headers(self, query_id: str | None = None) -> None:
        self.send_header("X-ClickHouse-Server-Display-Name", self.server.display_name)
        if query_id:
            self.send_header("X-ClickHouse-Query-Id", query_id)
        # the timezone DateTime values without their own are in: session_timezone if the request set it
        self.send_header("X-ClickHouse-Timezone", self._timezone or self.server.engine.timezone)
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "Keep-Alive")
            self.send_header("Keep-Alive", f"timeout={KEEP_ALIVE_S}")

    def _send_simple(self, status: int, body: bytes, content_type: str = "text/plain; charset=UTF-8") -> None:
        self.send_response(status)
        self._common_headers()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_error(self, error: ClickHouseError, query_id: str | None) -> None:
        if self._user and error.name == "ACCESS_DENIED":  # the engine names its one built-in user
            error = ClickHouseError(error.code, error.name, str(error).replace(
                "DB::Exception: default: ", f"DB::Exception: {self._user}: ", 1))
        body = error.body()
        self.send_response(error.http_status)
        self._common_headers(query_id)
        self.send_header("X-ClickHouse-Exception-Code", str(error.code))
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    _timezone: str | None = None
    _user: str | None = None  # who the request authenticated as

    def _dispatch(self) -> None:
        self._timezone = None
        self._user = None
        with self.server.busy():
            self._route()

    def _route(self) -> None:
        url = urlsplit(self.path)
        route = url.path.rstrip("/") or "/"
        if route in ("/ping", "/replicas_status"):
            self._drain_small_body()
            self._send_simple(200, b"Ok.\n")
            return
        if route != "/":
            self._drain_small_body()
            self._send_simple(
                404,
                f"There is no handle {url.path}\n\nUse / or /ping for health checks.\n"
                "Send queries with POST / or GET /?query=...\n".encode(),
            )
            return
        query_id = None
        body: RequestBody | None = None
        try:
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            body = RequestBody(self.rfile, self.headers)
            if self.command in ("GET", "HEAD") and not params.get("query") and body.exhausted:
                self._send_simple(200, b"Ok.\n")
                return
            role = self._authenticate(params)
            content_type = (self.headers.get("Content-Type") or "").lower()
            # only multipart bodies are forms: like ClickHouse, a url-encoded one (curl -d) is the query
            if self.command == "POST" and content_type.startswith("multipart/form-data"):
                params.update(parse_form(self.headers.get("Content-Type") or "", body.read_all(MAX_QUERY_BYTES)))
            if self.command in ("GET", "HEAD") and params.get("readonly", "0") in ("0", ""):
                params["readonly"] = "2"  # ClickHouse: GET requests cannot change data
            request = QueryRequest.parse(params, self.command, self.headers.get("Accept-Encoding") or "")
            query_id = request.query_id
            self._timezone = params.get("session_timezone") or None
            self._run(request, body, role)
        except ClickHouseError as error:
            self._abandon_body_if_unread(body)
            self._send_error(error, query_id)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True
        except Exception as exc:  # a bug here, not a query error: answer it like ClickHouse would, and log it
            log.exception("unexpected error while handling %s %s", self.command, vigil_settings.redact_query(self.path[:200]))
            self._abandon_body_if_unread(body)
            self._send_error(
                ClickHouseError(1001, "STD_EXCEPTION", f"Code: 1001. DB::Exception: {type(exc).__name__}: {exc}. (STD_EXCEPTION)"),
                query_id,
            )

    def _drain_small_body(self) -> None:
        try:
            body = RequestBody(self.rfile, self.headers)
            if not body.exhausted:
                body.read_all(MAX_QUERY_BYTES)
        except ClickHouseError:
            self.close_connection = True

    def _abandon_body_if_unread(self, body: RequestBody | None) -> None:
        # the rest of an unread body would be taken for the next request: close after answering
        if body is None or not body.exhausted:
            self.close_connection = True

    # -- queries --------------------------------------------------------------------------

    def _read_statement(self, request: QueryRequest, body: RequestBody) -> tuple[Statement, bytearray, Iterator[bytes]]:
        """Read just enough of the body to know the statement; returns it, the text read so far
        and the iterator over the rest of the body (the INSERT data still to come)."""
        query = request.params.get("query", "")
        text = bytearray(query.encode("utf-8"))
        if query and not body.exhausted:
            text += b"\n"  # ClickHouse joins the query parameter and the body with a newline
        chunks = body.chunks()
        statement = analyze_statement(text, complete=body.exhausted)
        while statement is None:
            piece = next(chunks, None)
            if piece is not None:
                text += piece
                if len(text) > MAX_QUERY_BYTES:
                    raise ClickHouseError(
                        413, "QUERY_IS_TOO_LARGE",
                        f"Code: 413. DB::Exception: The query is larger than {MAX_QUERY_BYTES} bytes; send large data "
                        "as INSERT … FORMAT with the data after the statement. (QUERY_IS_TOO_LARGE)",
                    )
            statement = analyze_statement(text, complete=piece is None)
        return statement, text, chunks

    def _authenticate(self, params: dict[str, str]) -> str:
        """The role of the user the request authenticates as; 516 AUTHENTICATION_FAILED otherwise."""
        user, secret = access.request_credentials(
            self.headers.get("Authorization"), self.headers.get("X-ClickHouse-User"), self.headers.get("X-ClickHouse-Key"), params,
        )
        expected = self.server.passwords.get(user)
        if expected is None or not hmac.compare_digest(secret.encode("utf-8", "replace"), expected.encode()):
            self._user = None
            raise ClickHouseError(
                516, "AUTHENTICATION_FAILED",
                f"Code: 516. DB::Exception: {user[:64]}: Authentication failed: password is incorrect, or there is no "
                "user with such name. (AUTHENTICATION_FAILED)",
            )
        self._user = user
        return access.ROLE_OF_USER[user]

    def _run(self, request: QueryRequest, body: RequestBody, role: str) -> None:
        engine = self.server.engine
        statement, text, rest = self._read_statement(request, body)
        refused = refusal(statement.sql)
        if refused is not None:
            raise refused
        if role == access.READER_ROLE and statement.keyword == "INSERT":
            role = access.reader_role_for_insert(insert_target(statement.sql))
        settings = engine.engine_settings(request.params)
        started = time.perf_counter()
        if request.session_id and settings.get("readonly", "0") != "1":
            with engine.session(role, request.session_id, request.session_timeout, request.session_check) as session:
                engine.prepare_session(session, request.database, settings)
                try:
                    self._execute(session.connection, request, statement, text, rest, started)
                finally:
                    if statement.keyword in STATEFUL_STATEMENTS:
                        engine.after_session_statement(session, statement)
        else:
            # outside a session a SET/USE/temporary table lasts for this request only
            reusable = lambda: statement.keyword not in STATEFUL_STATEMENTS and not statement.temporary  # noqa: E731
            with engine.pooled(role, request.database, settings, reusable) as connection:
                self._execute(connection, request, statement, text, rest, started)

    def _execute(self, connection, request: QueryRequest, statement: Statement, text: bytearray, rest: Iterator[bytes],
                 started: float) -> None:
        if statement.insert_format is not None:
            self._insert(connection, request, statement, text, rest, started)
            return
        fmt = statement.output_format or request.default_format
        if fmt.lower() in PYTHON_ONLY_FORMATS:
            raise ClickHouseError(73, "UNKNOWN_FORMAT", f"Code: 73. DB::Exception: Unknown format {fmt}. (UNKNOWN_FORMAT)")
        streamable = (
            statement.has_result
            and statement.keyword in ("SELECT", "WITH")
            and not request.wait_end_of_query
            and fmt.lower() in STREAMABLE_FORMATS
            and self.request_version == "HTTP/1.1"  # chunked responses need HTTP/1.1
        )
        if streamable:
            self._stream_query(connection, request, statement, fmt, started)
            return
        try:
            result = connection.query(statement.sql, fmt, params=request.bind)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        payload = result.get_memview().view() if statement.has_result else b""
        summary = _summary(result.rows_read(), result.bytes_read(), result.rows_written(), result.bytes_written(), len(payload), started)
        self._send_result(request, statement, fmt, payload, summary)

    def _send_result(self, request: QueryRequest, statement: Statement, fmt: str, payload, summary: str) -> None:
        encoding = request.compression if statement.has_result and len(payload) else None
        if encoding:
            compressor = _Compressor(encoding, self._zlib_level(request))
            payload = compressor.compress(payload) + compressor.finish()
        self.send_response(200)
        self._common_headers(request.query_id)
        if statement.has_result:
            self.send_header("Content-Type", content_type_for(fmt))
            self.send_header("X-ClickHouse-Format", fmt)
        else:
            self.send_header("Content-Type", "text/plain; charset=UTF-8")
        if encoding:
            self.send_header("Content-Encoding", encoding)
        self.send_header("X-ClickHouse-Summary", summary)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and len(payload):
            self.wfile.write(payload)

    def _stream_query(self, connection, request: QueryRequest, statement: Statement, fmt: str, started: float) -> None:
        try:
            stream = connection.send_query(statement.sql, fmt, params=request.bind)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        try:
            try:
                first = stream.fetch()  # errors before the first block still get a proper status
            except Exception as exc:
                raise ClickHouseError.from_engine(exc) from None
            if first is None:  # an empty result: these formats render it as nothing at all
                self._send_result(request, statement, fmt, b"", _summary(0, 0, 0, 0, 0, started))
                return
            tag = uuid.uuid4().hex
            encoding = request.compression
            compressor = _Compressor(encoding, self._zlib_level(request)) if encoding else None
            self.send_response(200)
            self._common_headers(request.query_id)
            self.send_header("Content-Type", content_type_for(fmt))
            self.send_header("X-ClickHouse-Format", fmt)
            self.send_header("X-ClickHouse-Exception-Tag", tag)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("X-ClickHouse-Summary", _summary(first.rows_read(), first.bytes_read(), 0, 0, 0, started))
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            if self.command == "HEAD":
                return
            block = first
            while block is not None:
                data = block.get_memview().view()
                self._write_chunk(compressor.compress(data) if compressor else data)
                try:
                    block = stream.fetch()
                except Exception as exc:
                    error = ClickHouseError.from_engine(exc)
                    message = error.body()
                    trailer = b"__exception__\r\n" + tag.encode() + b"\r\n" + message + str(len(message)).encode() + b" " + tag.encode() + b"\r\n__exception__\r\n"
                    self._write_chunk(compressor.compress(trailer) if compressor else trailer)
                    self.close_connection = True
                    break
            if compressor:
                self._write_chunk(compressor.finish())
            self.wfile.write(b"0\r\n\r\n")
        finally:
            stream.close()

    def _write_chunk(self, data) -> None:
        if len(data):
            self.wfile.write(b"%x\r\n" % len(data))
            self.wfile.write(data)
            self.wfile.write(b"\r\n")

    def _insert(self, connection, request: QueryRequest, statement: Statement, text: bytearray, rest: Iterator[bytes],
                started: float) -> None:
        if request.method != "POST":
            raise ClickHouseError(
                164, "READONLY",
                "Code: 164. DB::Exception: Cannot insert with a GET request: ClickHouse treats GET as read-only, use POST. (READONLY)",
            )
        try:
            inserter = connection.send_insert(statement.sql, statement.insert_format)
        except Exception as exc:
            raise ClickHouseError.from_engine(exc) from None
        try:
            pending = bytearray(text[statement.data_offset:])
            for piece in rest:
                pending += piece
                if len(pending) >= APPEND_CHUNK:
                    inserter.append(bytes(pending))
                    pending.clear()
            if pending:
                inserter.append(bytes(pending))
            outcome = inserter.finish()
        except (ClickHouseError, BrokenPipeError, ConnectionResetError, socket.timeout):
            _cancel_quietly(inserter)
            raise
        except Exception as exc:
            _cancel_quietly(inserter)
            raise ClickHouseError.from_engine(exc) from None
        summary = _summary(0, 0, outcome.rows_written, outcome.bytes_written, 0, started)
        self._send_result(request, statement, "", b"", summary)

    @staticmethod
    def _zlib_level(request: QueryRequest) -> int:
        try:
            return min(9, max(1, int(request.params.get("http_zlib_compression_level", "3"))))
        except ValueError:
            return 3


def _cancel_quietly(inserter) -> None:
    """Abort an INSERT whose data failed; its own error is the one worth reporting."""
    try:
        inserter.cancel()
    except Exception:  # noqa: BLE001 - already failing
        log.debug("cancelling a failed insert raised", exc_info=True)


def _summary(read_rows: int, read_bytes: int, written_rows: int, written_bytes: int, result_bytes: int, started: float) -> str:
    """ClickHouse's X-ClickHouse-Summary (numbers as strings, as the server sends them)."""
    return json.dumps(
        {
            "read_rows": str(read_rows),
            "read_bytes": str(read_bytes),
            "written_rows": str(written_rows),
            "written_bytes": str(written_bytes),
            "total_rows_to_read": str(read_rows),
            "result_rows": "0",
            "result_bytes": str(result_bytes),
            "elapsed_ns": str(int((time.perf_counter() - started) * 1e9)),
        },
        separators=(",", ":"),
    )


class ClickHouseHTTPServer(ThreadingHTTPServer):
    """A thread per keep-alive connection; chDB releases the GIL, so requests run in parallel."""

    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    engine: Engine  # set before serving starts
    passwords: dict[str, str]  # user → password (access.WRITER, access.READER)

    def __init__(self, address: tuple[str, int]):
        super().__init__(address, ClickHouseHandler)
        self.display_name = socket.gethostname()
        self.active = 0
        self._active_lock = threading.Condition()

    @contextmanager
    def busy(self):
        """Count a request as running (shutdown waits for running requests, not idle connections)."""
        with self._active_lock:
            self.active += 1
        try:
            yield
        finally:
            with self._active_lock:
                self.active -= 1
                self._active_lock.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is running; False if some still are after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._active_lock:
            while self.active:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._active_lock.wait(remaining)
        return True


def serve(data_dir: Path, port: int, passwords: dict[str, str], database: str = "vigil",
          ready: Callable[[str], None] | None = None, stop: threading.Event | None = None) -> None:
    """Run the server until ``stop`` is set; closes chDB cleanly before returning.

    ``passwords`` maps each user (``vigil``, ``vigil_reader``) to its password; ``database`` is
    the one whose state tables the reader may insert into."""
    try:  # the port first: a busy port must not cost opening (and locking) the data directory
        httpd = ClickHouseHTTPServer((HOST, port))
    except OSError as exc:
        raise SystemExit(
            f"vigil clickhouse: cannot listen on {HOST}:{port} ({exc.strerror}). Is another `vigil clickhouse` or a "
            "ClickHouse server running there? Stop it, or set VIGIL_CLICKHOUSE_PORT to a free port."
        ) from None
    try:
        engine = Engine(data_dir, database)
    except BaseException:
        httpd.server_close()
        raise
    httpd.engine = engine
    httpd.passwords = dict(passwords)
    stop = stop or threading.Event()
    serving = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, name="http", daemon=True)
    serving.start()
    url = f"http://{HOST}:{httpd.server_address[1]}"
    if ready:
        ready(f"vigil clickhouse: ready at {url} (chDB {chdb.__version__}, ClickHouse engine {engine.version}, data in {data_dir})")
    try:
        while not stop.wait(5.0):
            engine.expire_sessions()
    finally:
        httpd.shutdown()  # no new connections
        httpd.server_close()
        if not httpd.wait_idle(SHUTDOWN_GRACE_S):
            log.warning("requests still running after %.0fs; closing the engine anyway", SHUTDOWN_GRACE_S)
        engine.close()


def main(args: argparse.Namespace) -> int:
    """``vigil clickhouse``: serve ``<VIGIL_DATA_DIR>/clickhouse`` on 127.0.0.1:VIGIL_CLICKHOUSE_PORT."""
    logging.basicConfig(level=os.environ.get("VIGIL_LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = vigil_settings.load()
    stop = threading.Event()

    def request_stop(signum: int, _frame: Any) -> None:
        log.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def ready(line: str) -> None:
        print(line, flush=True)
        for user, variable in ((access.WRITER, "VIGIL_CLICKHOUSE_PASSWORD"), (access.READER, "VIGIL_CLICKHOUSE_READER_PASSWORD")):
            source = variable if os.environ.get(variable) else str(access.password_file(config.data_dir, user))
            print(f"vigil clickhouse: user {user}, password from {source}", flush=True)

    passwords = {user: access.password(config, user) for user in (access.WRITER, access.READER)}
    serve(config.data_dir / "clickhouse", config.clickhouse_port, passwords, config.clickhouse_database, ready=ready, stop=stop)
    print("vigil clickhouse: stopped, data saved", flush=True)
    return 0
