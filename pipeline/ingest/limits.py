"""Rate limits: a token bucket per ingest key and one per client IP, metered in what requests cost.

The unit is one valid event. What the collector spends on a request is charged in it, as
soon as it is known:

- on arrival, before anything else is read or checked: ``request`` units plus ``kib`` per
  KiB of the body (its Content-Length, the pixel's URL, a WebSocket message) to the client
  IP — so a request that is then refused (invalid JSON, wrong key, too large, …) has paid;
- once the key is known to be the project's: the same to the key's bucket (a wrong key
  never spends anyone's key);
- after the envelope is parsed: one unit per event to both, and once the events are
  validated ``rejected_event`` units for each refused one instead (refusing an event costs
  the collector about ten times what accepting one does).

A bucket refills at ``rate`` units per second up to ``rate * burst_seconds``; a cost larger
than a whole bucket is capped at the bucket's size, so one maximal batch can always pass a
full bucket. Arrival and event charges are admissions: they pass when the bucket can pay,
and a refused one takes nothing and says how long to wait (``429`` + ``Retry-After``).
Charges for work already done (bytes of a chunked or gzipped body, refused events) are
taken whatever the balance, down to a debt of one whole bucket, so a flood of requests
that are each refused anyway runs dry just the same. Idle buckets are full again, so they
are forgotten, which keeps memory bounded by the number of recently active clients.

With several collector worker processes each keeps its own buckets; the server divides the
configured rates by the worker count, so the limits hold across the workers as long as the
kernel spreads connections evenly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
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

    def charge(self, cost: float, now: float) -> None:
        """Take ``cost`` whatever the balance (work already done), down to a debt of one whole bucket."""
        self.refill(now)
        self.tokens = max(self.tokens - cost, -self.capacity)


@dataclass(frozen=True)
class Costs:
    """What a request costs, in valid events (the buckets' unit)."""

    request: float = 10.0  # every request and WebSocket message, whatever its answer
    kib: float = 1.0  # per KiB of body, pixel URL or message
    rejected_event: float = 10.0  # per event the contract refused (an accepted one costs 1)

    def of_request(self, size: int) -> float:
        return self.request + size * self.kib / 1024


# events and nothing else: what the limits metered before requests and bytes had a price
EVENTS_ONLY = Costs(request=0.0, kib=0.0, rejected_event=1.0)


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
    """Meters cost per ingest key and per client IP; a rate of 0 or less disables that limit."""

    def __init__(
        self,
        per_key: float,
        per_ip: float,
        burst_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        costs: Costs = EVENTS_ONLY,
        max_request_bytes: int = 0,
    ) -> None:
        self.keys = BucketMap(per_key, burst_seconds)
        self.ips = BucketMap(per_ip, burst_seconds)
        self.clock = clock
        self.costs = costs
        # a batch's events may cost at most what a full bucket has left after the largest
        # request's arrival, so one maximal batch still passes a full bucket
        largest = costs.of_request(max_request_bytes)
        self.key_event_cap = max(self.keys.capacity - largest, 0.0)
        self.ip_event_cap = max(self.ips.capacity - largest, 0.0)

    def arrive(self, ip: str, size: int) -> float:
        """A request (or message) of ``size`` bytes arrives from ``ip``: 0 and charged, or the wait."""
        if not self.ips.enabled:
            return 0.0
        return self._admit_one(self.ips, ip, self.costs.of_request(size))

    def admit_key(self, key: str, size: int) -> float:
        """The request turned out to carry ``key``: the key pays for it too (0), or the wait."""
        if not self.keys.enabled:
            return 0.0
        return self._admit_one(self.keys, key, self.costs.of_request(size))

    def _admit_one(self, buckets: BucketMap, name: str, cost: float) -> float:
        now = self.clock()
        bucket = buckets.get(name, now)
        wait = bucket.wait_for(cost, now)
        if wait == 0:
            bucket.take(cost)
        return wait

    def charge(self, key: str | None, ip: str, cost: float) -> None:
        """Work already done (``cost`` units) is charged to both, into debt if need be; ``key`` None: the IP only."""
        if cost <= 0:
            return
        now = self.clock()
        if self.ips.enabled:
            self.ips.get(ip, now).charge(cost, now)
        if key is not None and self.keys.enabled:
            self.keys.get(key, now).charge(cost, now)

    def charge_bytes(self, key: str | None, ip: str, size: int) -> None:
        """Bytes learned of late (a chunked body, a gzipped body's inflated size)."""
        self.charge(key, ip, size * self.costs.kib / 1024)

    def charge_rejected(self, key: str, ip: str, rejected: int) -> None:
        """Refused events were paid for as accepted ones (1 unit); the rest of their cost now."""
        self.charge(key, ip, rejected * (self.costs.rejected_event - 1))

    def admit(self, key: str, ip: str, cost: int) -> float:
        """Take ``cost`` tokens from both buckets and return 0, or take none and return the wait in seconds."""
        now = self.clock()
        key_bucket = self.keys.get(key, now) if self.keys.enabled else None
        ip_bucket = self.ips.get(ip, now) if self.ips.enabled else None
        key_cost, ip_cost = min(cost, self.key_event_cap), min(cost, self.ip_event_cap)
        wait = max(
            key_bucket.wait_for(key_cost, now) if key_bucket else 0.0,
            ip_bucket.wait_for(ip_cost, now) if ip_bucket else 0.0,
        )
        if wait > 0:
            return wait
        if key_bucket:
            key_bucket.take(key_cost)
        if ip_bucket:
            ip_bucket.take(ip_cost)
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
