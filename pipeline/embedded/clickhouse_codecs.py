"""The embedded ClickHouse server's bytes on the wire: request bodies in, responses out.

A request body (Content-Length or chunked, optionally gzip/deflate/zstd/lz4/br compressed) is
read as bytes that stay bytes (:class:`RequestBody`); ``multipart/form-data`` bodies carry the
query and parameters as fields (:func:`parse_form`). Responses are compressed as one stream
each, as clickhouse-connect decodes one frame (:class:`Compressor`), in the encoding the client
accepts (:func:`choose_response_encoding`), with the content type of their format.
"""

from __future__ import annotations

import re
import sys
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from pipeline.embedded.clickhouse_errors import ClickHouseError, bad_arguments, not_implemented

READ_CHUNK = 1 << 20  # bytes read from the socket per step of a body


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
                raise not_implemented("Content-Encoding br needs the brotli package on the server; send lz4, zstd or gzip") from None
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
            raise bad_arguments(f"Invalid Content-Length {length!r}") from None
        encoding = (headers.get("Content-Encoding") or "").strip().lower()
        self._decompressor = _Decompressor(encoding) if encoding and encoding != "identity" else None
        self.exhausted = not self._chunked and self._remaining == 0

    def _raw_chunks(self) -> Iterator[bytes]:
        if self._chunked:
            while True:
                line = self._rfile.readline(65537)
                if not line:
                    raise bad_arguments("The chunked request body ended early")
                try:
                    size = int(line.split(b";", 1)[0].strip(), 16)
                except ValueError:
                    raise bad_arguments(f"Invalid chunk size line {line[:40]!r}") from None
                if size == 0:
                    while self._rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    self.exhausted = True
                    return
                while size:
                    piece = self._rfile.read(min(size, READ_CHUNK))
                    if not piece:
                        raise bad_arguments("The chunked request body ended early")
                    size -= len(piece)
                    yield piece
                self._rfile.readline(3)  # CRLF after the chunk
        else:
            while self._remaining:
                piece = self._rfile.read(min(self._remaining, READ_CHUNK))
                if not piece:
                    raise bad_arguments("The request body ended before Content-Length bytes arrived")
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
        raise bad_arguments("multipart/form-data request without a boundary")
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
            raise not_implemented(
                "External data (tables sent with the query) is not supported by the embedded chDB server; "
                "insert the data into a table first, or point VIGIL_CLICKHOUSE_URL at a real ClickHouse"
            )
        fields[name.group(1).decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return fields


class Compressor:
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
