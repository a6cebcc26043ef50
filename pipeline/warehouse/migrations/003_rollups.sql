-- Per-minute rollups of the events the dashboards read most: Web Vitals, traffic, error
-- groups and API calls. A materialized view fills each one as events are inserted, so the
-- dashboards aggregate a few small columns instead of the raw table.
--
-- Every rollup is keyed by (project, minute, the dashboard's filter dimensions: environment,
-- release, path, device, browser, country, …) and holds only *idempotent* aggregate states:
--
--   * counts are uniq(event_id) states, not count(): a view sees every insert, also the
--     replay of a batch the processor had already written (at-least-once delivery); a
--     replayed event has the same id, time and dimensions, so it lands in the same key and
--     the same set, and is counted once;
--   * Web Vital and API latency distributions are log-bucketed histograms (DDSketch-style,
--     relative accuracy 1 %: bucket i holds values in (γ^(i-1), γ^i] with γ = 101/99) whose
--     buckets are part of the key and whose counts are uniq(event_id) states, plus the
--     exact min and max of each bucket; percentiles are read from them within 1 % of the
--     exact value (pipeline/warehouse/queries.py), and a duplicate cannot shift them;
--   * first/last seen are min/max, samples are any(): repeating an event changes nothing.
--
-- uniq is exact up to 65,536 distinct ids per key row and minute (then ClickHouse samples,
-- ~1 % error) apart from 32-bit hash collisions; queries read with FINAL so rows of the same
-- key in different parts are merged first, then each row's set is counted and the counts
-- summed. Unique visitors and sessions over a range merge the sets instead (uniq across rows).
--
-- Each view is followed by a backfill of the events already stored; events inserted while
-- the migration runs may reach a rollup twice (view and backfill), which the uniq states
-- absorb.

-- ── Web Vitals ─────────────────────────────────────────────────────────────────────────────
-- rating: pipeline/vitals.py's thresholds (tests/integration/test_rollups.py checks they agree)
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
    bucket          Int16,  -- ceil(log_γ(value)); -32768 holds the zeros (CLS of a page that never shifted)
    samples         AggregateFunction(uniq, String),
    low             SimpleAggregateFunction(min, Float64),
    high            SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, vital_name, minute, environment, release, path, device, browser, country, connection_type,
          rating, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_minute_mv TO web_vitals_minute AS
SELECT
    project_id,
    vital_name,
    toStartOfMinute(timestamp) AS minute,
    environment, release, path, device, browser, country, connection_type,
    multiIf(vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [2500., 200., 0.1, 1800., 800., 3000., 2500.], -1.), 'good',
            vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [4000., 500., 0.25, 3000., 1800., 6000., 5000.], -1.), 'needs-improvement',
            'poor') AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    uniqState(event_id) AS samples,
    min(vital_value) AS low,
    max(vital_value) AS high
FROM events
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, minute, environment, release, path, device, browser, country, connection_type,
         rating, bucket;

INSERT INTO web_vitals_minute
SELECT
    project_id,
    vital_name,
    toStartOfMinute(timestamp) AS minute,
    environment, release, path, device, browser, country, connection_type,
    multiIf(vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [2500., 200., 0.1, 1800., 800., 3000., 2500.], -1.), 'good',
            vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [4000., 500., 0.25, 3000., 1800., 6000., 5000.], -1.), 'needs-improvement',
            'poor') AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    uniqState(event_id) AS samples,
    min(vital_value) AS low,
    max(vital_value) AS high
FROM events FINAL
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, minute, environment, release, path, device, browser, country, connection_type,
         rating, bucket;

-- ── traffic ────────────────────────────────────────────────────────────────────────────────
-- events: distinct event ids per event type (page views are events['page_view']);
-- visitors and sessions: the distinct ids seen, merged across rows for uniques over a range
CREATE TABLE IF NOT EXISTS traffic_minute
(
    project_id  UInt32,
    minute      DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    device      LowCardinality(String),
    browser     LowCardinality(String),
    country     LowCardinality(String),
    events      AggregateFunction(uniqMap, Map(LowCardinality(String), String)),
    visitors    AggregateFunction(uniq, String),
    sessions    AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, environment, release, path, device, browser, country);

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_minute_mv TO traffic_minute AS
SELECT
    project_id,
    toStartOfMinute(timestamp) AS minute,
    environment, release, path, device, browser, country,
    uniqMapState(map(type, event_id)) AS events,
    uniqState(visitor_id) AS visitors,
    uniqState(session_id) AS sessions
