"""What a view is looking at (:class:`Filters`) and the parameters every statement takes from it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

DIMENSION_NAMES = ("environment", "release", "route", "device", "browser", "country")
UNKNOWN_COUNTRY = "unknown"  # the country filter's value for events without one (no GeoIP match)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class Filters:
    """What a view is looking at: one project, events with ``start <= timestamp < end``, and
    optionally one environment, release, route, device, browser and country (empty = all).

    Times are the events' own (client) timestamps, in UTC. ``route`` is a path or a pattern
    where ``*`` stands for any characters (``/p/*``); ``country`` is an ISO code, or
    :data:`UNKNOWN_COUNTRY` for events whose country is not known. Every statement applies the
    dimensions the same way (``sql/filter/*.sql``).
    """

    project_id: int
    start: datetime
    end: datetime
    environment: str = ""
    release: str = ""
    route: str = ""
    device: str = ""
    browser: str = ""
    country: str = ""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("Filters need timezone-aware start and end (e.g. datetime.now(timezone.utc))")
        if self.start >= self.end:
            raise ValueError(f"the time range is empty: start {self.start:%Y-%m-%d %H:%M:%S} is not before end "
                             f"{self.end:%Y-%m-%d %H:%M:%S}")

    @classmethod
    def last(cls, project_id: int, span: timedelta, now: datetime | None = None, **dimensions: str) -> Filters:
        """The ``span`` up to ``now`` (default: this instant), with the given dimensions."""
        end = now or datetime.now(timezone.utc)
        return cls(project_id, end - span, end, **dimensions)

    @classmethod
    def last_minutes(cls, project_id: int, span: timedelta, now: datetime | None = None, **dimensions: str) -> Filters:
        """The ``span`` up to the end of the current minute, in whole minutes — what rollups answer
        exactly. The minute in progress is included, so live views show the newest events."""
        moment = now or datetime.now(timezone.utc)
        end = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
        return cls(project_id, end - span, end, **dimensions)

    @property
    def span(self) -> timedelta:
        return self.end - self.start

    def previous(self) -> Filters:
        """The period of the same length just before this one (for "change vs. previous period")."""
        return replace(self, start=self.start - self.span, end=self.start)

    def dimensions(self) -> dict[str, str]:
        """The dimension filters that are set, by name."""
        return {name: getattr(self, name) for name in DIMENSION_NAMES if getattr(self, name)}

    def parameters(self) -> dict[str, Any]:
        """The statements' parameters: project, range and every dimension (``''`` = not filtered)."""
        return {
            "project_id": self.project_id, "start": clickhouse_time(self.start), "end": clickhouse_time(self.end),
            "environment": self.environment, "release": self.release, "route": like_pattern(self.route),
            "device": self.device, "browser": self.browser, "country": self.country,
            "country_code": "" if self.country == UNKNOWN_COUNTRY else self.country,
        }


def like_pattern(route: str) -> str:
    """A route as people write it (``/p/*``) → a LIKE pattern; ``%``, ``_`` and ``\\`` match literally."""
    escaped = route.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def clickhouse_time(when: datetime) -> str:
    """An aware datetime as a DateTime64(3, 'UTC') literal: exact to the millisecond, whatever the server's zone."""
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def check_bucket(bucket_minutes: int) -> None:
    """Refuse a time bucket narrower than a minute."""
    if bucket_minutes < 1:
        raise ValueError(f"bucket_minutes must be at least 1, got {bucket_minutes}")


def time_axis(filters: Filters, bucket_minutes: int) -> list[datetime]:
    """Every bucket start (UTC, aligned as ClickHouse's toStartOfInterval) from the bucket holding
    ``filters.start`` up to ``filters.end``."""
    width = timedelta(minutes=bucket_minutes)
    first = _EPOCH + ((filters.start - _EPOCH) // width) * width
    buckets = -(-(filters.end - first) // width)  # rounded up
    return [first + n * width for n in range(buckets)]


def whole_hours(filters: Filters) -> tuple[datetime, datetime]:
    """The first and the end of the whole hours inside the range (equal, or crossed, if none)."""
    hour = timedelta(hours=1)
    first = _EPOCH + -(-(filters.start - _EPOCH) // hour) * hour  # rounded up to a whole hour
    last = _EPOCH + ((filters.end - _EPOCH) // hour) * hour  # rounded down
    return first, last
