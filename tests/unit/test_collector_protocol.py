"""The HTTP protocol's head limits, fed bytes directly (the socket tests are in
tests/integration/test_collector_abuse.py)."""

from __future__ import annotations

import asyncio

import pytest
from uvicorn.config import Config
from uvicorn.server import ServerState

from pipeline.ingest.protocol import LimitedHttpToolsProtocol, ReadLimits

LIMITS = ReadLimits(max_request_line=100, max_headers=200, header_timeout_s=60, body_timeout_s=60)


class Transport(asyncio.Transport):
    """Collects what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closing = False
        self.eof = False

    def write(self, data: bytes) -> None:
        self.written += data

    def write_eof(self) -> None:
        self.eof = True

    def can_write_eof(self) -> bool:
        return True

    def close(self) -> None:
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_extra_info(self, name: str, default=None):
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 8080)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope, receive, send):  # never reached by a refused request
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture
def protocol():
    loop = asyncio.new_event_loop()
    config = Config(app=app, http="httptools", lifespan="off", log_config=None)
    config.load()
    proto = LimitedHttpToolsProtocol(config=config, server_state=ServerState(), app_state={}, _loop=loop)
    proto.read_limits = LIMITS
    proto.connection_made(Transport())
    yield proto
    proto.connection_lost(None)
    tasks = asyncio.all_tasks(loop)  # the requests that were let through, never run here
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()


def status(protocol: LimitedHttpToolsProtocol) -> bytes:
    return protocol.transport.written.split(b"\r\n", 1)[0]  # type: ignore[attr-defined]


def test_a_long_request_line_is_414_before_the_parser_sees_it(protocol):
    protocol.data_received(b"GET /" + b"x" * 60)
    protocol.data_received(b"y" * 60)
    assert status(protocol) == b"HTTP/1.1 414 Request-URI Too Long" and protocol.transport.eof
    assert protocol.url == b"/" + b"x" * 60  # the second chunk never reached the parser


def test_headers_past_the_limit_are_431_even_in_small_chunks(protocol):
    protocol.data_received(b"GET / HTTP/1.1\r\n")
    for _ in range(20):
        protocol.data_received(b"X-A: 123456789\r\n")  # 16 bytes each: 320 > 200
    assert status(protocol) == b"HTTP/1.1 431 Request Header Fields Too Large"


def test_a_body_in_the_same_chunk_as_the_head_is_not_counted_as_header(protocol):
    body = b"{}" * 500
    protocol.data_received(b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + body)
    assert protocol.transport.written == b"" and not protocol.refused


def test_the_end_of_the_head_is_found_across_chunks(protocol):
    protocol.data_received(b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r")
    protocol.data_received(b"\n" + b"{}" * 500)
    assert protocol.transport.written == b"" and not protocol.refused
