"""How long the warehouse keeps data: table TTLs from configuration, set by ``vigil migrate``.

Raw events are kept ``VIGIL_RETENTION_DAYS`` (default 90) and the rollups and sessions the
dashboards read ``VIGIL_ROLLUP_RETENTION_DAYS`` (default 400), so trends outlive the raw
detail; 0 keeps a table forever. ClickHouse drops expired rows in its background merges.
Changing a TTL rewrites no data now (``materialize_ttl_after_modify = 0``): the new TTL
applies to parts as they are merged. On a cluster the TTLs are set on the replicated local
tables, ``ON CLUSTER`` (rendered like the migrations).
"""

from __future__ import annotations

from clickhouse_connect.driver import Client

from pipeline.warehouse.cluster_schema import ClusterStatement, Renderer, Topology
from pipeline.warehouse.migrator import run

# table → the time its rows expire by
RAW_TABLES: dict[str, str] = {"events": "timestamp"}
ROLLUP_TABLES: dict[str, str] = {
    "sessions": "started",
    "traffic_hour": "hour", "web_vitals_hour": "hour",  # sealed hours (traffic 091, Web Vitals 090)
    "error_groups_hour": "hour",  # error groups: sealed hours (092)
    "audience_hour": "hour", "api_calls_hour": "hour",  # traffic and audience: sealed hours (091)
    "signals_minute": "minute",  # vigil signals' windows (060), kept as long as the rollups
    "audience_hour_touched": "hour",  # when each hour was last inserted into (073), as the sealed hours
    "refusals_minute": "minute",  # the collector's refusal counts (075)
    "web_vitals_route_hour": "hour",  # Web Vitals by route: sealed hours (093)
    "click_hour": "hour",  # the most clicked elements: sealed hours (094)
    "vital_target_hour": "hour", "time_on_page_hour": "hour",  # what the SDK blamed, time on page (096)
    "resource_hour": "hour", "navigation_hour": "hour",  # slowest resources, navigation timing: sealed hours (095)
    "resource_day": "day",  # slowest resources: days summed from the sealed hours (097)
    "traffic_day": "day",  # the most viewed pages past 7 days: days summed from the sealed hours (098)
    "session_day": "day",  # the sessions' breakdowns and summary: days summed from the sealed start hours (099)
    "time_on_page_day": "day",  # time on page: days summed from the sealed hours (100)
    "web_vitals_day": "day", "web_vitals_route_day": "day",  # Web Vitals: days summed from the sealed hours (101)
}
_NO_REWRITE = {"materialize_ttl_after_modify": 0}


def apply_retention(client: Client, raw_days: int, rollup_days: int, cluster: Topology | None = None) -> list[str]:
    """Set each table's TTL (``REMOVE TTL`` for 0 days); returns one line per table saying what it keeps.
    ``cluster``: on that cluster's local tables (``client`` on the Distributed tables' database)."""
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
                _alter(client, f"ALTER TABLE {table} MODIFY TTL toDateTime({column}) + toIntervalDay({int(days)})",
                       cluster, _NO_REWRITE)
                done.append(f"{table}: {days} days")
            else:
                if _has_ttl(client, table, cluster):
                    _alter(client, f"ALTER TABLE {table} REMOVE TTL", cluster, {})
                done.append(f"{table}: forever")
    return done


def _alter(client: Client, sql: str, cluster: Topology | None, settings: dict[str, int]) -> None:
    rendered = Renderer(cluster).render(sql) if cluster else [ClusterStatement(sql, "")]
    for statement in rendered:
        run(client, ClusterStatement(statement.sql, statement.database, {**statement.settings, **settings}))


def _has_ttl(client: Client, table: str, cluster: Topology | None = None) -> bool:
    database = cluster.local_database if cluster else client.command("SELECT currentDatabase()")
    query = client.command("SELECT create_table_query FROM system.tables WHERE database = {database:String} "
                           "AND name = {table:String}", parameters={"database": database, "table": table})
    return " TTL " in str(query)
