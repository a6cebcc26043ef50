"""The embedded ClickHouse server's HTTP handler: one request, the way ClickHouse answers it.

:class:`ClickHouseHandler` routes ``/ping`` and ``/``, authenticates the user, reads just
enough of the body to know the statement, runs it on a pooled or session connection of the
:class:`~pipeline.embedded.clickhouse_engine.Engine` and answers with ClickHouse's status,
headers and body: results streamed block by block where the format allows, INSERT data
streamed into chDB chunk by chunk. :class:`QueryRequest` is what the URL parameters mean.
"""

from __future__ import annotations

import hmac
import json
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import chdb

from pipeline import settings as vigil_settings
from pipeline.embedded.clickhouse_codecs import Compressor, RequestBody, choose_response_encoding, content_type_for, parse_form
from pipeline.embedded.clickhouse_errors import ClickHouseError, bad_arguments, not_implemented
from pipeline.embedded.clickhouse_sql import STATEFUL_STATEMENTS, Statement, analyze_statement, insert_target, refusal
from pipeline.warehouse import access

if TYPE_CHECKING:
    from pipeline.embedded.clickhouse_server import ClickHouseHTTPServer

log = logging.getLogger("vigil.clickhouse")

APPEND_CHUNK = 1 << 20  # bytes handed to chDB per append() of an INSERT's data
MAX_QUERY_BYTES = 64 << 20  # a non-INSERT statement (or a form body) larger than this is refused
KEEP_ALIVE_S = 300  # idle keep-alive connections (and stalled bodies) are dropped after this
DEFAULT_SESSION_TIMEOUT_S = 60  # ClickHouse's default_session_timeout
MAX_SESSION_TIMEOUT_S = 3600  # ClickHouse's max_session_timeout

# output formats whose blocks concatenate to exactly the whole result (no header, footer or
# per-block framing), so a result in them can be sent block by block as chDB produces it
STREAMABLE_FORMATS = frozenset(
    {"native", "rowbinary", "tabseparated", "tsv", "tabseparatedraw", "tsvraw", "csv",
     "jsoneachrow", "jsonlines", "ndjson", "jsoncompacteachrow"}
)
# result formats chDB's Python API turns into Python objects instead of bytes
PYTHON_ONLY_FORMATS = frozenset({"dataframe", "arrowtable", "datastore"})


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
                raise not_implemented(
                    f"'{flag}=1' (ClickHouse's internal block compression) is not supported by the embedded server; "
                    "use HTTP compression (Content-Encoding / Accept-Encoding with enable_http_compression=1) instead"
                )
        try:
            timeout = float(params.get("session_timeout") or DEFAULT_SESSION_TIMEOUT_S)
        except ValueError:
            raise bad_arguments(f"Invalid session_timeout {params.get('session_timeout')!r}") from None
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
            compressor = Compressor(encoding, self._zlib_level(request))
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
            compressor = Compressor(encoding, self._zlib_level(request)) if encoding else None
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
