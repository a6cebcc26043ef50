"""The time ranges a page can look at: the picker's fixed ranges (15 minutes … 90 days) and a
custom range of whole UTC days, each with the bar width of its charts, and the query filters
they stand for. Plain logic, no Streamlit: ``view_filters`` draws the pickers and keeps the
choice in the URL (``?range=30d``, ``?range=custom&from=2026-11-01&to=2026-11-30``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from pipeline import queries


@dataclass(frozen=True)
class TimeRange:
    """One choice of the time-range picker."""

    label: str
    span: timedelta
    bucket_minutes: int  # bar width of the charts, so a range is at most a few hundred bars


CUSTOM = "custom"
# keyed as they appear in the picker and the URL (?range=6h); "custom" takes ?from= and ?to=
TIME_RANGES: dict[str, TimeRange] = {
    "15m": TimeRange("Last 15 minutes", timedelta(minutes=15), 1),
    "1h": TimeRange("Last hour", timedelta(hours=1), 1),
    "6h": TimeRange("Last 6 hours", timedelta(hours=6), 5),
    "24h": TimeRange("Last 24 hours", timedelta(hours=24), 60),  # hourly bars: sealed hours answer them (091)
    "7d": TimeRange("Last 7 days", timedelta(days=7), 60),
    "30d": TimeRange("Last 30 days", timedelta(days=30), 6 * 60),
    "90d": TimeRange("Last 90 days", timedelta(days=90), 24 * 60),
}
RANGE_CHOICES = (*TIME_RANGES, CUSTOM)
# a custom range's bar width by its length: the first whose span covers it (whole hours, so the
# hourly rollups answer); at most ~300 bars up to a year, weekly bars beyond
CUSTOM_BUCKETS: tuple[tuple[timedelta, int], ...] = (
    (timedelta(days=1), 15), (timedelta(days=7), 60), (timedelta(days=31), 6 * 60),
    (timedelta(days=300), 24 * 60),
)
WEEK_MINUTES = 7 * 24 * 60


def bucket_for(span: timedelta) -> int:
    """The bar width in minutes for a custom range of ``span``."""
    return next((minutes for longest, minutes in CUSTOM_BUCKETS if span <= longest), WEEK_MINUTES)


def parse_day(value: str) -> date:
    """A day from a link, in the forms the bound date picker reads: ``YYYY-MM-DD`` (it writes this
    one) or ``YYYY/MM/DD`` — not ``date.fromisoformat``'s others (``20261101``), which the
    picker would silently replace by its default."""
    for form in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value, form).date()
        except ValueError:
            continue
    raise ValueError(f"not a day as YYYY-MM-DD: {value!r}")


def custom_range(first: date, last: date) -> TimeRange:
    """The whole UTC days ``first`` … ``last`` (both included)."""
    if first > last:
        raise ValueError(f"a custom range starts on or before its last day ({first} is after {last})")
    days = (last - first).days + 1
    label = f"{first:%Y-%m-%d}" if days == 1 else f"{first:%Y-%m-%d} to {last:%Y-%m-%d}"
    span = timedelta(days=days)
    return TimeRange(f"{label} (UTC)", span, bucket_for(span))


def custom_filters(project_id: int, first: date, last: date, now: datetime | None = None,
                   **dimensions: str) -> queries.Filters:
    """The days ``first`` … ``last`` (UTC midnight to midnight), ending no later than the end of the
    current minute (a range that includes today shows today so far, in whole minutes)."""
    custom_range(first, last)  # refuses first > last
    start = datetime.combine(first, time(), timezone.utc)
    end = datetime.combine(last + timedelta(days=1), time(), timezone.utc)
    moment = now or datetime.now(timezone.utc)
    end = min(end, moment.replace(second=0, microsecond=0) + timedelta(minutes=1))
    if end <= start:
        raise ValueError(f"a custom range cannot start in the future ({first})")
    return queries.Filters(project_id, start, end, **dimensions)


def raw_cutoff(retention_days: int, now: datetime | None = None) -> datetime | None:
    """The oldest moment raw events are kept for (``VIGIL_RETENTION_DAYS``; None: kept forever)."""
    if retention_days <= 0:
        return None
    moment = now or datetime.now(timezone.utc)
    return moment.replace(second=0, microsecond=0) - timedelta(days=retention_days)


def within_raw(filters: queries.Filters, retention_days: int, now: datetime | None = None) -> queries.Filters | None:
    """``filters`` cut to the part raw events still cover (None when none of it is)."""
    cutoff = raw_cutoff(retention_days, now)
    if cutoff is None or filters.start >= cutoff:
        return filters
    if filters.end <= cutoff:
        return None
    return queries.Filters(filters.project_id, cutoff, filters.end, **filters.dimensions())
