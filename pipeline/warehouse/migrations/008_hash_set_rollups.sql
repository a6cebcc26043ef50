-- The rollups' idempotent counting, made cheap to read: sets of 64-bit event-id hashes.
--
-- 003 and 007 counted with uniq(event_id) states. They are exact and a replayed insert cannot
-- inflate them, but every state must be deserialized into a hash table to be counted: on a
-- week of 10M events (bench/warehouse.py) summing them took 0.7–1 s per query, slower than a
-- scan of the raw table. Here each count is a plain Array(UInt64) of cityHash64(event_id) kept
-- as SimpleAggregateFunction(groupUniqArrayArray): merging two rows of a key unions their
-- arrays (a duplicate is stored once), and a count is length(array), which ClickHouse reads
-- from the array's sizes alone — the same week counts in ~40 ms. Unique visitors and sessions
-- are the union of their hash arrays (length(groupUniqArrayArray(…))): exact too, where uniq
-- was exact only up to 65,536 per key. The price is 8 bytes per event and key in the rollups.
--
-- Every rollup is dropped and rebuilt with the same keys, then backfilled from the events.

DROP VIEW IF EXISTS web_vitals_minute_mv;
DROP TABLE IF EXISTS web_vitals_minute;
DROP VIEW IF EXISTS web_vitals_hour_mv;
DROP TABLE IF EXISTS web_vitals_hour;
DROP VIEW IF EXISTS traffic_minute_mv;
DROP TABLE IF EXISTS traffic_minute;
DROP VIEW IF EXISTS traffic_hour_mv;
DROP TABLE IF EXISTS traffic_hour;
DROP VIEW IF EXISTS error_groups_minute_mv;
DROP TABLE IF EXISTS error_groups_minute;
DROP VIEW IF EXISTS api_calls_minute_mv;
DROP TABLE IF EXISTS api_calls_minute;
DROP VIEW IF EXISTS sessions_mv;
DROP TABLE IF EXISTS sessions;

-- ── web_vitals_minute ──
CREATE TABLE IF NOT EXISTS web_vitals_minute
(
    project_id      UInt32,
    vital_name      LowCardinality(String),
    minute          DateTime('UTC'),
    environment     LowCardinality(String),
    release         LowCardinality(String),
    path            String,
    device          LowCardinality(String),
    browser         LowCardinality(String),
    country         LowCardinality(String),
    connection_type LowCardinality(String),
    rating          LowCardinality(String),
    bucket          Int16,
    samples         SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    low             SimpleAggregateFunction(min, Float64),
    high            SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, vital_name, minute, environment, release, path, device, browser, country, connection_type, rating, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_minute_mv TO web_vitals_minute AS
SELECT
    project_id, vital_name, toStartOfMinute(timestamp) AS minute, environment, release, path, device, browser, country, connection_type,
    multiIf(vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [2500., 200., 0.1, 1800., 800., 3000., 2500.], -1.), 'good',
            vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [4000., 500., 0.25, 3000., 1800., 6000., 5000.], -1.), 'needs-improvement',
            'poor') AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, minute, environment, release, path, device, browser, country, connection_type, rating, bucket;

INSERT INTO web_vitals_minute
SELECT
    project_id, vital_name, toStartOfMinute(timestamp) AS minute, environment, release, path, device, browser, country, connection_type,
    multiIf(vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [2500., 200., 0.1, 1800., 800., 3000., 2500.], -1.), 'good',
            vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [4000., 500., 0.25, 3000., 1800., 6000., 5000.], -1.), 'needs-improvement',
            'poor') AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events FINAL
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, minute, environment, release, path, device, browser, country, connection_type, rating, bucket;

-- ── web_vitals_hour ──
CREATE TABLE IF NOT EXISTS web_vitals_hour
(
    project_id      UInt32,
    vital_name      LowCardinality(String),
    hour            DateTime('UTC'),
    environment     LowCardinality(String),
    release         LowCardinality(String),
    rating          LowCardinality(String),
    bucket          Int16,
    samples         SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    low             SimpleAggregateFunction(min, Float64),
    high            SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, vital_name, hour, environment, release, rating, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_hour_mv TO web_vitals_hour AS
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release,
    multiIf(vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [2500., 200., 0.1, 1800., 800., 3000., 2500.], -1.), 'good',
            vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [4000., 500., 0.25, 3000., 1800., 6000., 5000.], -1.), 'needs-improvement',
            'poor') AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, hour, environment, release, rating, bucket;

