"""Rate limits: token buckets per ingest key and per client IP, metered in what requests cost."""

from __future__ import annotations

import pytest

from pipeline.ingest.limits import BucketMap, Costs, RateLimiter, TokenBucket, retry_after


class Clock:
    """A hand-moved clock, so the tests say exactly how much time passes."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_bucket_starts_full_and_refills_at_its_rate():
    bucket = TokenBucket(rate=10, capacity=20, now=0.0)
    assert bucket.wait_for(20, now=0.0) == 0
    bucket.take(20)
    assert bucket.wait_for(5, now=0.0) == pytest.approx(0.5)
    assert bucket.wait_for(5, now=0.5) == 0
    assert bucket.refill(now=100.0) == 20  # never more than its capacity


def test_a_batch_larger_than_the_burst_can_pass_a_full_bucket():
    bucket = TokenBucket(rate=10, capacity=20, now=0.0)
    assert bucket.wait_for(500, now=0.0) == 0
    bucket.take(500)
    assert bucket.tokens == 0


def test_requests_within_the_burst_pass_and_the_next_one_waits(clock):
    limiter = RateLimiter(per_key=10, per_ip=1000, burst_seconds=2, clock=clock)
    assert limiter.admit("key", "1.2.3.4", 15) == 0
    assert limiter.admit("key", "1.2.3.4", 5) == 0
    assert limiter.admit("key", "1.2.3.4", 5) == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.admit("key", "1.2.3.4", 5) == 0


def test_the_ip_limit_applies_across_keys(clock):
    limiter = RateLimiter(per_key=1000, per_ip=10, burst_seconds=1, clock=clock)
    assert limiter.admit("key-a", "1.2.3.4", 10) == 0
    assert limiter.admit("key-b", "1.2.3.4", 1) > 0
    assert limiter.admit("key-b", "5.6.7.8", 10) == 0  # another address has its own bucket


def test_a_refused_request_costs_nothing(clock):
    limiter = RateLimiter(per_key=10, per_ip=5, burst_seconds=1, clock=clock)
    assert limiter.admit("key", "1.2.3.4", 5) == 0
    assert limiter.admit("key", "1.2.3.4", 5) > 0  # the IP bucket is empty ...
    assert limiter.keys.buckets["key"].tokens == 5  # ... and the key bucket was not charged


def test_exhausted_is_known_before_the_body_is_read(clock):
    limiter = RateLimiter(per_key=10, per_ip=1000, burst_seconds=1, clock=clock)
    assert limiter.exhausted("key", "1.2.3.4") == 0
    limiter.admit("key", "1.2.3.4", 10)
    assert limiter.exhausted("key", "1.2.3.4") == pytest.approx(0.1)


def test_a_rate_of_zero_disables_that_limit(clock):
    limiter = RateLimiter(per_key=0, per_ip=0, burst_seconds=1, clock=clock)
    for _ in range(100):
        assert limiter.admit("key", "1.2.3.4", 1000) == 0
    assert limiter.keys.buckets == {} and limiter.ips.buckets == {}


def test_idle_buckets_are_forgotten(clock):
    buckets = BucketMap(rate=10, burst_seconds=1, sweep_every=3)
    buckets.get("a", clock.now).take(10)
    clock.now += 5  # "a" has long refilled
    buckets.get("b", clock.now).take(1)
    buckets.get("c", clock.now)  # the third new bucket triggers a sweep
    assert set(buckets.buckets) == {"b", "c"}


def test_retry_after_is_whole_seconds_and_never_zero():
    assert retry_after(0.01) == 1
    assert retry_after(1.0) == 1
    assert retry_after(1.2) == 2


# ── cost: requests and bytes on arrival, refused events after validation ───────────────

COSTS = Costs(request=10, kib=1, rejected_event=10)


def test_every_arrival_costs_a_request_and_its_bytes_and_a_flood_is_refused_within_the_burst(clock):
    limiter = RateLimiter(per_key=1000, per_ip=100, burst_seconds=2, clock=clock, costs=COSTS)  # 200 units
    assert limiter.arrive("1.2.3.4", 10 * 1024) == 0  # 10 + 10
    assert limiter.ips.buckets["1.2.3.4"].tokens == 180
    # requests that are refused later (invalid JSON: no events) have paid on arrival: the 19th waits
    passed = 0
    while limiter.arrive("1.2.3.4", 0) == 0:
        passed += 1
    assert passed == 18
    assert limiter.arrive("1.2.3.4", 0) == pytest.approx(0.1)  # 10 units at 100/s
    assert limiter.ips.buckets["1.2.3.4"].tokens == 0  # a refused arrival took nothing
    assert limiter.arrive("5.6.7.8", 0) == 0  # another address is not touched
    assert "key" not in limiter.keys.buckets  # nothing was charged to any key


def test_the_key_pays_for_a_request_once_it_is_known_to_be_the_projects(clock):
    limiter = RateLimiter(per_key=100, per_ip=10_000, burst_seconds=1, clock=clock, costs=COSTS)
    for _ in range(10):
        assert limiter.admit_key("key", 0) == 0
    assert limiter.admit_key("key", 0) == pytest.approx(0.1)


def test_work_already_done_is_charged_into_debt_of_at_most_one_bucket(clock):
    limiter = RateLimiter(per_key=100, per_ip=100, burst_seconds=1, clock=clock, costs=COSTS)
    limiter.charge_rejected("key", "1.2.3.4", 1000)  # 1000 refused events: 9000 more units than accepted ones
    assert limiter.ips.buckets["1.2.3.4"].tokens == -100 and limiter.keys.buckets["key"].tokens == -100
    assert limiter.arrive("1.2.3.4", 0) == pytest.approx(1.1)  # back to 10 units: 110 at 100/s
    assert limiter.exhausted("key", "1.2.3.4") == pytest.approx(1.01)
    clock.now += 1.1
    assert limiter.arrive("1.2.3.4", 0) == 0


def test_bytes_learned_late_are_charged_to_the_ip_and_a_checked_key_only(clock):
    limiter = RateLimiter(per_key=1000, per_ip=1000, burst_seconds=1, clock=clock, costs=COSTS)
    limiter.charge_bytes(None, "1.2.3.4", 100 * 1024)
    assert limiter.ips.buckets["1.2.3.4"].tokens == 900 and limiter.keys.buckets == {}
    limiter.charge_bytes("key", "1.2.3.4", 100 * 1024)
    assert limiter.ips.buckets["1.2.3.4"].tokens == 800 and limiter.keys.buckets["key"].tokens == 900


def test_a_maximal_batch_still_passes_a_full_bucket_after_its_arrival(clock):
    limiter = RateLimiter(per_key=2000, per_ip=2000, burst_seconds=1, clock=clock, costs=COSTS,
                          max_request_bytes=1024 * 1024)  # the largest request costs 10 + 1024 of 2000
    assert limiter.arrive("1.2.3.4", 1024 * 1024) == 0
    assert limiter.admit_key("key", 1024 * 1024) == 0
    assert limiter.admit("key", "1.2.3.4", 1000) == 0  # capped: charged what the bucket has left
    assert limiter.arrive("1.2.3.4", 0) > 0


def test_a_rate_of_zero_disables_the_request_costs_too(clock):
    limiter = RateLimiter(per_key=0, per_ip=0, burst_seconds=1, clock=clock, costs=COSTS)
    for _ in range(100):
        assert limiter.arrive("1.2.3.4", 1024 * 1024) == 0 and limiter.admit_key("key", 1024 * 1024) == 0
    limiter.charge_rejected("key", "1.2.3.4", 1000)
    assert limiter.keys.buckets == {} and limiter.ips.buckets == {}
