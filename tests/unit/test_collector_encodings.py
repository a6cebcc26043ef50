"""Every Content-Encoding Sentry's ingestion takes — gzip, deflate, br, zstd — through the
collector app (ASGI, no server) on each kind of endpoint: a valid body is decoded, a bomb is
413 having inflated no more than the cap, a corrupt or truncated stream is 400 with the
coding's own reason, anything else 415 naming the four."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from pathlib import Path

import brotli
import orjson
import pytest

from pipeline.ingest import encodings
from pipeline.ingest.limits import RateLimiter
from pipeline.ingest.problems import Problem
from tests.unit.test_collector_app import GOOD, build, request

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:
    from backports import zstd

COMPRESS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": lambda data: brotli.compress(data, quality=1),
    "zstd": zstd.compress,
}
BAD = {"gzip": "bad_gzip", "deflate": "bad_deflate", "br": "bad_brotli", "zstd": "bad_zstd"}
SESSION = (Path(__file__).parent / "sentry_envelopes" / "session.envelope").read_bytes()
# every event refused for its clock: the body was decoded and parsed, and nothing needs Kafka
OLD = orjson.dumps({"version": 1, "sdk": {"name": "t", "version": "1"}, "events": [
    {"event_id": f"01J0ZK4T{n:04d}XQ5M8R2B7C9D", "type": "custom", "timestamp": "2020-01-01T00:00:00.000Z",
     "session_id": "s_7f3a9c2e41d8", "visitor_id": "v_0b6e2d94c7a1f3", "data": {"name": "x"}} for n in range(3)]})
SENTRY_QUERY = b"sentry_version=7&sentry_key=" + GOOD.key.encode()


def post(path: str, body: bytes, coding: str | None, app=None, **extra: str) -> tuple[int, dict]:
    headers = {"content-type": "application/json", "x-vigil-key": GOOD.key, **extra}
    if coding is not None:
        headers["content-encoding"] = coding
    status, _, answer = request(app or build(GOOD), "POST", path, body, headers,
                                query=SENTRY_QUERY if "events" not in path else b"")
    return status, orjson.loads(answer)


@pytest.mark.parametrize("coding", encodings.CODINGS)
def test_each_coding_is_decoded_on_the_events_endpoint(coding):
    status, answer = post("/api/1/events", COMPRESS[coding](OLD), coding)
    assert (status, answer["error"], len(answer["rejected"])) == (422, "no_valid_events", 3), answer
    assert {r["reason"] for r in answer["rejected"]} == {"timestamp_out_of_range"}


@pytest.mark.parametrize("coding", encodings.CODINGS)
@pytest.mark.parametrize("path", ["/api/1/envelope/", "/api/1/store/"])
def test_each_coding_is_decoded_on_the_sentry_endpoints(coding, path):
    body = SESSION if "envelope" in path else b'{"type": "transaction", "platform": "javascript"}'
    status, answer = post(path, COMPRESS[coding](body), coding, **{"content-type": "application/x-sentry-envelope"})
    assert status == 200, answer
    assert answer == ({"ignored": {"session": 1}} if "envelope" in path else {})


@pytest.mark.parametrize("coding", encodings.CODINGS)
@pytest.mark.parametrize("path", ["/api/1/events", "/api/1/envelope/"])
def test_a_bomb_in_each_coding_is_413(coding, path):
    bomb = COMPRESS[coding](b" " * 64 * 1024 * 1024)  # 64 MiB of spaces
    assert len(bomb) < 1024 * 1024  # under the body limit on the wire
    status, answer = post(path, bomb, coding)
    assert (status, answer["error"]) == (413, "body_too_large"), answer


@pytest.mark.parametrize("coding", encodings.CODINGS)
def test_a_bomb_is_refused_having_inflated_no_more_than_the_cap(coding):
    bomb = COMPRESS[coding](b"[" * 64 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(Problem) as refused:
            encodings.decode(bomb, coding, 1024 * 1024)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.reason == "body_too_large"
    assert peak < 8 * 1024 * 1024, f"{coding}: {peak} bytes allocated to refuse a 64 MiB bomb"


@pytest.mark.parametrize("coding", encodings.CODINGS)
@pytest.mark.parametrize("how", ["garbage", "truncated", "trailing"])
def test_a_corrupt_stream_in_each_coding_is_400_with_its_reason(coding, how):
    whole = COMPRESS[coding](OLD)
    body = {"garbage": b"this is not compressed at all", "truncated": whole[:len(whole) // 2],
            "trailing": whole + b"trailing bytes"}[how]
    status, answer = post("/api/1/events", body, coding)
    assert (status, answer["error"]) == (400, BAD[coding]), answer
    assert answer["message"]


@pytest.mark.parametrize("coding", ["gzip", "zstd"])
def test_concatenated_members_or_frames_are_decoded_whole(coding):
    half = len(OLD) // 2
    assert encodings.decode(COMPRESS[coding](OLD[:half]) + COMPRESS[coding](OLD[half:]), coding, 1 << 20) == OLD


@pytest.mark.parametrize("header", ["compress", "lz4", "gzip, br", "br;q=1"])
@pytest.mark.parametrize("path", ["/api/1/events", "/api/1/envelope/", "/api/1/store/"])
def test_other_encodings_and_lists_are_415_naming_the_four(header, path):
    status, headers, body = request(build(GOOD), "POST", path, OLD, {
        "content-type": "application/json", "x-vigil-key": GOOD.key, "content-encoding": header}, SENTRY_QUERY)
    answer = orjson.loads(body)
    assert (status, answer["error"]) == (415, "unsupported_encoding"), answer
    assert "gzip, deflate, br, zstd" in answer["message"]
    assert headers[b"accept-encoding"] == b"gzip, deflate, br, zstd"  # RFC 9110 §12.5.3


def test_the_rate_limit_charges_the_inflated_size_in_every_coding():
    for coding in encodings.CODINGS:
        app = build(GOOD)
        app.limiter = RateLimiter(1000, 1000, 1, clock=lambda: 0.0)
        charged = []
        app.limiter.charge_bytes = lambda key, ip, size: charged.append(size)  # type: ignore[method-assign]
        post("/api/1/events", COMPRESS[coding](OLD), coding, app=app)
        assert charged[-1] == len(OLD), coding  # the last charge: what inflating and parsing cost
