-- Web Vitals over long ranges as sealed days: web_vitals_route_hour (093) keeps ~28k rows an hour for
-- ~58k measurements (8 vitals x 36 paths x 2 environments x 3 releases x the ~16 occupied 1 % buckets
-- of each, per rating), so the breakdown by route over 30 days of 100M events reads 2.5M of its 20.3M
-- rows for one vital (251 ms quiet, 555-708 ms loaded: the Web Vitals page's slowest read). A day
-- holds ~84k keys, 2.5M a month for every vital. web_vitals_hour (090, no path) likewise: 1.9M rows a
-- month, read whole by vital_summary.
--
-- web_vitals_route_day and web_vitals_day are summed from their hourly tables' sealed hours, never from
-- the events, as resource_day (097's header): each one's refreshable view <table>_seal, every minute,
-- takes each closed day none of whose hours waits for a seal and whose newest hourly seal is newer
-- than the day's own, and sums the rows of each of its hours' latest seal; the day's sealed_at is that
-- newest hourly seal, and every seal of a day has one marker row (an empty key, count 0). Same keys as
-- the hourly tables with the day in place of the hour (environment and release are the page's
-- filters); the vital leads after the day (every route read is of one vital). web_vitals_day gets path
-- as an ALIAS of '', as web_vitals_hour, so that rows/vitals_by_day reads either by name. The first
-- refresh, started when a view is created, sums the days sealed so far.

CREATE TABLE IF NOT EXISTS web_vitals_route_day
(
    project_id  UInt32,
    vital_name  LowCardinality(String),
    day         DateTime('UTC'),
    path        String,
    environment LowCardinality(String),
    release     LowCardinality(String),
    rating      LowCardinality(String),
    bucket      Int16,
    samples     UInt64,
    low         Float64,
    high        Float64,
    sealed_at   DateTime64(3, 'UTC'),
    -- each day's latest seal, which every read looks up (rows/sealed_days_of) — 30 rows for a month,
    -- not the month's 2.46M (38-59 -> 9-30 ms on a loaded machine); rebuilt when a merge replaces rows
    PROJECTION seals (SELECT project_id, day, max(sealed_at) GROUP BY project_id, day)
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, vital_name, path, environment, release, rating, bucket)
SETTINGS deduplicate_merge_projection_mode = 'rebuild';

CREATE TABLE IF NOT EXISTS web_vitals_day
(
    project_id  UInt32,
    vital_name  LowCardinality(String),
    day         DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    rating      LowCardinality(String),
    bucket      Int16,
    samples     UInt64,
    low         Float64,
    high        Float64,
    sealed_at   DateTime64(3, 'UTC'),
    path        String ALIAS ''
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, vital_name, environment, release, rating, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_route_day_seal
REFRESH EVERY 1 MINUTE APPEND TO web_vitals_route_day AS
WITH
hours AS
(
    SELECT project_id, hour, max(sealed_at) AS sealed_at, max(touched_at) AS touched_at
    FROM
    (
        SELECT project_id, hour, sealed_at, toDateTime64(0, 3, 'UTC') AS touched_at FROM web_vitals_route_hour
        UNION ALL
        SELECT project_id, hour, toDateTime64(0, 3, 'UTC') AS sealed_at, touched_at FROM audience_hour_touched
    )
    GROUP BY project_id, hour
),
stale AS
(
    SELECT days.project_id AS project_id, days.day AS day, days.newest AS sealed_at
    FROM
    (
        SELECT project_id, toStartOfDay(hour) AS day, max(sealed_at) AS newest,
               countIf(touched_at >= sealed_at) AS waiting
        FROM hours
        GROUP BY project_id, day
        HAVING waiting = 0 AND day <= now() - toIntervalMinute(65) - toIntervalHour(23)
    ) AS days
    LEFT JOIN
    (
        SELECT project_id, day, max(sealed_at) AS sealed_at
        FROM web_vitals_route_day
        GROUP BY project_id, day
    ) AS done ON done.project_id = days.project_id AND done.day = days.day
    WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
)
SELECT summed.project_id AS project_id, vital_name, summed.day AS day, path, environment, release, rating,
       bucket, samples, low, high, stale.sealed_at AS sealed_at
FROM
(
    SELECT project_id, vital_name, toStartOfDay(hour) AS day, path, environment, release, rating, bucket,
           sum(samples) AS samples, min(low) AS low, max(high) AS high
    FROM web_vitals_route_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT project_id, hour, sealed_at FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (SELECT project_id, day FROM stale))
    GROUP BY project_id, vital_name, day, path, environment, release, rating, bucket
) AS summed
INNER JOIN stale ON stale.project_id = summed.project_id AND stale.day = summed.day;

SYSTEM WAIT VIEW web_vitals_route_day_seal;

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_day_seal
REFRESH EVERY 1 MINUTE APPEND TO web_vitals_day AS
WITH
hours AS
(
    SELECT project_id, hour, max(sealed_at) AS sealed_at, max(touched_at) AS touched_at
    FROM
    (
        SELECT project_id, hour, sealed_at, toDateTime64(0, 3, 'UTC') AS touched_at FROM web_vitals_hour
        UNION ALL
        SELECT project_id, hour, toDateTime64(0, 3, 'UTC') AS sealed_at, touched_at FROM audience_hour_touched
    )
    GROUP BY project_id, hour
),
stale AS
(
    SELECT days.project_id AS project_id, days.day AS day, days.newest AS sealed_at
    FROM
    (
        SELECT project_id, toStartOfDay(hour) AS day, max(sealed_at) AS newest,
               countIf(touched_at >= sealed_at) AS waiting
        FROM hours
        GROUP BY project_id, day
        HAVING waiting = 0 AND day <= now() - toIntervalMinute(65) - toIntervalHour(23)
    ) AS days
    LEFT JOIN
    (
        SELECT project_id, day, max(sealed_at) AS sealed_at
        FROM web_vitals_day
        GROUP BY project_id, day
    ) AS done ON done.project_id = days.project_id AND done.day = days.day
    WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
)
SELECT summed.project_id AS project_id, vital_name, summed.day AS day, environment, release, rating,
       bucket, samples, low, high, stale.sealed_at AS sealed_at
FROM
(
    SELECT project_id, vital_name, toStartOfDay(hour) AS day, environment, release, rating, bucket,
           sum(samples) AS samples, min(low) AS low, max(high) AS high
    FROM web_vitals_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT project_id, hour, sealed_at FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (SELECT project_id, day FROM stale))
    GROUP BY project_id, vital_name, day, environment, release, rating, bucket
) AS summed
INNER JOIN stale ON stale.project_id = summed.project_id AND stale.day = summed.day;

SYSTEM WAIT VIEW web_vitals_day_seal;
