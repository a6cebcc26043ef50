"""The contract's clock rule: events up to 30 days old and up to 24 hours ahead are accepted;
a refusal says which bound was crossed in those words (the 30 days are not the warehouse's
retention, which is VIGIL_RETENTION_DAYS)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pipeline.contract import validate_event

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=timezone.utc)


def page_view(when: datetime) -> dict:
    return {"event_id": "01J0ZK4T0001XQ5M8R2B7C9D", "type": "page_view", "session_id": "s_7f3a9c2e41d8",
            "visitor_id": "v_0b6e2d94c7a1f3", "timestamp": when.isoformat().replace("+00:00", "Z"),
            "page": {"url": "https://shop.example.com/"}, "data": {"navigation_type": "navigate"}}


def test_the_bounds_themselves_are_accepted():
    assert validate_event(page_view(NOW - timedelta(days=30)), NOW) is None
    assert validate_event(page_view(NOW + timedelta(hours=24)), NOW) is None


def test_an_old_event_is_refused_as_older_than_30_days_not_as_past_retention():
    refusal = validate_event(page_view(NOW - timedelta(days=30, minutes=1)), NOW)
    assert refusal is not None and refusal.reason == "timestamp_out_of_range"
    assert "more than 30 days old" in refusal.message and "retention" not in refusal.message
    assert "up to 30 days old and 24 hours ahead" in refusal.message


def test_a_future_event_is_refused_in_hours():
    refusal = validate_event(page_view(NOW + timedelta(hours=24, minutes=1)), NOW)
    assert refusal is not None and refusal.reason == "timestamp_out_of_range"
    assert "more than 24 hours ahead" in refusal.message and "check the client clock" in refusal.message
