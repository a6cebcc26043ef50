"""``vigil migrate``: wait for ClickHouse, then apply the pending migrations (idempotent).

With ``VIGIL_CLICKHOUSE_CLUSTER`` set, the migrations are rendered for that cluster
(:mod:`pipeline.warehouse.cluster_schema`); ``vigil migrate --print`` shows the statements it
would run, with the database each runs in, without connecting.
"""

from __future__ import annotations

import argparse
import sys

from pipeline import settings as vigil_settings

HELP = "apply the ClickHouse schema (idempotent)"
READY_TIMEOUT_S = 30.0  # how long `vigil migrate` waits for ClickHouse to answer


def arguments(parser: argparse.ArgumentParser) -> None:
    """The warehouse comes from ``VIGIL_CLICKHOUSE_*``."""
    parser.add_argument("--print", action="store_true", dest="print_only",
                        help="print every statement for VIGIL_CLICKHOUSE_CLUSTER (or one node), run nothing")


def print_statements(config: vigil_settings.Settings) -> int:
    """``vigil migrate --print``: every migration's statements as they would run, no connection."""
    from pipeline.warehouse.cluster_schema import ClusterRenderError, ClusterStatement, Topology
    from pipeline.warehouse.migrator import discover, render_for_cluster

    migrations = discover()
    sections: list[tuple[str, list[ClusterStatement]]]
    if config.clickhouse_cluster:
        try:
            setup, rendered = render_for_cluster(migrations, Topology(config.clickhouse_cluster,
                                                                      config.clickhouse_database))
        except ClusterRenderError as exc:
            print(f"vigil migrate: {exc}", file=sys.stderr)
            return 1
        sections = [("the databases and the ledger", setup)] + [(m.name, rendered[m.version]) for m in migrations]
        target = f"cluster {config.clickhouse_cluster}"
    else:
        sections = [(m.name, [ClusterStatement(sql, "") for sql in m.statements]) for m in migrations]
        target = "one node"
    print(f"-- vigil migrate --print: {len(migrations)} migration(s) for {target}")
    for title, statements in sections:
        print(f"\n-- {title}")
        for statement in statements:
            settings = "".join(f", {name} = {value}" for name, value in statement.settings.items())
            print(f"-- in {statement.database or config.clickhouse_database}{settings}\n{statement.sql};")
    return 0


def main(args: argparse.Namespace) -> int:
    """``vigil migrate``: wait for ClickHouse, then apply the pending migrations."""
    from pipeline.warehouse.client import WarehouseUnavailable, connect, wait_until_ready
    from pipeline.warehouse.cluster_schema import ClusterRenderError, Topology
    from pipeline.warehouse.migrator import MigrationError, apply_migrations, discover
    from pipeline.warehouse.retention import apply_retention

    config = vigil_settings.load()
    if getattr(args, "print_only", False):
        return print_statements(config)
    cluster = Topology(config.clickhouse_cluster, config.clickhouse_database) if config.clickhouse_cluster else None
    try:
        wait_until_ready(config.clickhouse_url, timeout=READY_TIMEOUT_S)
        client = connect(config)
    except WarehouseUnavailable as exc:
        print(f"vigil migrate: {exc}", file=sys.stderr)
        return 1
    try:
        newly = apply_migrations(client, cluster=cluster)
        kept = apply_retention(client, config.retention_days, config.rollup_retention_days, cluster)
    except (MigrationError, ClusterRenderError, ValueError) as exc:
        print(f"vigil migrate: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    where = f"{vigil_settings.redacted(config.clickhouse_url)} database {config.clickhouse_database}"
    if cluster:
        where += f" (cluster {cluster.cluster}, tables in {cluster.local_database})"
    if newly:
        for name in newly:
            print(f"vigil migrate: applied {name}")
        print(f"vigil migrate: {len(newly)} migration(s) applied to {where}")
    else:
        print(f"vigil migrate: schema up to date ({len(discover())} migration(s)) on {where}")
    print(f"vigil migrate: retention {'; '.join(kept)}")
    return 0
