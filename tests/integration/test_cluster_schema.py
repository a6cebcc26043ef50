"""Every migration and ``schema.sql``, rendered for a cluster, is SQL the real engine's parser takes —
and, read back as ClickHouse normalises it (``formatQuerySingleLine``), differs from the statement
as written only by the rendering's documented edits (``ON CLUSTER``, the replicated engine, ``SYNC``).

No cluster runs here (no Keeper, no second server): this checks the SQL, not its execution on a
cluster; docs/deployment.md ("Past one host") says so.
"""

from __future__ import annotations

import re

import pytest

from pipeline.warehouse import schema
from pipeline.warehouse.cluster_schema import ClusterStatement, Renderer, Topology
from pipeline.warehouse.migrator import discover, render_for_cluster, split_statements

pytestmark = pytest.mark.integration

TOPOLOGY = Topology("vigil_cluster", "vigil")
_REPLICATED = re.compile(r"Replicated(\w*MergeTree)\('/clickhouse/tables/\{shard\}/\{database\}/\{table\}', "
                         r"'\{replica\}'(?:, )?")


@pytest.fixture(scope="module")
def normalise(clickhouse):
    client = clickhouse.client()

    def single_line(sql: str) -> str:
        return client.query("SELECT formatQuerySingleLine({sql:String})", parameters={"sql": sql}).result_rows[0][0]

    yield single_line
    client.close()


def without_the_rendering(normalised: str) -> str:
    """A normalised rendered statement with the rendering's edits undone (one node's statement)."""
    undone = normalised.replace(" ON CLUSTER vigil_cluster", "", 1)
    undone = _REPLICATED.sub(r"\1(", undone)
    undone = re.sub(r"(\w*MergeTree)\(\)", r"\1", undone)
    return undone.removesuffix(" SYNC")


def check(original: str, rendered: list[ClusterStatement], normalise) -> int:
    """Parse every rendered statement; the one that stands for ``original`` must differ from it only
    by the rendering's edits; the ones the rendering adds are Distributed tables' DDL."""
    expected = normalise(original)
    counterparts = 0
    for statement in rendered:
        normalised = normalise(statement.sql)  # raises if the engine's parser refuses it
        # a backfill through the Distributed tables, or a refreshable view's first refresh waited for on
        # the migrating node (SYSTEM WAIT VIEW has no ON CLUSTER form): every other statement runs on all
        assert (" ON CLUSTER vigil_cluster" in normalised or normalised.startswith("INSERT INTO")
                or normalised.startswith("SYSTEM WAIT VIEW ")), normalised
        if without_the_rendering(normalised) == expected:
            counterparts += 1
        else:
            assert re.match(r"(CREATE (OR REPLACE )?TABLE (IF NOT EXISTS )?vigil\.\w+ ON CLUSTER vigil_cluster AS "
                            r"vigil_local\.\w+ ENGINE = Distributed|DROP TABLE IF EXISTS vigil\.\w+ ON CLUSTER)",
                            normalised), f"{normalised}\n is not\n{expected}"
    assert counterparts == 1, f"{original[:200]!r} has no rendered counterpart"
    return len(rendered)


def test_every_rendered_migration_statement_parses_and_changes_only_what_the_rendering_says(normalise):
    setup, rendered = render_for_cluster(discover(), TOPOLOGY)
    for statement in setup:
        assert " ON CLUSTER vigil_cluster" in normalise(statement.sql)
    checked = 0
    for migration in discover():
        for original, outputs in _pair(migration.statements, rendered[migration.version], migration.version):
            checked += check(original, outputs, normalise)
    assert checked == sum(len(statements) for statements in rendered.values())


def _pair(originals: list[str], rendered: list[ClusterStatement], version: int) -> list[tuple[str, list[ClusterStatement]]]:
    """Each original statement with the rendered statements it became (a renderer that has seen the
    migrations before ``version`` renders them again one by one)."""
    renderer = Renderer(TOPOLOGY)
    for migration in discover():
        if migration.version == version:
            break
        for sql in migration.statements:
            renderer.render(sql)
    pairs = [(sql, renderer.render(sql)) for sql in originals]
    assert [s for _, outputs in pairs for s in outputs] == rendered
    return pairs


def test_the_schema_file_rendered_for_a_cluster_parses_table_by_table(normalise):
    renderer = Renderer(TOPOLOGY)
    statements = split_statements(schema.SCHEMA_FILE.read_text(encoding="utf-8"))
    engines = set()
    for sql in statements:
        rendered = renderer.render(sql)
        check(sql, rendered, normalise)
        engines |= set(re.findall(r"ENGINE = (\w+)", " ".join(normalise(s.sql) for s in rendered)))
    assert len(statements) >= 30  # every table and view of schema.sql (31 after 092 folded the error groups)
    assert engines == {"Distributed", "ReplicatedMergeTree", "ReplicatedReplacingMergeTree",
                       "ReplicatedAggregatingMergeTree", "ReplicatedSummingMergeTree"}
