-- Alerts (pipeline/alerts): rules and channels as versioned definitions, mutes, and the
-- history of every state change and every notification attempt.

-- Rules: one row per version of a rule; the highest version wins (read with FINAL).
-- `definition` is the rule as its YAML mapping, in JSON; `source` says who owns it:
-- 'file' (VIGIL_ALERTS_FILE, synced by `vigil alerts`) or 'ui' (the Alerts page).
-- A deleted rule is a last version with deleted = 1.
CREATE TABLE IF NOT EXISTS alert_rules
(
    id          String,
    definition  String,
    source      LowCardinality(String),
    deleted     UInt8,
    updated_at  DateTime64(3, 'UTC'),
    updated_by  String,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;

-- Channels, the same way. `definition` keeps ${ENV_VAR} references unexpanded: secrets stay
-- in the environment of the processes that send.
CREATE TABLE IF NOT EXISTS alert_channels
(
    name        String,
    definition  String,
    source      LowCardinality(String),
    deleted     UInt8,
    updated_at  DateTime64(3, 'UTC'),
    updated_by  String,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name;

-- Mutes: a rule is muted while now() < muted_until (unmuting writes a version with the epoch).
-- Kept apart from the rule so a file-owned rule can be muted from the page.
CREATE TABLE IF NOT EXISTS alert_mutes
(
    rule_id     String,
    muted_until DateTime64(3, 'UTC'),
    reason      String,
    muted_by    String,
    updated_at  DateTime64(3, 'UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY rule_id;

-- Every state change of an alert: pending, firing, resolved, cancelled (pending that cleared
-- before its "for" duration). One incident = one incident_id from pending to resolved; the
-- evaluator rebuilds its state from the latest row per (rule_id, key) when it starts.
-- `key` is empty for rules over a whole metric, the error group for per-group rules.
-- `notified` = the firing/resolved notification was sent; `note` says why not (muted, cooldown).
CREATE TABLE IF NOT EXISTS alert_history
(
    at           DateTime64(3, 'UTC'),
    rule_id      String,
    rule_name    String,
    incident_id  String,
    key          String,
    state        LowCardinality(String),
    severity     LowCardinality(String),
    value        Nullable(Float64),
    threshold    Float64,
    comparator   LowCardinality(String),
    summary      String,
    labels       Map(String, String),
    origin       LowCardinality(String),
    notified     UInt8,
    note         String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (rule_id, key, at);

-- Every notification sent, per channel: firing, resolved or test; attempts made, and the
-- last error if it never got through.
CREATE TABLE IF NOT EXISTS alert_deliveries
(
    at           DateTime64(3, 'UTC'),
    rule_id      String,
    incident_id  String,
    kind         LowCardinality(String),
    channel      String,
    channel_type LowCardinality(String),
    attempts     UInt8,
    delivered    UInt8,
    error        String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, rule_id);