INSERT INTO web_vitals_hour
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release,
    multiIf(vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [2500., 200., 0.1, 1800., 800., 3000., 2500.], -1.), 'good',
            vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [4000., 500., 0.25, 3000., 1800., 6000., 5000.], -1.), 'needs-improvement',
            'poor') AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events FINAL
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, hour, environment, release, rating, bucket;

-- ── traffic_minute ──
CREATE TABLE IF NOT EXISTS traffic_minute
(
    project_id  UInt32,
    minute      DateTime('UTC'),
    type        LowCardinality(String),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    device      LowCardinality(String),
    browser     LowCardinality(String),
    country     LowCardinality(String),
    events      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    visitors    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    sessions    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, type, environment, release, path, device, browser, country);

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_minute_mv TO traffic_minute AS
SELECT
    project_id, toStartOfMinute(timestamp) AS minute, type, environment, release, path, device, browser, country,
    groupUniqArray(cityHash64(event_id)) AS events, groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions
FROM events
GROUP BY project_id, minute, type, environment, release, path, device, browser, country;

INSERT INTO traffic_minute
SELECT
    project_id, toStartOfMinute(timestamp) AS minute, type, environment, release, path, device, browser, country,
    groupUniqArray(cityHash64(event_id)) AS events, groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
GROUP BY project_id, minute, type, environment, release, path, device, browser, country;

-- ── traffic_hour ──
CREATE TABLE IF NOT EXISTS traffic_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    type        LowCardinality(String),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    events      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    visitors    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    sessions    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, type, environment, release, path);

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_hour_mv TO traffic_hour AS
SELECT
    project_id, toStartOfHour(timestamp) AS hour, type, environment, release, path,
    groupUniqArray(cityHash64(event_id)) AS events, groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions
FROM events
GROUP BY project_id, hour, type, environment, release, path;

INSERT INTO traffic_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, type, environment, release, path,
    groupUniqArray(cityHash64(event_id)) AS events, groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
GROUP BY project_id, hour, type, environment, release, path;

-- ── error_groups_minute ──
CREATE TABLE IF NOT EXISTS error_groups_minute
(
    project_id  UInt32,
    minute      DateTime('UTC'),
    fingerprint UInt64,
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    device      LowCardinality(String),
    browser     LowCardinality(String),
    country     LowCardinality(String),
    events      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    visitors    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    kind        SimpleAggregateFunction(any, LowCardinality(String)),
    error_type  SimpleAggregateFunction(any, String),
    message     SimpleAggregateFunction(any, String),
    first_seen  SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen   SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, fingerprint, environment, release, path, device, browser, country);

CREATE MATERIALIZED VIEW IF NOT EXISTS error_groups_minute_mv TO error_groups_minute AS
SELECT
    project_id, toStartOfMinute(timestamp) AS minute, fingerprint,
    environment, release, path, device, browser, country,
    groupUniqArray(cityHash64(event_id)) AS events, groupUniqArray(cityHash64(visitor_id)) AS visitors,
    any(error_kind) AS kind, any(error_type) AS error_type, any(error_message) AS message,
    min(timestamp) AS first_seen, max(timestamp) AS last_seen
FROM events
WHERE type = 'error'
GROUP BY project_id, minute, fingerprint, environment, release, path, device, browser, country;

INSERT INTO error_groups_minute
SELECT
    project_id, toStartOfMinute(timestamp) AS minute, fingerprint,
    environment, release, path, device, browser, country,
    groupUniqArray(cityHash64(event_id)) AS events, groupUniqArray(cityHash64(visitor_id)) AS visitors,
    any(error_kind) AS kind, any(error_type) AS error_type, any(error_message) AS message,
    min(timestamp) AS first_seen, max(timestamp) AS last_seen
FROM events FINAL
WHERE type = 'error'
GROUP BY project_id, minute, fingerprint, environment, release, path, device, browser, country;

