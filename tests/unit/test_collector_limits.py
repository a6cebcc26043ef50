"""Rate limits: token buckets per ingest key and per client IP, metered in events."""

from __future__ import annotations

import pytest

from pipeline.collector.limits import BucketMap, RateLimiter, TokenBucket, retry_after


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
