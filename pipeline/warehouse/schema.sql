-- The warehouse's schema as the migrations leave it: every table and view, as ClickHouse reports
-- it (SHOW CREATE), by name. Generated — do not edit: add a migration, then run `make schema`.

CREATE TABLE alert_channels
(
    `name` String,
    `definition` String,
    `source` LowCardinality(String),
    `deleted` UInt8,
    `updated_at` DateTime64(3, 'UTC'),
    `updated_by` String,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY name
SETTINGS index_granularity = 8192;

CREATE TABLE alert_deliveries
(
    `at` DateTime64(3, 'UTC'),
    `rule_id` String,
    `incident_id` String,
    `kind` LowCardinality(String),
    `channel` String,
    `channel_type` LowCardinality(String),
    `attempts` UInt8,
    `delivered` UInt8,
    `error` String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (at, rule_id)
SETTINGS index_granularity = 8192;

CREATE TABLE alert_history
(
    `at` DateTime64(3, 'UTC'),
    `rule_id` String,
    `rule_name` String,
    `incident_id` String,
    `key` String,
    `state` LowCardinality(String),
    `severity` LowCardinality(String),
    `value` Nullable(Float64),
    `threshold` Float64,
    `comparator` LowCardinality(String),
    `summary` String,
    `labels` Map(String, String),
    `origin` LowCardinality(String),
    `notified` UInt8,
    `note` String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (rule_id, key, at)
SETTINGS index_granularity = 8192;

CREATE TABLE alert_mutes
(
    `rule_id` String,
    `muted_until` DateTime64(3, 'UTC'),
    `reason` String,
    `muted_by` String,
    `updated_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY rule_id
SETTINGS index_granularity = 8192;

CREATE TABLE alert_rules
(
    `id` String,
    `definition` String,
    `source` LowCardinality(String),
    `deleted` UInt8,
    `updated_at` DateTime64(3, 'UTC'),
    `updated_by` String,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE alert_test_requests
(
    `request_id` String,
    `requested_at` DateTime64(3, 'UTC') DEFAULT now64(3),
    `rule_id` String,
    `channels` Array(String),
    `project` String,
    `requested_by` String,
    `wait_ms` UInt32
)
ENGINE = MergeTree
ORDER BY requested_at
TTL toDateTime(requested_at) + toIntervalDay(7)
SETTINGS index_granularity = 8192;

CREATE TABLE api_calls_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `method` LowCardinality(String),
    `endpoint` String,
    `status` UInt16,
    `failure` LowCardinality(String),
    `bucket` Int16,
    `calls` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    PROJECTION seals
    (
        SELECT
            project_id,
            hour,
            max(sealed_at)
        GROUP BY
            project_id,
            hour
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, endpoint, method, status, failure, environment, release, bucket)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW api_calls_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO api_calls_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `environment` String,
    `release` String,
    `method` String,
    `endpoint` String,
    `status` UInt16,
    `failure` String,
    `bucket` Int16,
    `calls` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM api_calls_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    environment,
    release,
    http_method AS method,
    api_endpoint AS endpoint,
    http_status AS status,
    api_failure AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS calls,
    min(duration_ms) AS low,
    max(duration_ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
WHERE (type = 'api_call') AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    hour,
    environment,
    release,
    method,
    endpoint,
    status,
    failure,
    bucket
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM api_calls_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    hour,
    '',
    '',
    '',
    '',
    0,
    '',
    toInt16(32767),
    0,
    0,
    0,
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE audience_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `page_views` UInt64,
    `errors` UInt64,
    `events` UInt64,
    `visitors` Array(UInt64),
    `sessions` Array(UInt64),
    `sealed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW audience_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO audience_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `page_views` UInt64,
    `errors` UInt64,
    `events` UInt64,
    `visitors` Array(UInt64),
    `sessions` Array(UInt64),
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    environment,
    release,
    countIf(type = 'page_view') AS page_views,
    countIf(type = 'error') AS errors,
    count() AS events,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
WHERE (project_id, toStartOfHour(timestamp)) IN (
    SELECT
        touched.project_id,
        touched.hour
    FROM
    (
        SELECT
            project_id,
            hour,
            max(touched_at) AS touched_at
        FROM audience_hour_touched
        WHERE hour <= (now() - toIntervalMinute(65))
        GROUP BY
            project_id,
            hour
    ) AS touched
    LEFT JOIN
    (
        SELECT
            project_id,
            hour,
            max(sealed_at) AS sealed_at
        FROM audience_hour
        GROUP BY
            project_id,
            hour
    ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
    WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
)
GROUP BY
    project_id,
    hour,
    environment,
    release
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE audience_hour_touched
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `touched_at` SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW audience_hour_touched_mv TO audience_hour_touched
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `touched_at` DateTime64(3, 'UTC')
)
AS SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    max(now64(3, 'UTC')) AS touched_at
FROM events
GROUP BY
    project_id,
    hour;

CREATE TABLE click_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `path` String,
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `target` String,
    `click_text` String,
    `click_href` String,
    `clicks` UInt64,
    `visitors` Array(UInt64),
    `sealed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, path, environment, release, target, click_text, click_href)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW click_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO click_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `path` String,
    `environment` String,
    `release` String,
    `target` String,
    `click_text` String,
    `click_href` String,
    `clicks` UInt64,
    `visitors` Array(UInt64),
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM click_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    path,
    environment,
    release,
    target,
    click_text,
    click_href,
    count() AS clicks,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
WHERE (type = 'click') AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    hour,
    path,
    environment,
    release,
    target,
    click_text,
    click_href
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM click_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    hour,
    '',
    '',
    '',
    '',
    '',
    '',
    0,
    [],
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE dead_letters
(
    `failed_at` DateTime64(3, 'UTC'),
    `reason` LowCardinality(String),
    `step` LowCardinality(String),
    `path` String,
    `message` String,
    `project_id` UInt32,
    `event_type` LowCardinality(String),
    `event_id` String,
    `source_topic` LowCardinality(String),
    `source_partition` UInt32,
    `source_offset` UInt64,
    `record` String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
ORDER BY (source_topic, source_partition, source_offset, reason)
SETTINGS index_granularity = 8192;

CREATE TABLE error_group_states
(
    `project_id` UInt32,
    `fingerprint` UInt64,
    `status` LowCardinality(String),
    `updated_at` DateTime64(3, 'UTC'),
    `updated_by` String,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, fingerprint)
SETTINGS index_granularity = 8192;

CREATE TABLE error_groups_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `fingerprint` UInt64,
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `kind` LowCardinality(String),
    `error_type` String,
    `events` UInt64,
    `visitors` Array(UInt64),
    `users` Array(UInt64),
    `first_seen` DateTime64(3, 'UTC'),
    `first_event` String,
    `message` String,
    `last_seen` DateTime64(3, 'UTC'),
    `last_event` String,
    `culprit` String,
    `sealed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, fingerprint, environment, release)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW error_groups_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO error_groups_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `fingerprint` UInt64,
    `environment` String,
    `release` String,
    `kind` String,
    `error_type` String,
    `events` UInt64,
    `visitors` Array(UInt64),
    `users` Array(UInt64),
    `first_seen` DateTime64(3, 'UTC'),
    `first_event` String,
    `message` String,
    `last_seen` DateTime64(3, 'UTC'),
    `last_event` String,
    `culprit` String,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM error_groups_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    fingerprint,
    environment,
    release,
    any(error_kind) AS kind,
    any(error_type) AS error_type,
    count() AS events,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArrayIf(cityHash64(user_id), user_id != '') AS users,
    min(timestamp) AS first_seen,
    argMin(event_id, (timestamp, event_id)) AS first_event,
    argMin(error_message, (timestamp, event_id)) AS message,
    max(timestamp) AS last_seen,
    argMax(event_id, (timestamp, event_id)) AS last_event,
    argMax(error_culprit, (timestamp, event_id)) AS culprit,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
WHERE (type = 'error') AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    hour,
    fingerprint,
    environment,
    release
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM error_groups_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    hour,
    toUInt64(0),
    '',
    '',
    '',
    '',
    0,
    [],
    [],
    toDateTime64(0, 3, 'UTC'),
    '',
    '',
    toDateTime64(0, 3, 'UTC'),
    '',
    '',
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE events
(
    `project_id` UInt32,
    `type` LowCardinality(String),
    `timestamp` DateTime64(3, 'UTC'),
    `event_id` String,
    `received_at` DateTime64(3, 'UTC'),
    `session_id` String,
    `visitor_id` String,
    `user_id` String,
    `release` LowCardinality(String),
    `environment` LowCardinality(String),
    `url` String CODEC(ZSTD(1)),
    `path` String,
    `referrer` String CODEC(ZSTD(1)),
    `title` String CODEC(ZSTD(1)),
    `browser` LowCardinality(String),
    `browser_version` LowCardinality(String),
    `os` LowCardinality(String),
    `os_version` LowCardinality(String),
    `device` LowCardinality(String),
    `client_ip` String,
    `user_agent` String CODEC(ZSTD(1)),
    `sdk_name` LowCardinality(String),
    `sdk_version` LowCardinality(String),
    `tags` Map(LowCardinality(String), String),
    `vital_name` LowCardinality(String),
    `vital_value` Float64,
    `vital_rating` LowCardinality(String),
    `error_kind` LowCardinality(String),
    `error_type` String,
    `error_message` String CODEC(ZSTD(1)),
    `duration_ms` Float64,
    `http_method` LowCardinality(String),
    `http_url` String CODEC(ZSTD(1)),
    `http_status` UInt16,
    `target` String,
    `name` String,
    `data` String CODEC(ZSTD(3)),
    `country` LowCardinality(String) DEFAULT '',
    `connection_type` LowCardinality(String) DEFAULT JSONExtractString(data, 'connection_type'),
    `fingerprint` UInt64 DEFAULT multiIf(type != 'error', toUInt64(0), JSONLength(data, 'fingerprint') > 0, cityHash64(JSONExtract(data, 'fingerprint', 'Array(String)')), cityHash64(toString(error_kind), error_type, replaceRegexpAll(error_message, '[0-9]+', '<n>'))),
    `timings` Map(String, Float64) DEFAULT if((type = 'web_vital') AND (vital_name = 'LOAD'), JSONExtract(data, 'breakdown', 'Map(String, Float64)'), map()),
    `initiator` LowCardinality(String) DEFAULT if(type = 'resource', JSONExtractString(data, 'initiator_type'), ''),
    `transfer_size` UInt32 DEFAULT if(type = 'resource', toUInt32(least(JSONExtractUInt(data, 'transfer_size'), 4294967295)), 0),
    `region` LowCardinality(String) DEFAULT '',
    `city` String DEFAULT '',
    `referrer_source` String DEFAULT '',
    `referrer_domain` String DEFAULT '',
    `utm_source` String DEFAULT '',
    `utm_medium` String DEFAULT '',
    `utm_campaign` String DEFAULT '',
    `utm_term` String DEFAULT '',
    `utm_content` String DEFAULT '',
    `click_text` String DEFAULT if(type = 'click', JSONExtractString(data, 'text'), ''),
    `click_href` String DEFAULT if(type = 'click', JSONExtractString(data, 'href'), '') CODEC(ZSTD(1)),
    `platform` LowCardinality(String) DEFAULT 'javascript',
    `level` LowCardinality(String) DEFAULT if(type = 'error', if(JSONExtractString(data, 'level') = '', 'error', JSONExtractString(data, 'level')), ''),
    `logger` String DEFAULT '',
    `server_name` LowCardinality(String) DEFAULT '',
    `transaction` String DEFAULT '' CODEC(ZSTD(1)),
    `api_endpoint` String DEFAULT if(type = 'api_call', concat(if((domain(http_url) IN ('', domain(url))), '', domain(http_url)), arrayStringConcat(arrayMap(segment -> if(match(segment, '^[0-9]+$|^[0-9a-fA-F-]{16,}$'), ':id', segment), splitByChar('/', path(http_url))), '/')), '') CODEC(ZSTD(1)),
    `api_failure` LowCardinality(String) DEFAULT if(type = 'api_call', JSONExtractString(data, 'failure'), ''),
    `error_culprit` String DEFAULT if(type != 'error', '', arrayMap(`top` -> multiIf(`top` != '', concat(if(JSONExtractString(`top`, 'function') = '', '', concat(JSONExtractString(`top`, 'function'), ' (')), if(position(JSONExtractString(`top`, 'filename'), '://') > 0, path(JSONExtractString(`top`, 'filename')), JSONExtractString(`top`, 'filename')), ':', toString(JSONExtractUInt(`top`, 'lineno')), if(JSONExtractString(`top`, 'function') = '', '', ')')), http_url != '', concat(if(http_method = '', '', concat(toString(http_method), ' ')), path(http_url)), ''), [if(arrayExists(frame -> JSONExtractBool(frame, 'in_app'), JSONExtractArrayRaw(data, 'frames')), arrayFirst(frame -> JSONExtractBool(frame, 'in_app'), JSONExtractArrayRaw(data, 'frames')), JSONExtractArrayRaw(data, 'frames')[1])])[1]) CODEC(ZSTD(1)),
    INDEX events_fingerprint fingerprint TYPE bloom_filter GRANULARITY 4,
    INDEX events_session session_id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, type, timestamp, event_id)
SETTINGS index_granularity = 8192;

CREATE TABLE funnels
(
    `project_id` UInt32,
    `name` String,
    `definition` String,
    `deleted` UInt8,
    `updated_at` DateTime64(3, 'UTC'),
    `updated_by` String,
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, name)
SETTINGS index_granularity = 8192;

CREATE TABLE navigation_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `phase` LowCardinality(String),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `bucket` Int16,
    `samples` UInt64,
    `total` Float64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    PROJECTION seals
    (
        SELECT
            project_id,
            hour,
            max(sealed_at)
        GROUP BY
            project_id,
            hour
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, phase, environment, release, bucket)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW navigation_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO navigation_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `phase` String,
    `environment` String,
    `release` String,
    `bucket` Int16,
    `samples` UInt64,
    `total` Float64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM navigation_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    phase,
    environment,
    release,
    if(ms > 0, toInt16(ceil(log(ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples,
    sum(ms) AS total,
    min(ms) AS low,
    max(ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
ARRAY JOIN
    mapKeys(timings) AS phase,
    mapValues(timings) AS ms
WHERE (type = 'web_vital') AND (vital_name = 'LOAD') AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    hour,
    phase,
    environment,
    release,
    bucket
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM navigation_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    hour,
    '',
    '',
    '',
    toInt16(32767),
    0,
    0,
    0,
    0,
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE project_id_claims
(
    `id` UInt32,
    `claim` String,
    `claimed_at` DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY id
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 8192;

CREATE TABLE projects
(
    `id` UInt32,
    `name` String,
    `key` String,
    `origins` Array(String),
    `created_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id
SETTINGS index_granularity = 8192;

CREATE TABLE quality_results
(
    `run_id` UUID,
    `run_at` DateTime64(3, 'UTC'),
    `source` LowCardinality(String),
    `suite` LowCardinality(String),
    `suite_version` UInt32,
    `expectation` LowCardinality(String),
    `expectation_type` LowCardinality(String),
    `column` LowCardinality(String),
    `row_condition` String,
    `success` Bool,
    `batch_rows` UInt64,
    `element_count` UInt64,
    `unexpected_count` UInt64,
    `unexpected_percent` Float64,
    `observed_value` String,
    `unexpected_sample` String CODEC(ZSTD(1)),
    `exception` String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(run_at)
ORDER BY (suite, expectation, run_at)
SETTINGS index_granularity = 8192;

CREATE TABLE refusals_minute
(
    `minute` DateTime('UTC'),
    `project_id` UInt64,
    `transport` LowCardinality(String),
    `reason` LowCardinality(String),
    `unit` LowCardinality(String),
    `refusals` UInt64
)
ENGINE = SummingMergeTree(refusals)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, project_id, transport, reason, unit)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 8192;

CREATE TABLE resource_day
(
    `project_id` UInt32,
    `day` DateTime('UTC'),
    `resource` LowCardinality(String),
    `initiator` LowCardinality(String),
    `measure` LowCardinality(String),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `bucket` Int16,
    `loads` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, resource, initiator, measure, environment, release, bucket)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW resource_day_seal
REFRESH EVERY 1 MINUTE APPEND TO resource_day
(
    `project_id` UInt32,
    `day` DateTime('UTC'),
    `resource` LowCardinality(String),
    `initiator` LowCardinality(String),
    `measure` LowCardinality(String),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `bucket` Int16,
    `loads` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    hours AS
    (
        SELECT
            project_id,
            hour,
            max(sealed_at) AS sealed_at,
            max(touched_at) AS touched_at
        FROM
        (
            SELECT
                project_id,
                hour,
                sealed_at,
                toDateTime64(0, 3, 'UTC') AS touched_at
            FROM resource_hour
            UNION ALL
            SELECT
                project_id,
                hour,
                toDateTime64(0, 3, 'UTC') AS sealed_at,
                touched_at
            FROM audience_hour_touched
        )
        GROUP BY
            project_id,
            hour
    ),
    stale AS
    (
        SELECT
            days.project_id AS project_id,
            days.day AS day,
            days.newest AS sealed_at
        FROM
        (
            SELECT
                project_id,
                toStartOfDay(hour) AS day,
                max(sealed_at) AS newest,
                countIf(touched_at >= sealed_at) AS waiting
            FROM hours
            GROUP BY
                project_id,
                day
            HAVING (waiting = 0) AND (day <= ((now() - toIntervalMinute(65)) - toIntervalHour(23)))
        ) AS days
        LEFT JOIN
        (
            SELECT
                project_id,
                day,
                max(sealed_at) AS sealed_at
            FROM resource_day
            GROUP BY
                project_id,
                day
        ) AS done ON (done.project_id = days.project_id) AND (done.day = days.day)
        WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))
    )
SELECT
    summed.project_id AS project_id,
    summed.day AS day,
    resource,
    initiator,
    measure,
    environment,
    release,
    bucket,
    loads,
    low,
    high,
    stale.sealed_at AS sealed_at
FROM
(
    SELECT
        project_id,
        toStartOfDay(hour) AS day,
        resource,
        initiator,
        measure,
        environment,
        release,
        bucket,
        sum(loads) AS loads,
        min(low) AS low,
        max(high) AS high
    FROM resource_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT
            project_id,
            hour,
            sealed_at
        FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (
            SELECT
                project_id,
                day
            FROM stale
        )
    )
    GROUP BY
        project_id,
        day,
        resource,
        initiator,
        measure,
        environment,
        release,
        bucket
) AS summed
INNER JOIN stale ON (stale.project_id = summed.project_id) AND (stale.day = summed.day);

CREATE TABLE resource_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `resource` LowCardinality(String),
    `initiator` LowCardinality(String),
    `measure` LowCardinality(String),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `bucket` Int16,
    `loads` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    PROJECTION seals
    (
        SELECT
            project_id,
            hour,
            max(sealed_at)
        GROUP BY
            project_id,
            hour
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, resource, initiator, measure, environment, release, bucket)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW resource_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO resource_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `resource` String,
    `initiator` String,
    `measure` String,
    `environment` String,
    `release` String,
    `bucket` Int16,
    `loads` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM resource_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    http_url AS resource,
    initiator,
    measure,
    environment,
    release,
    if(value > 0, toInt16(ceil(log(value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS loads,
    min(value) AS low,
    max(value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
ARRAY JOIN
    ['duration', 'transfer_size'] AS measure,
    [duration_ms, toFloat64(transfer_size)] AS value
WHERE (type = 'resource') AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    hour,
    resource,
    initiator,
    measure,
    environment,
    release,
    bucket
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM resource_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    hour,
    '',
    '',
    '',
    '',
    '',
    toInt16(32767),
    0,
    0,
    0,
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE schema_migrations
(
    `version` UInt32,
    `name` String,
    `checksum` String,
    `applied_at` DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY version
SETTINGS index_granularity = 8192;

CREATE TABLE session_day
(
    `project_id` UInt32,
    `day` DateTime('UTC'),
    `breakdown` LowCardinality(String),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `entry` String,
    `exit` String,
    `source` String,
    `direct` UInt8,
    `utm_source` String,
    `utm_medium` String,
    `utm_campaign` String,
    `bucket` Int16,
    `sessions` UInt64,
    `bounces` UInt64,
    `with_errors` UInt64,
    `pages` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, breakdown, environment, release, entry, exit, source, direct, utm_source, utm_medium, utm_campaign, bucket)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW session_day_seal
REFRESH EVERY 1 MINUTE APPEND TO session_day
(
    `project_id` UInt32,
    `day` DateTime('UTC'),
    `breakdown` String,
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `entry` String,
    `exit` String,
    `source` String,
    `direct` UInt8,
    `utm_source` String,
    `utm_medium` String,
    `utm_campaign` String,
    `bucket` Int16,
    `sessions` UInt64,
    `bounces` UInt64,
    `with_errors` UInt64,
    `pages` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    hours AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.start_hour AS hour,
            touched.own AS own,
            touched.touched_at AS touched_at,
            ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC')) AS sealed_at
        FROM
        (
            SELECT
                project_id,
                hour + toIntervalHour(offset) AS start_hour,
                max(touched_at) AS touched_at,
                countIf(offset = 0) AS own
            FROM audience_hour_touched
            ARRAY JOIN [-2, -1, 0, 1, 2] AS offset
            GROUP BY
                project_id,
                start_hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM sessions
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.start_hour)
    ),
    stale AS
    (
        SELECT
            days.project_id AS project_id,
            days.day AS day,
            days.day_sealed_at AS sealed_at
        FROM
        (
            SELECT
                project_id,
                toStartOfDay(hour) AS day,
                max(touched_at) AS inserted_at,
                greatest(maxIf(sealed_at, own > 0), inserted_at + toIntervalMillisecond(1)) AS day_sealed_at,
                countIf((own > 0) AND (touched_at >= sealed_at)) AS waiting
            FROM hours
            GROUP BY
                project_id,
                day
            HAVING (countIf(own > 0) > 0) AND (waiting = 0) AND (day <= ((now() - toIntervalMinute(185)) - toIntervalHour(23))) AND (inserted_at < (now64(3, 'UTC') - toIntervalSecond(60)))
        ) AS days
        LEFT JOIN
        (
            SELECT
                project_id,
                day,
                max(sealed_at) AS sealed_at
            FROM session_day
            GROUP BY
                project_id,
                day
        ) AS done ON (done.project_id = days.project_id) AND (done.day = days.day)
        WHERE days.inserted_at >= ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))
    )
SELECT
    summed.project_id AS project_id,
    summed.day AS day,
    breakdown,
    environment,
    release,
    entry,
    exit,
    source,
    direct,
    utm_source,
    utm_medium,
    utm_campaign,
    bucket,
    sessions,
    bounces,
    with_errors,
    pages,
    low,
    high,
    stale.sealed_at AS sealed_at
FROM
(
    SELECT
        project_id,
        day,
        multiIf(grouping(entry) = 0, 'entry', grouping(exit) = 0, 'exit', grouping(source) = 0, 'source', grouping(utm_source) = 0, 'campaign', grouping(bucket) = 0, 'duration', '') AS breakdown,
        environment,
        release,
        entry,
        exit,
        source,
        direct,
        utm_source,
        utm_medium,
        utm_campaign,
        bucket,
        countIf(views > 0) AS sessions,
        countIf(views = 1) AS bounces,
        if(breakdown = 'duration', countIf((views > 0) AND (error_events > 0)), 0) AS with_errors,
        if(breakdown = 'duration', sum(views), 0) AS pages,
        if(breakdown = 'duration', minIf(duration, views > 0), 0) AS low,
        if(breakdown = 'duration', maxIf(duration, views > 0), 0) AS high
    FROM
    (
        SELECT
            project_id,
            toStartOfDay(hour) AS day,
            environment,
            release,
            entry,
            exit,
            pages AS views,
            error_events,
            if(entry_source != '', entry_source, if(entry_referrer = '', '', domainWithoutWWW(entry_referrer))) AS source,
            toUInt8((entry_source = '') AND (entry_referrer = '')) AS direct,
            if(entry_source != '', tupleElement(traffic_source, 2), decodeURLFormComponent(extractURLParameter(entry_url, 'utm_source'))) AS utm_source,
            if(entry_source != '', tupleElement(traffic_source, 3), decodeURLFormComponent(extractURLParameter(entry_url, 'utm_medium'))) AS utm_medium,
            if(entry_source != '', tupleElement(traffic_source, 4), decodeURLFormComponent(extractURLParameter(entry_url, 'utm_campaign'))) AS utm_campaign,
            toFloat64(dateDiff('millisecond', started, ended)) AS duration,
            if(duration > 0, toInt16(ceil(log(duration) / log(101 / 99))), toInt16(-32768)) AS bucket
        FROM
        (
            SELECT
                *,
                tupleElement(traffic_source, 1) AS entry_source
            FROM sessions
            WHERE (project_id, hour, sealed_at) IN (
                SELECT
                    project_id,
                    hour,
                    sealed_at
                FROM hours
                WHERE (own > 0) AND ((project_id, toStartOfDay(hour)) IN (
                    SELECT
                        project_id,
                        day
                    FROM stale
                ))
            )
        )
    )
    GROUP BY
        GROUPING SETS (
            (project_id, day),
            (project_id, day, environment, release, entry),
            (project_id, day, environment, release, exit),
            (project_id, day, environment, release, source, direct),
            (project_id, day, environment, release, utm_source, utm_medium, utm_campaign),
            (project_id, day, environment, release, bucket))
    HAVING (breakdown = '') OR ((sessions > 0) AND ((breakdown != 'campaign') OR (utm_source != '') OR (utm_medium != '') OR (utm_campaign != '')))
) AS summed
INNER JOIN stale ON (stale.project_id = summed.project_id) AND (stale.day = summed.day);

CREATE TABLE sessions
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `session_id` String,
    `visitor_id` String,
    `started` DateTime64(3, 'UTC'),
    `ended` DateTime64(3, 'UTC'),
    `pages` UInt64,
    `events` UInt64,
    `error_events` UInt64,
    `entry` String,
    `exit` String,
    `entry_referrer` String,
    `entry_url` String,
    `traffic_source` Tuple(
        String,
        String,
        String,
        String),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `device` LowCardinality(String),
    `browser` LowCardinality(String),
    `country` LowCardinality(String),
    `sealed_at` DateTime64(3, 'UTC'),
    PROJECTION seals
    (
        SELECT
            project_id,
            hour,
            max(sealed_at)
        GROUP BY
            project_id,
            hour
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, session_id)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW sessions_seal
REFRESH EVERY 1 MINUTE APPEND TO sessions
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `session_id` String,
    `visitor_id` String,
    `started` DateTime64(3, 'UTC'),
    `ended` DateTime64(3, 'UTC'),
    `pages` UInt64,
    `events` UInt64,
    `error_events` UInt64,
    `entry` String,
    `exit` String,
    `entry_referrer` String,
    `entry_url` String,
    `traffic_source` Tuple(
        String,
        String,
        String,
        String),
    `environment` String,
    `release` String,
    `device` String,
    `browser` String,
    `country` String,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    sealable AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.start_hour AS start_hour
        FROM
        (
            SELECT
                project_id,
                hour + toIntervalHour(offset) AS start_hour,
                max(touched_at) AS touched_at,
                countIf(offset = 0) AS own
            FROM audience_hour_touched
            ARRAY JOIN [-2, -1, 0, 1, 2] AS offset
            GROUP BY
                project_id,
                start_hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM sessions
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.start_hour)
        WHERE (touched.own > 0) AND (touched.start_hour <= (now() - toIntervalMinute(185))) AND (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    toStartOfHour(started) AS hour,
    session_id,
    visitor_id,
    started,
    ended,
    pages,
    events,
    error_events,
    entry,
    exit,
    entry_referrer,
    entry_url,
    traffic_source,
    environment,
    release,
    device,
    browser,
    country,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM
(
    SELECT
        project_id,
        session_id,
        any(visitor_id) AS visitor_id,
        min(timestamp) AS started,
        max(timestamp) AS ended,
        countIf(type = 'page_view') AS pages,
        count() AS events,
        countIf(type = 'error') AS error_events,
        argMinIf(path, timestamp, type = 'page_view') AS entry,
        argMaxIf(path, timestamp, type = 'page_view') AS exit,
        argMinIf(referrer, timestamp, type = 'page_view') AS entry_referrer,
        argMinIf(url, timestamp, type = 'page_view') AS entry_url,
        argMinIf((referrer_source, utm_source, utm_medium, utm_campaign), timestamp, type = 'page_view') AS traffic_source,
        any(environment) AS environment,
        any(release) AS release,
        any(device) AS device,
        any(browser) AS browser,
        any(country) AS country
    FROM events
    FINAL
    WHERE (project_id, toStartOfHour(timestamp)) IN (
        SELECT
            project_id,
            start_hour + toIntervalHour(offset)
        FROM sealable
        ARRAY JOIN [-2, -1, 0, 1, 2] AS offset
    )
    GROUP BY
        project_id,
        session_id
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
WHERE (project_id, hour) IN (
    SELECT
        project_id,
        start_hour
    FROM sealable
)
UNION ALL
WITH
    sealable AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.start_hour AS start_hour
        FROM
        (
            SELECT
                project_id,
                hour + toIntervalHour(offset) AS start_hour,
                max(touched_at) AS touched_at,
                countIf(offset = 0) AS own
            FROM audience_hour_touched
            ARRAY JOIN [-2, -1, 0, 1, 2] AS offset
            GROUP BY
                project_id,
                start_hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM sessions
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.start_hour)
        WHERE (touched.own > 0) AND (touched.start_hour <= (now() - toIntervalMinute(185))) AND (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    start_hour,
    '',
    '',
    start_hour,
    start_hour,
    0,
    0,
    0,
    '',
    '',
    '',
    '',
    ('', '', '', ''),
    '',
    '',
    '',
    '',
    '',
    now64(3, 'UTC') - toIntervalSecond(60)
FROM sealable;

CREATE TABLE signals_minute
(
    `project_id` UInt32,
    `minute` DateTime('UTC'),
    `events` UInt64,
    `errors` UInt64,
    `error_rate` Float64,
    `api_calls` UInt64,
    `api_failures` UInt64,
    `api_failure_rate` Nullable(Float64),
    `p75_lcp` Nullable(Float64),
    `p75_inp` Nullable(Float64),
    `p75_cls` Nullable(Float64),
    `p75_fcp` Nullable(Float64),
    `p75_ttfb` Nullable(Float64),
    `samples_lcp` UInt64,
    `samples_inp` UInt64,
    `samples_cls` UInt64,
    `samples_fcp` UInt64,
    `samples_ttfb` UInt64,
    `emitted_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(emitted_at)
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute)
SETTINGS index_granularity = 8192;

CREATE TABLE sourcemaps
(
    `project_id` UInt32,
    `release` String,
    `url` String,
    `map` String CODEC(ZSTD(3)),
    `minified` String CODEC(ZSTD(3)),
    `map_bytes` UInt64,
    `sha256` String,
    `uploaded_at` DateTime64(3, 'UTC'),
    `version` UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, release, url)
SETTINGS index_granularity = 8192;

CREATE TABLE time_on_page_day
(
    `project_id` UInt32,
    `day` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `path` String,
    `bucket` Int16,
    `views` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, environment, release, path, bucket)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW time_on_page_day_seal
REFRESH EVERY 1 MINUTE APPEND TO time_on_page_day
(
    `project_id` UInt32,
    `day` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `path` String,
    `bucket` Int16,
    `views` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    hours AS
    (
        SELECT
            project_id,
            hour,
            max(sealed_at) AS sealed_at,
            max(touched_at) AS touched_at
        FROM
        (
            SELECT
                project_id,
                hour,
                sealed_at,
                toDateTime64(0, 3, 'UTC') AS touched_at
            FROM time_on_page_hour
            UNION ALL
            SELECT
                project_id,
                hour,
                toDateTime64(0, 3, 'UTC') AS sealed_at,
                touched_at
            FROM audience_hour_touched
        )
        GROUP BY
            project_id,
            hour
    ),
    stale AS
    (
        SELECT
            days.project_id AS project_id,
            days.day AS day,
            days.newest AS sealed_at
        FROM
        (
            SELECT
                project_id,
                toStartOfDay(hour) AS day,
                max(sealed_at) AS newest,
                countIf(touched_at >= sealed_at) AS waiting
            FROM hours
            GROUP BY
                project_id,
                day
            HAVING (waiting = 0) AND (day <= ((now() - toIntervalMinute(65)) - toIntervalHour(23)))
        ) AS days
        LEFT JOIN
        (
            SELECT
                project_id,
                day,
                max(sealed_at) AS sealed_at
            FROM time_on_page_day
            GROUP BY
                project_id,
                day
        ) AS done ON (done.project_id = days.project_id) AND (done.day = days.day)
        WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))
    )
SELECT
    summed.project_id AS project_id,
    summed.day AS day,
    environment,
    release,
    path,
    bucket,
    views,
    low,
    high,
    stale.sealed_at AS sealed_at
FROM
(
    SELECT
        project_id,
        toStartOfDay(hour) AS day,
        environment,
        release,
        path,
        bucket,
        sum(views) AS views,
        min(low) AS low,
        max(high) AS high
    FROM time_on_page_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT
            project_id,
            hour,
            sealed_at
        FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (
            SELECT
                project_id,
                day
            FROM stale
        )
    )
    GROUP BY
        project_id,
        day,
        environment,
        release,
        path,
        bucket
) AS summed
INNER JOIN stale ON (stale.project_id = summed.project_id) AND (stale.day = summed.day);

CREATE TABLE time_on_page_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `path` String,
    `bucket` Int16,
    `views` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    PROJECTION seals
    (
        SELECT
            project_id,
            hour,
            max(sealed_at)
        GROUP BY
            project_id,
            hour
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release, path, bucket)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW time_on_page_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO time_on_page_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `environment` String,
    `release` String,
    `path` String,
    `bucket` Int16,
    `views` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM time_on_page_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    toStartOfHour(timestamp) AS hour,
    environment,
    release,
    path,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS views,
    min(duration_ms) AS low,
    max(duration_ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
WHERE (type = 'time_on_page') AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    hour,
    environment,
    release,
    path,
    bucket
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM time_on_page_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    hour,
    '',
    '',
    '',
    toInt16(32767),
    0,
    0,
    0,
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE traffic_day
(
    `project_id` UInt32,
    `day` DateTime('UTC'),
    `environment` LowCardinality(String),
    `path` String,
    `page_views` UInt64,
    `visitors` AggregateFunction(uniqCombined64, UInt64),
    `sealed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, environment, path)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW traffic_day_seal
REFRESH EVERY 1 MINUTE APPEND TO traffic_day
(
    `project_id` UInt32,
    `day` DateTime('UTC'),
    `environment` String,
    `path` String,
    `page_views` UInt64,
    `visitors` AggregateFunction(uniqCombined64, UInt64),
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    hours AS
    (
        SELECT
            project_id,
            hour,
            max(sealed_at) AS sealed_at,
            max(touched_at) AS touched_at
        FROM
        (
            SELECT
                project_id,
                hour,
                sealed_at,
                toDateTime64(0, 3, 'UTC') AS touched_at
            FROM traffic_hour
            UNION ALL
            SELECT
                project_id,
                hour,
                toDateTime64(0, 3, 'UTC') AS sealed_at,
                touched_at
            FROM audience_hour_touched
        )
        GROUP BY
            project_id,
            hour
    ),
    stale AS
    (
        SELECT
            days.project_id AS project_id,
            days.day AS day,
            days.newest AS sealed_at
        FROM
        (
            SELECT
                project_id,
                toStartOfDay(hour) AS day,
                max(sealed_at) AS newest,
                countIf(touched_at >= sealed_at) AS waiting
            FROM hours
            GROUP BY
                project_id,
                day
            HAVING (waiting = 0) AND (day <= ((now() - toIntervalMinute(65)) - toIntervalHour(23)))
        ) AS days
        LEFT JOIN
        (
            SELECT
                project_id,
                day,
                max(sealed_at) AS sealed_at
            FROM traffic_day
            GROUP BY
                project_id,
                day
        ) AS done ON (done.project_id = days.project_id) AND (done.day = days.day)
        WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))
    )
SELECT
    summed.project_id AS project_id,
    summed.day AS day,
    environment,
    path,
    page_views,
    visitors,
    stale.sealed_at AS sealed_at
FROM
(
    SELECT
        project_id,
        toStartOfDay(hour) AS day,
        environment,
        path,
        sumIf(events, type = 'page_view') AS page_views,
        uniqCombined64StateArray(visitors) AS visitors
    FROM
    (
        SELECT
            project_id,
            hour,
            environment,
            path,
            type,
            events,
            visitors
        FROM traffic_hour
        WHERE (project_id, hour, sealed_at) IN (
            SELECT
                project_id,
                hour,
                sealed_at
            FROM hours
            WHERE (project_id, toStartOfDay(hour)) IN (
                SELECT
                    project_id,
                    day
                FROM stale
            )
        )
        UNION ALL
        SELECT
            project_id,
            day,
            '',
            '',
            '',
            0,
            CAST([], 'Array(UInt64)')
        FROM stale
    )
    GROUP BY
        project_id,
        day,
        environment,
        path
) AS summed
INNER JOIN stale ON (stale.project_id = summed.project_id) AND (stale.day = summed.day);

CREATE TABLE traffic_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `path` String,
    `type` LowCardinality(String),
    `events` UInt64,
    `visitors` Array(UInt64),
    `sessions` Array(UInt64),
    `sealed_at` DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release, path, type)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW traffic_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO traffic_hour
(
    `project_id` UInt32,
    `hour` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `path` String,
    `type` String,
    `events` UInt64,
    `visitors` Array(UInt64),
    `sessions` Array(UInt64),
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS SELECT
    project_id,
    hour,
    environment,
    release,
    path,
    kind AS type,
    if(kind = '', 0, count()) AS events,
    if(kind = '', groupUniqArray(cityHash64(visitor_id)), []) AS visitors,
    if(kind = '', groupUniqArray(cityHash64(session_id)), []) AS sessions,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM
(
    SELECT
        project_id,
        toStartOfHour(timestamp) AS hour,
        environment,
        release,
        path,
        type,
        visitor_id,
        session_id
    FROM events
    FINAL
    WHERE (project_id, toStartOfHour(timestamp)) IN (
        SELECT
            touched.project_id,
            touched.hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM traffic_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
ARRAY JOIN [toString(type), ''] AS kind
GROUP BY
    project_id,
    hour,
    environment,
    release,
    path,
    kind;

CREATE TABLE vital_target_hour
(
    `project_id` UInt32,
    `vital_name` LowCardinality(String),
    `hour` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `target` String,
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    PROJECTION seals
    (
        SELECT
            project_id,
            hour,
            max(sealed_at)
        GROUP BY
            project_id,
            hour
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, vital_name, hour, environment, release, target, bucket)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW vital_target_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO vital_target_hour
(
    `project_id` UInt32,
    `vital_name` String,
    `hour` DateTime('UTC'),
    `environment` String,
    `release` String,
    `target` String,
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM vital_target_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    vital_name,
    toStartOfHour(timestamp) AS hour,
    environment,
    release,
    target,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples,
    min(vital_value) AS low,
    max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
WHERE (type = 'web_vital') AND (vital_name IN ('LCP', 'INP', 'CLS')) AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    vital_name,
    hour,
    environment,
    release,
    target,
    bucket
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM vital_target_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    '',
    hour,
    '',
    '',
    '',
    toInt16(32767),
    0,
    0,
    0,
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE web_vitals_day
(
    `project_id` UInt32,
    `vital_name` LowCardinality(String),
    `day` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `rating` LowCardinality(String),
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    `path` String ALIAS ''
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, vital_name, environment, release, rating, bucket)
SETTINGS index_granularity = 8192;

CREATE MATERIALIZED VIEW web_vitals_day_seal
REFRESH EVERY 1 MINUTE APPEND TO web_vitals_day
(
    `project_id` UInt32,
    `vital_name` LowCardinality(String),
    `day` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `rating` LowCardinality(String),
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    hours AS
    (
        SELECT
            project_id,
            hour,
            max(sealed_at) AS sealed_at,
            max(touched_at) AS touched_at
        FROM
        (
            SELECT
                project_id,
                hour,
                sealed_at,
                toDateTime64(0, 3, 'UTC') AS touched_at
            FROM web_vitals_hour
            UNION ALL
            SELECT
                project_id,
                hour,
                toDateTime64(0, 3, 'UTC') AS sealed_at,
                touched_at
            FROM audience_hour_touched
        )
        GROUP BY
            project_id,
            hour
    ),
    stale AS
    (
        SELECT
            days.project_id AS project_id,
            days.day AS day,
            days.newest AS sealed_at
        FROM
        (
            SELECT
                project_id,
                toStartOfDay(hour) AS day,
                max(sealed_at) AS newest,
                countIf(touched_at >= sealed_at) AS waiting
            FROM hours
            GROUP BY
                project_id,
                day
            HAVING (waiting = 0) AND (day <= ((now() - toIntervalMinute(65)) - toIntervalHour(23)))
        ) AS days
        LEFT JOIN
        (
            SELECT
                project_id,
                day,
                max(sealed_at) AS sealed_at
            FROM web_vitals_day
            GROUP BY
                project_id,
                day
        ) AS done ON (done.project_id = days.project_id) AND (done.day = days.day)
        WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))
    )
SELECT
    summed.project_id AS project_id,
    vital_name,
    summed.day AS day,
    environment,
    release,
    rating,
    bucket,
    samples,
    low,
    high,
    stale.sealed_at AS sealed_at
FROM
(
    SELECT
        project_id,
        vital_name,
        toStartOfDay(hour) AS day,
        environment,
        release,
        rating,
        bucket,
        sum(samples) AS samples,
        min(low) AS low,
        max(high) AS high
    FROM web_vitals_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT
            project_id,
            hour,
            sealed_at
        FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (
            SELECT
                project_id,
                day
            FROM stale
        )
    )
    GROUP BY
        project_id,
        vital_name,
        day,
        environment,
        release,
        rating,
        bucket
) AS summed
INNER JOIN stale ON (stale.project_id = summed.project_id) AND (stale.day = summed.day);

CREATE TABLE web_vitals_hour
(
    `project_id` UInt32,
    `vital_name` LowCardinality(String),
    `hour` DateTime('UTC'),
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `rating` LowCardinality(String),
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    `path` String ALIAS '',
    PROJECTION seals
    (
        SELECT
            project_id,
            hour,
            max(sealed_at)
        GROUP BY
            project_id,
            hour
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, vital_name, environment, release, rating, bucket)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW web_vitals_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO web_vitals_hour
(
    `project_id` UInt32,
    `vital_name` String,
    `hour` DateTime('UTC'),
    `environment` String,
    `release` String,
    `rating` String,
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM web_vitals_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    vital_name,
    toStartOfHour(timestamp) AS hour,
    environment,
    release,
    vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples,
    min(vital_value) AS low,
    max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
WHERE (type = 'web_vital') AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    vital_name,
    hour,
    environment,
    release,
    rating,
    bucket
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM web_vitals_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    '',
    hour,
    '',
    '',
    '',
    toInt16(32767),
    0,
    0,
    0,
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE TABLE web_vitals_route_day
(
    `project_id` UInt32,
    `vital_name` LowCardinality(String),
    `day` DateTime('UTC'),
    `path` String,
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `rating` LowCardinality(String),
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    PROJECTION seals
    (
        SELECT
            project_id,
            day,
            max(sealed_at)
        GROUP BY
            project_id,
            day
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, vital_name, path, environment, release, rating, bucket)
SETTINGS deduplicate_merge_projection_mode = 'rebuild', index_granularity = 8192;

CREATE MATERIALIZED VIEW web_vitals_route_day_seal
REFRESH EVERY 1 MINUTE APPEND TO web_vitals_route_day
(
    `project_id` UInt32,
    `vital_name` LowCardinality(String),
    `day` DateTime('UTC'),
    `path` String,
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `rating` LowCardinality(String),
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    hours AS
    (
        SELECT
            project_id,
            hour,
            max(sealed_at) AS sealed_at,
            max(touched_at) AS touched_at
        FROM
        (
            SELECT
                project_id,
                hour,
                sealed_at,
                toDateTime64(0, 3, 'UTC') AS touched_at
            FROM web_vitals_route_hour
            UNION ALL
            SELECT
                project_id,
                hour,
                toDateTime64(0, 3, 'UTC') AS sealed_at,
                touched_at
            FROM audience_hour_touched
        )
        GROUP BY
            project_id,
            hour
    ),
    stale AS
    (
        SELECT
            days.project_id AS project_id,
            days.day AS day,
            days.newest AS sealed_at
        FROM
        (
            SELECT
                project_id,
                toStartOfDay(hour) AS day,
                max(sealed_at) AS newest,
                countIf(touched_at >= sealed_at) AS waiting
            FROM hours
            GROUP BY
                project_id,
                day
            HAVING (waiting = 0) AND (day <= ((now() - toIntervalMinute(65)) - toIntervalHour(23)))
        ) AS days
        LEFT JOIN
        (
            SELECT
                project_id,
                day,
                max(sealed_at) AS sealed_at
            FROM web_vitals_route_day
            GROUP BY
                project_id,
                day
        ) AS done ON (done.project_id = days.project_id) AND (done.day = days.day)
        WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))
    )
SELECT
    summed.project_id AS project_id,
    vital_name,
    summed.day AS day,
    path,
    environment,
    release,
    rating,
    bucket,
    samples,
    low,
    high,
    stale.sealed_at AS sealed_at
FROM
(
    SELECT
        project_id,
        vital_name,
        toStartOfDay(hour) AS day,
        path,
        environment,
        release,
        rating,
        bucket,
        sum(samples) AS samples,
        min(low) AS low,
        max(high) AS high
    FROM web_vitals_route_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT
            project_id,
            hour,
            sealed_at
        FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (
            SELECT
                project_id,
                day
            FROM stale
        )
    )
    GROUP BY
        project_id,
        vital_name,
        day,
        path,
        environment,
        release,
        rating,
        bucket
) AS summed
INNER JOIN stale ON (stale.project_id = summed.project_id) AND (stale.day = summed.day);

CREATE TABLE web_vitals_route_hour
(
    `project_id` UInt32,
    `vital_name` LowCardinality(String),
    `hour` DateTime('UTC'),
    `path` String,
    `environment` LowCardinality(String),
    `release` LowCardinality(String),
    `rating` LowCardinality(String),
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC'),
    PROJECTION seals
    (
        SELECT
            project_id,
            hour,
            max(sealed_at)
        GROUP BY
            project_id,
            hour
    )
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, vital_name, hour, path, environment, release, rating, bucket)
SETTINGS index_granularity = 8192, deduplicate_merge_projection_mode = 'rebuild';

CREATE MATERIALIZED VIEW web_vitals_route_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO web_vitals_route_hour
(
    `project_id` UInt32,
    `vital_name` String,
    `hour` DateTime('UTC'),
    `path` String,
    `environment` String,
    `release` String,
    `rating` String,
    `bucket` Int16,
    `samples` UInt64,
    `low` Float64,
    `high` Float64,
    `sealed_at` DateTime64(3, 'UTC')
)
DEFINER = default SQL SECURITY DEFINER
AS WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM web_vitals_route_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    vital_name,
    toStartOfHour(timestamp) AS hour,
    path,
    environment,
    release,
    vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples,
    min(vital_value) AS low,
    max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events
FINAL
WHERE (type = 'web_vital') AND ((project_id, toStartOfHour(timestamp)) IN (
    SELECT
        project_id,
        hour
    FROM stale
))
GROUP BY
    project_id,
    vital_name,
    hour,
    path,
    environment,
    release,
    rating,
    bucket
UNION ALL
WITH
    stale AS
    (
        SELECT
            touched.project_id AS project_id,
            touched.hour AS hour
        FROM
        (
            SELECT
                project_id,
                hour,
                max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= (now() - toIntervalMinute(65))
            GROUP BY
                project_id,
                hour
        ) AS touched
        LEFT JOIN
        (
            SELECT
                project_id,
                hour,
                max(sealed_at) AS sealed_at
            FROM web_vitals_route_hour
            GROUP BY
                project_id,
                hour
        ) AS sealed ON (sealed.project_id = touched.project_id) AND (sealed.hour = touched.hour)
        WHERE (touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))) AND (touched.touched_at < (now64(3, 'UTC') - toIntervalSecond(60)))
    )
SELECT
    project_id,
    '',
    hour,
    '',
    '',
    '',
    '',
    toInt16(32767),
    0,
    0,
    0,
    now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;
