"""How long the warehouse keeps data: table TTLs from configuration, set by ``vigil migrate``.

Raw events are kept ``VIGIL_RETENTION_DAYS`` (default 90) and the rollups and sessions the
dashboards read ``VIGIL_ROLLUP_RETENTION_DAYS`` (default 400), so trends outlive the raw
detail; 0 keeps a table forever. ClickHouse drops expired rows in its background merges.
Changing a TTL rewrites no data now (``materialize_ttl_after_modify = 0``): the new TTL
applies to parts as they are merged.
"""

from __future__ import annotations

from clickhouse_connect.driver import Client

# table → the time its rows expire by
RAW_TABLES: dict[str, str] = {"events": "timestamp"}
ROLLUP_TABLES: dict[str, str] = {
    "traffic_minute": "minute", "error_groups_minute": "minute",
    "sessions": "started", "traffic_hour": "hour", "web_vitals_hour": "hour",  # web_vitals_hour: sealed (090)
    "error_groups": "day",
    "audience_minute": "minute", "audience_hour": "hour", "api_calls_hour": "hour", "page_audience_hour": "hour",
    "signals_minute": "minute",  # vigil signals' windows (060), kept as long as the rollups
    "audience_hour_touched": "hour", "audience_hour_counts": "hour",  # sealed hours (073), as audience_hour
    "refusals_minute": "minute",  # the collector's refusal counts (075)
}
_NO_REWRITE = {"materialize_ttl_after_modify": 0}


def apply_retention(client: Client, raw_days: int, rollup_days: int) -> list[str]:
    """Set each table's TTL (``REMOVE TTL`` for 0 days); returns one line per table saying what it keeps."""
    for days, name in ((raw_days, "VIGIL_RETENTION_DAYS"), (rollup_days, "VIGIL_ROLLUP_RETENTION_DAYS")):
        if days < 0:
            raise ValueError(f"{name}={days}: a retention is a number of days, 0 to keep data forever")
    existing = {row[0] for row in client.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase()").result_rows}
    done = []
    for tables, days in ((RAW_TABLES, raw_days), (ROLLUP_TABLES, rollup_days)):
        for table, column in tables.items():
            if table not in existing:
                continue
            if days:
                # the table and column names are this module's constants; days is an int
                client.command(f"ALTER TABLE {table} MODIFY TTL toDateTime({column}) + toIntervalDay({int(days)})",
                               settings=_NO_REWRITE)
                done.append(f"{table}: {days} days")
            else:
                if _has_ttl(client, table):
                    client.command(f"ALTER TABLE {table} REMOVE TTL")
                done.append(f"{table}: forever")
    return done


def _has_ttl(client: Client, table: str) -> bool:
    query = client.command("SELECT create_table_query FROM system.tables WHERE database = currentDatabase() "
                           "AND name = {table:String}", parameters={"table": table})
    return " TTL " in str(query)
