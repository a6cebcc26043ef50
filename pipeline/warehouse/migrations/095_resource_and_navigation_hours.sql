-- Slowest resources and navigation timing as sealed hours: the Web Vitals page's two "Details"
-- drill-downs read every raw event of the range (30 days of 100M events: slowest_resources 1.5 s over
-- 30M resource loads, navigation_timing 1.3 s over 6.3M page loads x 7 phases).
--
-- Both are sealed as 090's families are (its header): written only by their refreshable views
-- <table>_seal, which every minute recompute each closed hour touched since its latest seal from
-- events FINAL; every sealed (project, hour) has one marker row (an empty key, count 0); the closed
-- hours stored so far are sealed here. Percentiles come from log buckets (ceil(log(v)/log(101/99)),
-- zeros in bucket -32768, with each bucket's low/high) on both the sealed and the raw path.
--
-- resource_hour: per resource URL and initiator, two histograms as rows of two kinds (`measure`):
-- the load's duration (p50, p75) and its transfer size (the median). A size of its own kind and not
-- a second bucket beside the duration's: a product image's size varies per load (and cached loads
-- are 0), so the pairs would multiply the rows; as rows of their own the sizes add their distinct
-- buckets only (a script's one size is one row per hour, exact through its low/high). Sorted by hour
-- after the project: every read takes every resource of the sealed hours. The URL is LowCardinality:
-- a site loads tens to thousands of distinct resources, and every read groups by it.
-- navigation_hour: per Navigation Timing phase (the LOAD measurements' `timings` map), its histogram
-- and each bucket's sum of milliseconds, so the mean stays exact (sum / samples).
-- Neither keeps the page's path, device, browser or country (tiers.HOURLY_LACKS: those read raw).

CREATE TABLE IF NOT EXISTS resource_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    resource    LowCardinality(String),
    initiator   LowCardinality(String),
    measure     LowCardinality(String),
    environment LowCardinality(String),
    release     LowCardinality(String),
    bucket      Int16,
    loads       UInt64,
    low         Float64,
    high        Float64,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, resource, initiator, measure, environment, release, bucket);

CREATE TABLE IF NOT EXISTS navigation_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    phase       LowCardinality(String),
    environment LowCardinality(String),
    release     LowCardinality(String),
    bucket      Int16,
    samples     UInt64,
    total       Float64,
    low         Float64,
    high        Float64,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, phase, environment, release, bucket);

-- the closed hours stored so far, sealed now (their inserts are older than any in flight)
INSERT INTO resource_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, http_url AS resource, initiator, measure, environment, release,
    if(value > 0, toInt16(ceil(log(value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS loads, min(value) AS low, max(value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
ARRAY JOIN ['duration', 'transfer_size'] AS measure, [duration_ms, toFloat64(transfer_size)] AS value
WHERE type = 'resource' AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, hour, resource, initiator, measure, environment, release, bucket
UNION ALL
SELECT project_id, hour, '', '', '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

INSERT INTO navigation_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, phase, environment, release,
    if(ms > 0, toInt16(ceil(log(ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples, sum(ms) AS total, min(ms) AS low, max(ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
ARRAY JOIN mapKeys(timings) AS phase, mapValues(timings) AS ms
WHERE type = 'web_vital' AND vital_name = 'LOAD' AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, hour, phase, environment, release, bucket
UNION ALL
SELECT project_id, hour, '', '', '', toInt16(32767), 0, 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS resource_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO resource_hour AS
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
        FROM resource_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, toStartOfHour(timestamp) AS hour, http_url AS resource, initiator, measure, environment, release,
    if(value > 0, toInt16(ceil(log(value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS loads, min(value) AS low, max(value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
ARRAY JOIN ['duration', 'transfer_size'] AS measure, [duration_ms, toFloat64(transfer_size)] AS value
WHERE type = 'resource' AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, hour, resource, initiator, measure, environment, release, bucket
UNION ALL
SELECT project_id, hour, '', '', '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS navigation_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO navigation_hour AS
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
        FROM navigation_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, toStartOfHour(timestamp) AS hour, phase, environment, release,
    if(ms > 0, toInt16(ceil(log(ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples, sum(ms) AS total, min(ms) AS low, max(ms) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
ARRAY JOIN mapKeys(timings) AS phase, mapValues(timings) AS ms
WHERE type = 'web_vital' AND vital_name = 'LOAD'
  AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, hour, phase, environment, release, bucket
UNION ALL
SELECT project_id, hour, '', '', '', toInt16(32767), 0, 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;
