"""``vigil migrate``: wait for ClickHouse, then apply the pending migrations (idempotent)."""

from __future__ import annotations

import argparse
import sys

from pipeline import settings as vigil_settings

HELP = "apply the ClickHouse schema (idempotent)"
READY_TIMEOUT_S = 30.0  # how long `vigil migrate` waits for ClickHouse to answer


def arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the warehouse comes from ``VIGIL_CLICKHOUSE_*``."""


def main(args: argparse.Namespace) -> int:
    """``vigil migrate``: wait for ClickHouse, then apply the pending migrations."""
    from pipeline.warehouse.client import WarehouseUnavailable, connect, wait_until_ready
    from pipeline.warehouse.migrator import MigrationError, apply_migrations, discover
    from pipeline.warehouse.retention import apply_retention

    config = vigil_settings.load()
    try:
        wait_until_ready(config.clickhouse_url, timeout=READY_TIMEOUT_S)
        client = connect(config)
    except WarehouseUnavailable as exc:
        print(f"vigil migrate: {exc}", file=sys.stderr)
        return 1
    try:
        newly = apply_migrations(client)
        kept = apply_retention(client, config.retention_days, config.rollup_retention_days)
    except (MigrationError, ValueError) as exc:
        print(f"vigil migrate: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    where = f"{vigil_settings.redacted(config.clickhouse_url)} database {config.clickhouse_database}"
    if newly:
        for name in newly:
            print(f"vigil migrate: applied {name}")
        print(f"vigil migrate: {len(newly)} migration(s) applied to {where}")
    else:
        print(f"vigil migrate: schema up to date ({len(discover())} migration(s)) on {where}")
    print(f"vigil migrate: retention {'; '.join(kept)}")
    return 0
