-- Web Vitals by route as sealed hours: the breakdown by route read events FINAL over the whole range.
--
-- web_vitals_hour (090) has no route, so the Web Vitals page's breakdown by route (shown as the page
-- opens) and any Web Vitals answer filtered by a route read every raw measurement of the range:
-- 3.0 s at 30 days of 100M events, where the other Web Vitals answers read sealed hours in
-- 150–300 ms. web_vitals_route_hour is web_vitals_hour with the page's path (the shop has ~35) in
-- its key, sealed the same way (090's header): written only by its refreshable view
-- web_vitals_route_hour_seal, which every minute recomputes each closed hour touched since its latest
-- seal from events FINAL; every sealed (project, hour) has one marker row (an empty key, count 0).
-- tiers.pick_source reads it when an answer needs the route and nothing else it lacks (device,
-- browser, country, connection); web_vitals_hour stays the source of everything else (35x fewer rows).
-- Sorted by vital first (every route read is of one vital): LCP by route over 30 days of 3M events
-- 70 -> 58 ms against the hour first, the same at 1 h and 24 h.
-- So that one statement (rows/vitals.sql) reads either table by name, web_vitals_hour gets path as
-- an ALIAS of '': no storage, never written.

CREATE TABLE IF NOT EXISTS web_vitals_route_hour
(
    project_id  UInt32,
    vital_name  LowCardinality(String),
    hour        DateTime('UTC'),
    path        String,
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
ORDER BY (project_id, vital_name, hour, path, environment, release, rating, bucket);

ALTER TABLE web_vitals_hour ADD COLUMN IF NOT EXISTS path String ALIAS '';

-- the closed hours stored so far, sealed now (their inserts are older than any in flight)
INSERT INTO web_vitals_route_hour
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, path, environment, release, vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples, min(vital_value) AS low, max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'web_vital' AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, vital_name, hour, path, environment, release, rating, bucket
UNION ALL
SELECT project_id, '', hour, '', '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_route_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO web_vitals_route_hour AS
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
        FROM web_vitals_route_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, path, environment, release, vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    count() AS samples, min(vital_value) AS low, max(vital_value) AS high,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'web_vital' AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, vital_name, hour, path, environment, release, rating, bucket
UNION ALL
SELECT project_id, '', hour, '', '', '', '', toInt16(32767), 0, 0, 0, now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;
