"""Every transport pays for its requests, refusals included, through the ASGI interface (the
socket-level flood is in tests/integration/test_collector_abuse.py)."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

import orjson
import pytest

from pipeline import settings as settings_module
from pipeline.ingest.collector import Collector
from pipeline.ingest.limits import Costs, RateLimiter
from pipeline.ingest.network import ClientAddress
from pipeline.ingest.producer import EventProducer
from pipeline.ingest.project_cache import ProjectCache
from tests.support.kafka import free_ports
from tests.unit.test_collector_app import GOOD, request

PER_IP = 100  # units per second and (1 s of burst) per bucket: ten requests of 10 units
BAD_JSON = b'{"version": 1, "events": ['


def limited() -> Collector:
    """The collector with a frozen clock (nothing refills) and 429s answered at once."""
    settings = dataclasses.replace(settings_module.load(), kafka_brokers=f"127.0.0.1:{free_ports(1)[0]}",
                                   rate_limit_delay_s=0.0)
    limiter = RateLimiter(per_key=10_000, per_ip=PER_IP, burst_seconds=1, clock=lambda: 1000.0,
                          costs=Costs(request=10, kib=1, rejected_event=10))
    return Collector(settings, ProjectCache(lambda: [GOOD], refresh_s=60), EventProducer(settings), limiter,
                     ClientAddress())


TRANSPORTS = {
    "events: invalid JSON": ("POST", "/api/1/events", BAD_JSON,
                             {"content-type": "application/json", "x-vigil-key": GOOD.key}, b""),
    "events: wrong key": ("POST", "/api/1/events", b"{}", {"content-type": "application/json", "x-vigil-key": "x"}, b""),
    "events: unknown project": ("POST", "/api/9/events", b"{}", {"content-type": "application/json"}, b""),
    "pixel": ("GET", "/api/1/pixel.gif", b"", {}, f"key={GOOD.key}&d={quote(BAD_JSON)}".encode()),
    "sentry store": ("POST", "/api/1/store/", b"not json", {"content-type": "application/json",
                                                            "x-sentry-auth": f"Sentry sentry_key={GOOD.key}"}, b""),
    "sentry envelope": ("POST", "/api/1/envelope/", b"not an envelope", {"content-type": "text/plain"},
                        f"sentry_key={GOOD.key}".encode()),
}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_refused_requests_pay_on_arrival_until_the_address_gets_429(transport):
    method, path, body, headers, query = TRANSPORTS[transport]
    app = limited()
    statuses: list[int] = []
    while len(statuses) <= PER_IP // 10 and 429 not in statuses:
        status, answer_headers, answer = request(app, method, path, body, headers, query)
        statuses.append(status)
    # 10 units and the bytes each: the tenth or the eleventh no longer fits in the 100-unit bucket
    assert len(statuses) in (PER_IP // 10, PER_IP // 10 + 1), statuses
    assert all(400 <= status < 500 and status != 429 for status in statuses[:-1]), statuses
    assert (status, orjson.loads(answer)["error"]) == (429, "rate_limited")
    assert answer_headers[b"retry-after"] == b"1"


def test_refused_events_cost_ten_times_an_accepted_one():
    app = limited()
    empty_events = orjson.dumps({"version": 1, "sdk": {"name": "x", "version": "1"}, "events": [{}] * 5})
    status, _, _ = request(app, "POST", "/api/1/events", empty_events,
                           {"content-type": "application/json", "x-vigil-key": GOOD.key})
    assert status == 422  # no valid event: refused, and charged 10 + 5 + 5 × 9 units on top of the arrival's 10
    assert app.limiter.ips.buckets["127.0.0.1"].tokens == pytest.approx(PER_IP - 10 - len(empty_events) / 1024 - 50)
