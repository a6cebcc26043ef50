"""The simulator's pacing helpers: when incidents happen and how Retry-After is read."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx

from pipeline.simulation import sender as simulate


def answer(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, headers=headers)


def test_retry_after_in_seconds_is_honoured():
    assert simulate.retry_after_seconds(answer("2")) == 2.0
    assert simulate.retry_after_seconds(answer("0.5")) == 0.5


def test_retry_after_as_an_http_date_is_honoured():
    when = datetime.now(timezone.utc) + timedelta(seconds=5)
    assert 3.0 < simulate.retry_after_seconds(answer(format_datetime(when, usegmt=True))) <= 5.0


def test_missing_or_absurd_retry_after_falls_back_to_something_sane():
    assert simulate.retry_after_seconds(answer(None)) == 1.0
    assert simulate.retry_after_seconds(answer("soon")) == 1.0
    assert simulate.retry_after_seconds(answer("86400")) == simulate.MAX_RETRY_AFTER_S
    assert simulate.retry_after_seconds(answer("-3")) > 0


def test_incidents_start_after_twenty_seconds_last_thirty_and_come_back():
    assert not simulate.incident_active(0)
    assert not simulate.incident_active(19.9)
    assert simulate.incident_active(20)
    assert simulate.incident_active(49.9)
    assert not simulate.incident_active(50)
    assert simulate.incident_active(20 + simulate.INCIDENT_EVERY_S + 1)
