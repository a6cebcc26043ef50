"""The migrations rendered for a ClickHouse cluster (``VIGIL_CLICKHOUSE_CLUSTER``): golden checks of
each transformation, and refusals of what the rendering does not know. The real engine's parser
checks every rendered statement in ``tests/integration/test_cluster_schema.py``."""

from __future__ import annotations

import re

import pytest

from pipeline.warehouse.cluster_schema import (
    INSERT_SETTINGS, ClusterRenderError, ClusterStatement, Renderer, Topology, tokens,
)
from pipeline.warehouse.migrator import LEDGER_DDL, discover, render_for_cluster

TOPOLOGY = Topology("vigil_cluster", "vigil")
REPLICATED_ARGS = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"


def render(*statements: str) -> list[ClusterStatement]:
    renderer = Renderer(TOPOLOGY)
    return [out for sql in statements for out in renderer.render(sql)]


def every_rendered_statement() -> list[ClusterStatement]:
    setup, rendered = render_for_cluster(discover(), TOPOLOGY)
    return setup + [statement for statements in rendered.values() for statement in statements]


def test_a_table_becomes_a_replicated_local_table_and_a_distributed_table_over_it():
    local, distributed = render("CREATE TABLE IF NOT EXISTS projects\n(\n    id UInt32,\n    version UInt64\n)\n"
                                "ENGINE = ReplacingMergeTree(version)\nORDER BY id")
    assert local == ClusterStatement(
        "CREATE TABLE IF NOT EXISTS projects ON CLUSTER `vigil_cluster`\n(\n    id UInt32,\n    version UInt64\n)\n"
        f"ENGINE = ReplicatedReplacingMergeTree({REPLICATED_ARGS}, version)\nORDER BY id", "vigil_local")
    assert distributed == ClusterStatement(
        "CREATE TABLE IF NOT EXISTS `vigil`.`projects` ON CLUSTER `vigil_cluster` AS `vigil_local`.`projects` "
        "ENGINE = Distributed('vigil_cluster', 'vigil_local', 'projects', cityHash64(id))", "vigil")


@pytest.mark.parametrize(("engine", "replicated"), [
    ("MergeTree", f"ReplicatedMergeTree({REPLICATED_ARGS})"),
    ("MergeTree()", f"ReplicatedMergeTree({REPLICATED_ARGS})"),
    ("AggregatingMergeTree", f"ReplicatedAggregatingMergeTree({REPLICATED_ARGS})"),
    ("SummingMergeTree(refusals)", f"ReplicatedSummingMergeTree({REPLICATED_ARGS}, refusals)"),
    ("ReplacingMergeTree(emitted_at)", f"ReplicatedReplacingMergeTree({REPLICATED_ARGS}, emitted_at)"),
    ("ReplacingMergeTree(version, deleted)", f"ReplicatedReplacingMergeTree({REPLICATED_ARGS}, version, deleted)"),
])
def test_every_merge_tree_engine_keeps_its_own_arguments_after_the_replication_path(engine, replicated):
    local = render(f"CREATE TABLE t (a UInt8, version UInt8) ENGINE = {engine} ORDER BY a SETTINGS index_granularity = 1")[0]
    assert local.sql == ("CREATE TABLE t ON CLUSTER `vigil_cluster` (a UInt8, version UInt8) "
                         f"ENGINE = {replicated} ORDER BY a SETTINGS index_granularity = 1")


def test_events_and_sessions_are_sharded_by_session_other_tables_by_their_sorting_key():
    keys = {}
    for statement in every_rendered_statement():
        match = re.search(r"ENGINE = Distributed\('vigil_cluster', 'vigil_local', '(\w+)', (.+)\)$", statement.sql, re.S)
        if match:
            keys[match.group(1)] = match.group(2)
    assert keys["events"] == keys["sessions"] == "cityHash64(session_id)"
    assert keys["projects"] == "cityHash64(id)"
    assert keys["alert_rules"] == "cityHash64(id)"
    assert keys["schema_migrations"] == "cityHash64(version)"
    assert re.fullmatch(r"cityHash64\(project_id, hour, environment, release\)", keys["audience_hour_counts"])


def test_the_sorting_key_ends_at_the_next_clause_and_comments_and_strings_do_not_count():
    statements = render("CREATE TABLE t (a UInt8, b String DEFAULT 'ENGINE = Memory ORDER BY x') -- ENGINE = Log\n"
                        "ENGINE = MergeTree /* ORDER BY nothing */ PARTITION BY a ORDER BY (a, b) TTL now() SETTINGS x = 1")
    assert f"ENGINE = ReplicatedMergeTree({REPLICATED_ARGS}) /* ORDER BY nothing */" in statements[0].sql
    assert "DEFAULT 'ENGINE = Memory ORDER BY x') -- ENGINE = Log\n" in statements[0].sql
    assert statements[1].sql.endswith("'t', cityHash64(a, b))")
    assert render("CREATE TABLE u (a UInt8) ENGINE = MergeTree ORDER BY tuple()")[1].sql.endswith("'u', rand())")


