-- What the SDK blamed for a Web Vital, and time on page, as sealed hours: both read events FINAL
-- over the whole range.
--
-- The Web Vitals page's default Details (per target the SDK blamed for one vital: the LCP element,
-- the INP target, the CLS source; samples and p75) read every raw web_vital of the range (0.8 s at
-- 30 days of 100M events, 42M rows), the Traffic page's time on page (per path views, p50 and p75 of
-- duration_ms) every raw time_on_page event (0.4 s, 6.3M rows). vital_target_hour and
-- time_on_page_hour keep per hour and key a log-bucketed histogram (bucket = ceil(log(v) /
-- log(101/99)) as 090, with each bucket's min and max), sealed the same way (090's header): written
-- only by their refreshable views *_seal, which every minute recompute each closed hour touched
-- since its latest seal from events FINAL; every sealed (project, hour) has one marker row (an
-- empty key, count 0). tiers.pick_source reads them when no filter needs a dimension they lack.
-- vital_target_hour is sorted by vital first: every read is of one vital. It keeps only the vitals
-- the SDKs attribute (LCP element, INP target, CLS source; performance.TARGET_VITALS): the others'
-- target is always '' and were 60 % of its rows on 1M events over 30 days; their attribution reads
-- raw. No rating: the answer rates the p75, not the samples.

CREATE TABLE IF NOT EXISTS vital_target_hour
(
    project_id  UInt32,
    vital_name  LowCardinality(String),
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    target      String,
    bucket      Int16,
    samples     UInt64,
    low         Float64,
    high        Float64,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, vital_name, hour, environment, release, target, bucket);

CREATE TABLE IF NOT EXISTS time_on_page_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    bucket      Int16,
    views       UInt64,
    low         Float64,
    high        Float64,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release, path, bucket);

-- the closed hours stored so far, sealed now (their inserts are older than any in flight)
INSERT INTO vital_target_hour
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release, target,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples, min(vital_value) AS low, max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'web_vital' AND vital_name IN ('LCP', 'INP', 'CLS') AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, vital_name, hour, environment, release, target, bucket
UNION ALL
SELECT project_id, '', hour, '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

INSERT INTO time_on_page_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release, path,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS views, min(duration_ms) AS low, max(duration_ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'time_on_page' AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, hour, environment, release, path, bucket
UNION ALL
SELECT project_id, hour, '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS vital_target_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO vital_target_hour AS
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
        FROM vital_target_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release, target,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples, min(vital_value) AS low, max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'web_vital' AND vital_name IN ('LCP', 'INP', 'CLS') AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, vital_name, hour, environment, release, target, bucket
UNION ALL
SELECT project_id, '', hour, '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS time_on_page_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO time_on_page_hour AS
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
        FROM time_on_page_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release, path,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS views, min(duration_ms) AS low, max(duration_ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'time_on_page' AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, hour, environment, release, path, bucket
UNION ALL
SELECT project_id, hour, '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;
