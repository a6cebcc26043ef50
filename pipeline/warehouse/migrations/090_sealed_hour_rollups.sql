-- Web Vitals and API calls rollups as sealed hours: counts recomputed from the raw events.
--
-- 003/007/008 kept, per minute (every dimension) and per hour, a set of 64-bit event-id hashes
-- per key so that a replayed insert could not count twice; at 10M events those sets made the
-- rollups 1.5x the events table, and every read grew with the events (issue 16). events itself
-- is a ReplacingMergeTree by event_id: read with FINAL, a replay or a client's resend is one row.
-- So, as 073 does for the audience counts, a closed hour is recomputed from events FINAL and its
-- plain counts written down:
-- - <family>_hour: ReplacingMergeTree(sealed_at), one row per key and seal; `samples` / `calls`
--   are counts of the key's events, `bucket` the log bucket ceil(log(v)/log(101/99)) of the value
--   (exact p75 from buckets as before), low/high the bucket's extremes. All rows of one seal carry
--   the seal's sealed_at (its start minus 60 s), and every sealed (project, hour) has one marker
--   row (an empty key, count 0) so an hour without such events is sealed too.
-- - <family>_hour_seal: a refreshable view that every minute recomputes each closed hour
--   (ended 65+ minutes ago) touched (audience_hour_touched, 073) since its latest seal and last
--   touched more than 60 s before this seal.
-- A query takes a sealed hour's rows of its latest seal only while that seal is newer than the
-- hour's latest insert (pipeline/queries/sql/rows/sealed_hours_of.sql); every other part of a range
-- (live or unsealed hours, the minutes at its edges) it reads from events FINAL. A late or replayed
-- event touches its hour: read raw until the next seal recomputes it (a replay changes nothing).
-- The per-minute tables and the insert-time views go: the only view left on events is 073's light
-- audience_hour_touched_mv.

DROP VIEW IF EXISTS web_vitals_minute_mv;
DROP VIEW IF EXISTS web_vitals_hour_mv;
DROP TABLE IF EXISTS web_vitals_minute;
DROP TABLE IF EXISTS web_vitals_hour;

CREATE TABLE IF NOT EXISTS web_vitals_hour
(
    project_id  UInt32,
    vital_name  LowCardinality(String),
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    rating      LowCardinality(String),
    bucket      Int16,
    samples     UInt64,
    low         Float64,
    high        Float64,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, vital_name, environment, release, rating, bucket);

-- the closed hours stored so far, sealed now (their inserts are older than any in flight)
INSERT INTO web_vitals_hour
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release, vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples, min(vital_value) AS low, max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'web_vital' AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, vital_name, hour, environment, release, rating, bucket
UNION ALL
SELECT project_id, '', hour, '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO web_vitals_hour AS
WITH stale AS
(
    SELECT touched.project_id AS project_id, touched.hour AS hour
    FROM (
        SELECT project_id, hour, max(touched_at) AS touched_at
        FROM audience_hour_touched
        WHERE hour <= now() - toIntervalMinute(65)
        GROUP BY project_id, hour
    ) AS touched
    LEFT JOIN (
        SELECT project_id, hour, max(sealed_at) AS sealed_at
        FROM web_vitals_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release, vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples, min(vital_value) AS low, max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'web_vital' AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, vital_name, hour, environment, release, rating, bucket
UNION ALL
SELECT project_id, '', hour, '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

-- what the API rows group by, computed once at insert (as 006 did for timings) instead of on every
-- read of the raw calls: the endpoint (the call's host if not the page's, then its path with ids
-- as :id) and the failure the SDK reported. Parts stored before compute them when read.
ALTER TABLE events ADD COLUMN IF NOT EXISTS api_endpoint String DEFAULT if(type = 'api_call',
    concat(if(domain(http_url) IN ('', domain(url)), '', domain(http_url)),
           arrayStringConcat(arrayMap(segment -> if(match(segment, '^[0-9]+$|^[0-9a-fA-F-]{16,}$'), ':id', segment),
                                      splitByChar('/', path(http_url))), '/')), '') CODEC(ZSTD(1));
ALTER TABLE events ADD COLUMN IF NOT EXISTS api_failure LowCardinality(String) DEFAULT if(type = 'api_call',
    JSONExtractString(data, 'failure'), '');

DROP VIEW IF EXISTS api_calls_minute_mv;
DROP VIEW IF EXISTS api_calls_hour_mv;
DROP TABLE IF EXISTS api_calls_minute;
DROP TABLE IF EXISTS api_calls_hour;

CREATE TABLE IF NOT EXISTS api_calls_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    method      LowCardinality(String),
    endpoint    String,
    status      UInt16,
    failure     LowCardinality(String),
    bucket      Int16,
    calls       UInt64,
    low         Float64,
    high        Float64,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, endpoint, method, status, failure, environment, release, bucket);

INSERT INTO api_calls_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release, http_method AS method,
    api_endpoint AS endpoint, http_status AS status, api_failure AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS calls, min(duration_ms) AS low, max(duration_ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'api_call' AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, hour, environment, release, method, endpoint, status, failure, bucket
UNION ALL
SELECT project_id, hour, '', '', '', '', 0, '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS api_calls_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO api_calls_hour AS
WITH stale AS
(
    SELECT touched.project_id AS project_id, touched.hour AS hour
    FROM (
        SELECT project_id, hour, max(touched_at) AS touched_at
        FROM audience_hour_touched
        WHERE hour <= now() - toIntervalMinute(65)
        GROUP BY project_id, hour
    ) AS touched
    LEFT JOIN (
        SELECT project_id, hour, max(sealed_at) AS sealed_at
        FROM api_calls_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release, http_method AS method,
    api_endpoint AS endpoint, http_status AS status, api_failure AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS calls, min(duration_ms) AS low, max(duration_ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'api_call' AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, hour, environment, release, method, endpoint, status, failure, bucket
UNION ALL
SELECT project_id, hour, '', '', '', '', 0, '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;
