"""What the sealed-days tests (tests/integration/test_sealed_days.py) read with: two whole days that
closed long enough ago to be sealed, a range holding them with a few hours either side, and which
of its days a daily table answers (rows/sealed_days_of; the sessions: rows/session_days)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from clickhouse_connect.driver import Client

from pipeline import queries
from pipeline.queries import Filters

DAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)
DAYS = [DAY, DAY + timedelta(days=1)]


def day_range(project_id: int) -> Filters:
    """The two days with 2½ hours either side: whole days, edge hours and open minutes."""
    return Filters(project_id, DAY - timedelta(hours=2, minutes=30), DAY + timedelta(days=2, hours=2, minutes=30))


def sealed_days(client: Client, filters: Filters, family: str, day_table: str, **pick: bool) -> list[datetime]:
    """The whole days of ``filters``' range that ``day_table`` answers for the rollup ``family``
    (``pick``: the rest of ``queries.pick_source``'s arguments, e.g. ``per_route``)."""
    source = queries.pick_source(filters, family, **pick)
    parameters = {"project_id": filters.project_id, **source.parameters(), "day_table": day_table}
    rows = client.query(f"SELECT day FROM ({queries.sql('rows/sealed_days_of')}) ORDER BY day", parameters=parameters)
    return [day.replace(tzinfo=timezone.utc) for (day,) in rows.result_rows]


def session_days(client: Client, filters: Filters) -> list[datetime]:
    """The whole days of ``filters``' range that session_day answers (rows/session_days: those
    rows/sealed_days_of finds, less those whose sessions' hours two either side were inserted into
    since)."""
    source = queries.pick_source(filters, "session")
    parameters = {"project_id": filters.project_id, **source.parameters(), "day_table": "session_day"}
    rows = client.query(f"WITH {queries.sql('rows/session_days')} SELECT arrayJoin(arraySort(session_days.1)) AS day",
                        parameters=parameters)
    return [day.replace(tzinfo=timezone.utc) for (day,) in rows.result_rows]