def test_views_get_on_cluster_after_their_name_and_materialized_ones_live_beside_their_tables():
    refreshable = ("CREATE MATERIALIZED VIEW IF NOT EXISTS seal\nREFRESH EVERY 1 MINUTE APPEND TO counts AS\n"
                   "SELECT 1 AS x FROM hourly FINAL SETTINGS do_not_merge_across_partitions_select_final = 1")
    assert render(refreshable) == [ClusterStatement(
        "CREATE MATERIALIZED VIEW IF NOT EXISTS seal ON CLUSTER `vigil_cluster`\nREFRESH EVERY 1 MINUTE APPEND TO "
        "counts AS\nSELECT 1 AS x FROM hourly FINAL SETTINGS do_not_merge_across_partitions_select_final = 1",
        "vigil_local")]
    assert render("CREATE MATERIALIZED VIEW m TO t AS SELECT a FROM events")[0] == ClusterStatement(
        "CREATE MATERIALIZED VIEW m ON CLUSTER `vigil_cluster` TO t AS SELECT a FROM events", "vigil_local")
    assert render("CREATE VIEW v AS SELECT a FROM events")[0] == ClusterStatement(
        "CREATE VIEW v ON CLUSTER `vigil_cluster` AS SELECT a FROM events", "vigil")


def test_a_column_change_recreates_the_distributed_table_an_index_does_not():
    create = "CREATE TABLE events (session_id String) ENGINE = ReplacingMergeTree ORDER BY session_id"
    statements = render(create, "ALTER TABLE events ADD COLUMN IF NOT EXISTS country String DEFAULT ''",
                        "ALTER TABLE events ADD INDEX IF NOT EXISTS s session_id TYPE bloom_filter GRANULARITY 4",
                        "ALTER TABLE sessions_mv MODIFY QUERY SELECT 1")[2:]
    assert [(s.sql, s.database) for s in statements] == [
        ("ALTER TABLE events ON CLUSTER `vigil_cluster` ADD COLUMN IF NOT EXISTS country String DEFAULT ''",
         "vigil_local"),
        ("CREATE OR REPLACE TABLE `vigil`.`events` ON CLUSTER `vigil_cluster` AS `vigil_local`.`events` "
         "ENGINE = Distributed('vigil_cluster', 'vigil_local', 'events', cityHash64(session_id))", "vigil"),
        ("ALTER TABLE events ON CLUSTER `vigil_cluster` ADD INDEX IF NOT EXISTS s session_id TYPE bloom_filter "
         "GRANULARITY 4", "vigil_local"),
        ("ALTER TABLE sessions_mv ON CLUSTER `vigil_cluster` MODIFY QUERY SELECT 1", "vigil_local"),
    ]


def test_drops_are_synchronous_and_take_the_distributed_table_with_them():
    statements = render("CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a", "DROP VIEW IF EXISTS t_mv",
                        "DROP TABLE IF EXISTS t")[2:]
    assert [s.sql for s in statements] == [
        "DROP VIEW IF EXISTS t_mv ON CLUSTER `vigil_cluster` SYNC",
        "DROP TABLE IF EXISTS `vigil`.`t` ON CLUSTER `vigil_cluster` SYNC",
        "DROP TABLE IF EXISTS t ON CLUSTER `vigil_cluster` SYNC",
    ]
    with pytest.raises(ClusterRenderError, match="INSERT INTO t"):  # gone: a later backfill would be an error
        render("CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a", "DROP TABLE t", "INSERT INTO t SELECT 1")


def test_deletes_run_on_the_local_tables_and_backfills_through_the_distributed_ones():
    create = "CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a"
    delete, insert = render(create, "DELETE FROM t WHERE a = 1", "INSERT INTO t SELECT a FROM events FINAL")[2:]
    assert delete == ClusterStatement("DELETE FROM t ON CLUSTER `vigil_cluster` WHERE a = 1", "vigil_local")
    assert insert == ClusterStatement("INSERT INTO t SELECT a FROM events FINAL", "vigil", INSERT_SETTINGS)
    assert INSERT_SETTINGS == {"parallel_distributed_insert_select": 2, "distributed_foreground_insert": 1}
    assert render("TRUNCATE TABLE IF EXISTS t") == [
        ClusterStatement("TRUNCATE TABLE IF EXISTS t ON CLUSTER `vigil_cluster`", "vigil_local")]


def test_waiting_for_a_refreshable_views_first_refresh_runs_beside_the_view():
    # the backfill of a sealed rollup: its view's first refresh, waited for where the view lives
    # (ClickHouse's SYSTEM WAIT VIEW has no ON CLUSTER form)
    assert render("SYSTEM WAIT VIEW t_day_seal") == [ClusterStatement("SYSTEM WAIT VIEW t_day_seal", "vigil_local")]