FROM events
GROUP BY project_id, minute, environment, release, path, device, browser, country;

INSERT INTO traffic_minute
SELECT
    project_id,
    toStartOfMinute(timestamp) AS minute,
    environment, release, path, device, browser, country,
    uniqMapState(map(type, event_id)) AS events,
    uniqState(visitor_id) AS visitors,
    uniqState(session_id) AS sessions
FROM events FINAL
GROUP BY project_id, minute, environment, release, path, device, browser, country;

-- ── error groups ───────────────────────────────────────────────────────────────────────────
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
    events      AggregateFunction(uniq, String),
    visitors    AggregateFunction(uniq, String),
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
    project_id,
    toStartOfMinute(timestamp) AS minute,
    fingerprint,
    environment, release, path, device, browser, country,
    uniqState(event_id) AS events,
    uniqState(visitor_id) AS visitors,
    any(error_kind) AS kind,
    any(error_type) AS error_type,
    any(error_message) AS message,
    min(timestamp) AS first_seen,
    max(timestamp) AS last_seen
FROM events
WHERE type = 'error'
GROUP BY project_id, minute, fingerprint, environment, release, path, device, browser, country;

INSERT INTO error_groups_minute
SELECT
    project_id,
    toStartOfMinute(timestamp) AS minute,
    fingerprint,
    environment, release, path, device, browser, country,
    uniqState(event_id) AS events,
    uniqState(visitor_id) AS visitors,
    any(error_kind) AS kind,
    any(error_type) AS error_type,
    any(error_message) AS message,
    min(timestamp) AS first_seen,
    max(timestamp) AS last_seen
FROM events FINAL
WHERE type = 'error'
GROUP BY project_id, minute, fingerprint, environment, release, path, device, browser, country;

-- ── API endpoints ──────────────────────────────────────────────────────────────────────────
-- endpoint: the URL's path with id-like segments (all digits, or 16+ hex/dashes) as ":id",
-- prefixed with the host when it is not the page's own; status 0 = no response, and
-- failure says why (network, timeout, abort); latency as the vitals' histogram
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
    calls       AggregateFunction(uniq, String),
    low         SimpleAggregateFunction(min, Float64),
    high        SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, endpoint, method, status, failure, environment, release, path, device, browser, country,
          bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS api_calls_minute_mv TO api_calls_minute AS
SELECT
    project_id,
    toStartOfMinute(timestamp) AS minute,
    environment, release, path, device, browser, country,
    http_method AS method,
    concat(if(domain(http_url) IN ('', domain(url)), '', domain(http_url)),
           arrayStringConcat(arrayMap(segment -> if(match(segment, '^[0-9]+$|^[0-9a-fA-F-]{16,}$'), ':id', segment),
                                      splitByChar('/', path(http_url))), '/')) AS endpoint,
    http_status AS status,
    JSONExtractString(data, 'failure') AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    uniqState(event_id) AS calls,
    min(duration_ms) AS low,
    max(duration_ms) AS high
FROM events
WHERE type = 'api_call'
GROUP BY project_id, minute, environment, release, path, device, browser, country, method, endpoint, status, failure,
         bucket;

INSERT INTO api_calls_minute
SELECT
    project_id,
    toStartOfMinute(timestamp) AS minute,
    environment, release, path, device, browser, country,
    http_method AS method,
    concat(if(domain(http_url) IN ('', domain(url)), '', domain(http_url)),
           arrayStringConcat(arrayMap(segment -> if(match(segment, '^[0-9]+$|^[0-9a-fA-F-]{16,}$'), ':id', segment),
                                      splitByChar('/', path(http_url))), '/')) AS endpoint,
    http_status AS status,
    JSONExtractString(data, 'failure') AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    uniqState(event_id) AS calls,
    min(duration_ms) AS low,
    max(duration_ms) AS high
FROM events FINAL
WHERE type = 'api_call'
GROUP BY project_id, minute, environment, release, path, device, browser, country, method, endpoint, status, failure,
         bucket;
