"""Every table a materialized view fills (the rollups, the sessions, the sealed hours) keeps the
rollups' retention (``VIGIL_ROLLUP_RETENTION_DAYS``), so a 30-, 90- or 365-day range still has
its trend after the raw events (``VIGIL_RETENTION_DAYS``) are gone: a new rollup without a TTL
would grow forever, one under the raw events' TTL would cut long ranges short."""

from __future__ import annotations

import re

from pipeline.settings import REPO_ROOT
from pipeline.warehouse import retention

SCHEMA = REPO_ROOT / "pipeline" / "warehouse" / "schema.sql"


def test_every_table_a_view_fills_keeps_the_rollup_retention():
    filled = set(re.findall(r"^CREATE MATERIALIZED VIEW \w+(?:\s+REFRESH [^\n]*?)?\s+(?:APPEND\s+)?TO (\w+)",
                            SCHEMA.read_text(), flags=re.MULTILINE))
    assert {"traffic_hour", "sessions", "audience_hour"} <= filled  # the pattern finds them
    assert filled - set(retention.ROLLUP_TABLES) == set()
    assert not set(retention.ROLLUP_TABLES) & set(retention.RAW_TABLES)
