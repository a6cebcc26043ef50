"""Sealed hours (migrations ``073_sealed_audience_hours.sql``, ``090_sealed_hour_rollups.sql``,
``091_sealed_traffic_hours.sql``, ``093_web_vitals_route_hours.sql``,
``095_resource_and_navigation_hours.sql``; days summed from sealed hours: ``097_resource_days.sql``,
``098_traffic_days.sql``, ``099_session_days.sql``, ``100_time_on_page_days.sql``,
``101_web_vitals_days.sql``):
forcing a seal now.

ClickHouse itself seals closed hours every minute (the refreshable materialized views named
``*_seal``, one per rollup family), so nothing in Vigil has to run them. A seal only counts for an hour
whose last insert is :data:`SEAL_MARGIN` older than the seal, so an insert still landing while
the seal reads cannot be missed; :func:`seal_now` is for those who cannot wait for the next
minute — the benchmark after loading, tests — and waits out that margin first.
"""

from __future__ import annotations

import time
from datetime import timedelta

from clickhouse_connect.driver import Client

SEAL_SUFFIX = "_seal"  # every refreshable view that seals hours is named <table>_seal
DAY_SEAL_SUFFIX = "_day_seal"  # those that seal days from sealed hours (097, 098: resource_day_seal, traffic_day_seal)
# how much older than a seal an hour's last insert must be for the seal to count (the migration's 60 s)
SEAL_MARGIN = timedelta(seconds=60)


def seconds_until_sealable(client: Client) -> float:
    """How long until every insert so far is :data:`SEAL_MARGIN` older than a seal started then
    (0 if already), by the server's clock."""
    waiting = client.command(
        "SELECT greatest(0, dateDiff('millisecond', now64(3, 'UTC'), max(touched_at)) + {margin:UInt32}) "
        "FROM audience_hour_touched", parameters={"margin": int(SEAL_MARGIN.total_seconds() * 1000)})
    return int(waiting) / 1000


def seal_views(client: Client) -> list[str]:
    """The refreshable views of the current database that seal hours (named ``*_seal``)."""
    rows = client.query("SELECT view FROM system.view_refreshes WHERE database = currentDatabase() "
                        "AND endsWith(view, {suffix:String}) ORDER BY view", parameters={"suffix": SEAL_SUFFIX})
    return [name for (name,) in rows.result_rows]


def seal_now(client: Client) -> float:
    """Seal every closed hour touched since its last seal, as the views' next refreshes would:
    wait until the latest insert is past the margin, refresh every seal view and wait for them
    to finish. Returns the seconds spent waiting for the margin."""
    waited = seconds_until_sealable(client)
    if waited:
        time.sleep(waited + 0.05)
    views = seal_views(client)
    # the daily seals (097) sum the hourly seals' rows: they refresh once those are done
    hourly = [view for view in views if not view.endswith(DAY_SEAL_SUFFIX)]
    for stage in (hourly, [view for view in views if view.endswith(DAY_SEAL_SUFFIX)]):
        for view in stage:  # names read from system.view_refreshes, quoted as identifiers
            client.command(f"SYSTEM REFRESH VIEW `{view}`")
        for view in stage:
            client.command(f"SYSTEM WAIT VIEW `{view}`")
    return waited