@pytest.mark.parametrize(("sql", "says"), [
    ("CREATE TABLE vigil.t (a UInt8) ENGINE = MergeTree ORDER BY a", "names a database"),
    ("CREATE TABLE t (a UInt8) ENGINE = Memory", "not of the MergeTree family"),
    ("CREATE TABLE t (a UInt8) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY a", "plain MergeTree engines"),
    ("CREATE TABLE t (a UInt8) ORDER BY a", "without an ENGINE"),
    ("CREATE TABLE t (a UInt8) ENGINE = MergeTree", "without ORDER BY"),
    ("CREATE DICTIONARY d (a UInt8) PRIMARY KEY a SOURCE(NULL()) LAYOUT(FLAT()) LIFETIME(0)", "only TABLE, VIEW"),
    ("RENAME TABLE a TO b", "not a statement kind"),
    ("SYSTEM REFRESH VIEW v", "may only SYSTEM WAIT VIEW"),
    ("SYSTEM WAIT VIEW vigil.v", "names a database"),
    ("OPTIMIZE TABLE t FINAL", "not a statement kind"),
    ("INSERT INTO nowhere SELECT 1", "not a table the migrations created"),
])
def test_what_the_rendering_does_not_know_is_refused_with_a_reason(sql, says):
    with pytest.raises(ClusterRenderError, match=says):
        render(sql)


def test_every_migration_renders_and_nothing_is_left_for_one_node():
    statements = every_rendered_statement()
    assert len(statements) > 150
    for statement in statements:
        words = [token.text.upper() for token in tokens(statement.sql)]
        if words[0] == "INSERT":
            assert statement.database == "vigil" and statement.settings == INSERT_SETTINGS, statement.sql
            continue
        # the tokenizer leaves a SYSTEM command's rest as one string
        if " ".join(words).split()[:3] == ["SYSTEM", "WAIT", "VIEW"]:  # no ON CLUSTER form: on the migrating node
            assert statement.database == "vigil_local", statement.sql
            continue
        assert "ON CLUSTER" in " ".join(words), statement.sql
        engines = [tokens(statement.sql)[i + 2].text for i, word in enumerate(words) if word == "ENGINE"]
        for engine in engines:
            assert engine == "Distributed" or engine.startswith("Replicated"), statement.sql
        assert statement.database in ("vigil", "vigil_local") or words[:2] == ["CREATE", "DATABASE"], statement.sql
    created, distributed = set(), set()
    for statement in statements:
        if match := re.search(r"^CREATE TABLE (?:IF NOT EXISTS )?(\w+) ON CLUSTER", statement.sql, re.M):
            created.add(match.group(1))
        if match := re.search(r"AS `vigil_local`.`(\w+)` ENGINE = Distributed", statement.sql):
            assert match.group(1) in created, f"a Distributed table over {match.group(1)} before the table"
            distributed.add(match.group(1))
    assert created == distributed
    assert {"events", "sessions", "traffic_minute", "audience_hour_counts", "refusals_minute"} <= created


def test_the_ledger_is_replicated_and_read_through_a_distributed_table():
    setup, _ = render_for_cluster([], TOPOLOGY)
    assert [s.sql for s in setup[:2]] == [
        "CREATE DATABASE IF NOT EXISTS `vigil` ON CLUSTER `vigil_cluster`",
        "CREATE DATABASE IF NOT EXISTS `vigil_local` ON CLUSTER `vigil_cluster`",
    ]
    assert setup[2].database == "vigil_local" and "ReplicatedMergeTree(" in setup[2].sql
    assert setup[3].sql.startswith("CREATE TABLE IF NOT EXISTS `vigil`.`schema_migrations` ON CLUSTER")
    assert LEDGER_DDL.strip().startswith("CREATE TABLE IF NOT EXISTS schema_migrations")


def test_vigil_migrate_print_shows_every_statement_with_its_database_and_connects_to_nothing(monkeypatch, capsys):
    from pipeline import settings as vigil_settings
    from pipeline.commands import migrate

    monkeypatch.setenv("VIGIL_CLICKHOUSE_CLUSTER", "vigil_cluster")
    monkeypatch.setenv("VIGIL_CLICKHOUSE_URL", "http://127.0.0.1:1")  # nothing listens there
    assert migrate.print_statements(vigil_settings.load()) == 0
    shown = capsys.readouterr().out
    assert shown.startswith(f"-- vigil migrate --print: {len(discover())} migration(s) for cluster vigil_cluster\n")
    assert len(re.findall(r"^-- in vigil(_local)?(, .*)?$", shown, re.M)) == len(every_rendered_statement())
    assert "-- in vigil, parallel_distributed_insert_select = 2, distributed_foreground_insert = 1\nINSERT INTO" in shown

    monkeypatch.setenv("VIGIL_CLICKHOUSE_CLUSTER", "")
    assert migrate.print_statements(vigil_settings.load()) == 0
    shown = capsys.readouterr().out
    assert "for one node" in shown.splitlines()[0] and "ON CLUSTER" not in shown
    assert len(re.findall(r"^-- in vigil$", shown, re.M)) == sum(len(m.statements) for m in discover())
