-- What people save from the dashboards: funnels and the status of error groups.
-- Both are versioned rows; the highest version of a key wins (read with FINAL), so a save is
-- one insert and the history stays until a merge folds it.

-- A funnel: its steps, conversion window and counting unit as JSON
-- (pipeline/warehouse/dashboard_state.py: FunnelDefinition). Deleting writes deleted = 1.
CREATE TABLE IF NOT EXISTS funnels
(
    project_id  UInt32,
    name        String,
    definition  String,
    deleted     UInt8,
    updated_at  DateTime64(3, 'UTC'),
    updated_by  String,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, name);

-- An error group's status: unresolved (the default, no row needed), resolved or ignored.
-- A resolved group with an event after resolved_at shows as regressed.
CREATE TABLE IF NOT EXISTS error_group_states
(
    project_id  UInt32,
    fingerprint UInt64,
    status      LowCardinality(String),
    updated_at  DateTime64(3, 'UTC'),
    updated_by  String,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, fingerprint);
