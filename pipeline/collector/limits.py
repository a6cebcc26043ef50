"""Rate limits: a token bucket per ingest key and one per client IP, metered in events.

A bucket refills at ``rate`` events per second up to ``rate * burst_seconds``; a batch costs
one token per event (capped at the bucket's size, so one maximal batch can always pass a
full bucket). A request passes only when *both* its key's and its IP's buckets can pay, and
then both pay — a refused request costs nothing. Idle buckets are full again, so they are
forgotten, which keeps memory bounded by the number of recently active clients.

With several collector worker processes each keeps its own buckets; the server divides the
configured rates by the worker count, so the limits hold across the workers as long as the
kernel spreads connections evenly.
"""

from __future__ import annotations

import math
import time
from typing import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up; starts full."""

    __slots__ = ("rate", "capacity", "tokens", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def refill(self, now: float) -> float:
        elapsed = now - self.updated
        if elapsed > 0:
            self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
            self.updated = now
        return self.tokens

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds until ``cost`` tokens are there (0 = now). Refills, never takes."""
        missing = min(cost, self.capacity) - self.refill(now)
        return 0.0 if missing <= 0 else missing / self.rate

    def take(self, cost: float) -> None:
        self.tokens -= min(cost, self.capacity)


class BucketMap:
    """Buckets by name (a key, an IP), created full on first use, forgotten when idle."""

    def __init__(self, rate: float, burst_seconds: float, sweep_every: int = 10_000) -> None:
        self.rate = rate
        self.capacity = max(rate * burst_seconds, 1.0)
        self.idle_after = self.capacity / rate if rate > 0 else math.inf
        self.buckets: dict[str, TokenBucket] = {}
        self._sweep_every = sweep_every
        self._until_sweep = sweep_every

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def get(self, name: str, now: float) -> TokenBucket:
        bucket = self.buckets.get(name)
        if bucket is None:
            self._until_sweep -= 1
            if self._until_sweep <= 0:
                self.sweep(now)
            bucket = self.buckets[name] = TokenBucket(self.rate, self.capacity, now)
        return bucket

    def sweep(self, now: float) -> None:
        """Drop buckets idle long enough to have refilled completely (they equal new ones)."""
        self._until_sweep = self._sweep_every
        self.buckets = {name: b for name, b in self.buckets.items() if now - b.updated < self.idle_after}


class RateLimiter:
    """Meters events per ingest key and per client IP; a rate of 0 or less disables that limit."""

    def __init__(
        self,
        per_key: float,
        per_ip: float,
        burst_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keys = BucketMap(per_key, burst_seconds)
        self.ips = BucketMap(per_ip, burst_seconds)
        self.clock = clock

    def admit(self, key: str, ip: str, cost: int) -> float:
        """Take ``cost`` tokens from both buckets and return 0, or take none and return the wait in seconds."""
        now = self.clock()
        key_bucket = self.keys.get(key, now) if self.keys.enabled else None
        ip_bucket = self.ips.get(ip, now) if self.ips.enabled else None
        wait = max(
            key_bucket.wait_for(cost, now) if key_bucket else 0.0,
            ip_bucket.wait_for(cost, now) if ip_bucket else 0.0,
        )
        if wait > 0:
            return wait
        if key_bucket:
            key_bucket.take(cost)
        if ip_bucket:
            ip_bucket.take(cost)
        return 0.0

    def exhausted(self, key: str, ip: str) -> float:
        """Seconds until either bucket has a single token again (0 = not exhausted).

        Checked before a body is read, so a client that is already over its limit is turned
        away without the collector spending time on its bytes.
        """
        key_bucket = self.keys.buckets.get(key) if self.keys.enabled else None
        ip_bucket = self.ips.buckets.get(ip) if self.ips.enabled else None
        # a bucket still holding a token needs no clock: the common case costs two lookups
        if (key_bucket is None or key_bucket.tokens >= 1) and (ip_bucket is None or ip_bucket.tokens >= 1):
            return 0.0
        now = self.clock()
        return max(key_bucket.wait_for(1, now) if key_bucket else 0.0,
                   ip_bucket.wait_for(1, now) if ip_bucket else 0.0)


def retry_after(wait_s: float) -> int:
    """HTTP's Retry-After is whole seconds; never 0, which would invite an immediate retry."""
    return max(1, math.ceil(wait_s))