-- ── api_calls_minute ──
CREATE TABLE IF NOT EXISTS api_calls_minute
(
    project_id  UInt32,
    minute      DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    device      LowCardinality(String),
    browser     LowCardinality(String),
    country     LowCardinality(String),
    method      LowCardinality(String),
    endpoint    String,
    status      UInt16,
    failure     LowCardinality(String),
    bucket      Int16,
    calls       SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    low         SimpleAggregateFunction(min, Float64),
    high        SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, endpoint, method, status, failure, environment, release, path, device, browser, country,
          bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS api_calls_minute_mv TO api_calls_minute AS
SELECT
    project_id, toStartOfMinute(timestamp) AS minute,
    environment, release, path, device, browser, country,
    http_method AS method,
    concat(if(domain(http_url) IN ('', domain(url)), '', domain(http_url)),
           arrayStringConcat(arrayMap(segment -> if(match(segment, '^[0-9]+$|^[0-9a-fA-F-]{16,}$'), ':id', segment),
                                      splitByChar('/', path(http_url))), '/')) AS endpoint,
    http_status AS status,
    JSONExtractString(data, 'failure') AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS calls, min(duration_ms) AS low, max(duration_ms) AS high
FROM events
WHERE type = 'api_call'
GROUP BY project_id, minute, environment, release, path, device, browser, country, method, endpoint, status, failure, bucket;

INSERT INTO api_calls_minute
SELECT
    project_id, toStartOfMinute(timestamp) AS minute,
    environment, release, path, device, browser, country,
    http_method AS method,
    concat(if(domain(http_url) IN ('', domain(url)), '', domain(http_url)),
           arrayStringConcat(arrayMap(segment -> if(match(segment, '^[0-9]+$|^[0-9a-fA-F-]{16,}$'), ':id', segment),
                                      splitByChar('/', path(http_url))), '/')) AS endpoint,
    http_status AS status,
    JSONExtractString(data, 'failure') AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS calls, min(duration_ms) AS low, max(duration_ms) AS high
FROM events FINAL
WHERE type = 'api_call'
GROUP BY project_id, minute, environment, release, path, device, browser, country, method, endpoint, status, failure, bucket;

-- ── sessions ──
CREATE TABLE IF NOT EXISTS sessions
(
    project_id     UInt32,
    session_id     String,
    visitor_id     SimpleAggregateFunction(any, String),
    started        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    ended          SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    page_views     SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    events         SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    errors         SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    entry_page     AggregateFunction(argMinIf, String, DateTime64(3, 'UTC'), UInt8),
    exit_page      AggregateFunction(argMaxIf, String, DateTime64(3, 'UTC'), UInt8),
    entry_referrer AggregateFunction(argMinIf, String, DateTime64(3, 'UTC'), UInt8),
    entry_url      AggregateFunction(argMinIf, String, DateTime64(3, 'UTC'), UInt8),
    environment    SimpleAggregateFunction(any, LowCardinality(String)),
    release        SimpleAggregateFunction(any, LowCardinality(String)),
    device         SimpleAggregateFunction(any, LowCardinality(String)),
    browser        SimpleAggregateFunction(any, LowCardinality(String)),
    country        SimpleAggregateFunction(any, LowCardinality(String))
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, session_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS sessions_mv TO sessions AS
SELECT
    project_id,
    session_id,
    any(visitor_id) AS visitor_id,
    min(timestamp) AS started,
    max(timestamp) AS ended,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArrayIf(cityHash64(event_id), type = 'error') AS errors,
    argMinIfState(path, timestamp, type = 'page_view') AS entry_page,
    argMaxIfState(path, timestamp, type = 'page_view') AS exit_page,
    argMinIfState(referrer, timestamp, type = 'page_view') AS entry_referrer,
    argMinIfState(url, timestamp, type = 'page_view') AS entry_url,
    any(environment) AS environment,
    any(release) AS release,
    any(device) AS device,
    any(browser) AS browser,
    any(country) AS country
FROM events
GROUP BY project_id, session_id;

INSERT INTO sessions
SELECT
    project_id,
    session_id,
    any(visitor_id) AS visitor_id,
    min(timestamp) AS started,
    max(timestamp) AS ended,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArrayIf(cityHash64(event_id), type = 'error') AS errors,
    argMinIfState(path, timestamp, type = 'page_view') AS entry_page,
    argMaxIfState(path, timestamp, type = 'page_view') AS exit_page,
    argMinIfState(referrer, timestamp, type = 'page_view') AS entry_referrer,
    argMinIfState(url, timestamp, type = 'page_view') AS entry_url,
    any(environment) AS environment,
    any(release) AS release,
    any(device) AS device,
    any(browser) AS browser,
    any(country) AS country
FROM events FINAL
GROUP BY project_id, session_id;
