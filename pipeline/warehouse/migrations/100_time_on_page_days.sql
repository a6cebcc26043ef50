-- Time on page over long ranges as sealed days, summed from time_on_page_hour's sealed hours as 097's
-- resource_day is from resource_hour's (097's header says how a day is sealed and when a read takes
-- it). time_on_page_hour (096) keeps ~4.9k rows an hour (36 paths x ~140 occupied duration buckets,
-- per environment and release): 30 days of 100M events are 3.5M hourly rows for 6.3M views, and
-- time_on_page read them in ~0.2 s quiet (0.4–0.7 s of server CPU under load). A day holds ~15k of those
-- keys: 30 days read ~0.44M day rows and the edge hours. Same key as time_on_page_hour with the day
-- in place of the hour (the Traffic page filters by environment, release and route); device,
-- browser and country read raw (tiers.HOURLY_LACKS). The days sealed so far are summed by the view's
-- first refresh, which ClickHouse starts when the view is created: the migration waits for it.
--
-- The most clicked elements have no day table: their cost at 30 days is uniqCombined64 over the
-- visitor hashes, and a day's set of an element holds as many as its hours' sets (5.55M against
-- 5.63M a month: a visitor clicks an element in one hour of a day); uniqCombined64 states by day
-- merged slower than the arrays are counted (bench: docs/benchmarks.md, 2026-12-07).

CREATE TABLE IF NOT EXISTS time_on_page_day
(
    project_id  UInt32,
    day         DateTime('UTC'),
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
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, environment, release, path, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS time_on_page_day_seal
REFRESH EVERY 1 MINUTE APPEND TO time_on_page_day AS
WITH
hours AS
(
    SELECT project_id, hour, max(sealed_at) AS sealed_at, max(touched_at) AS touched_at
    FROM
    (
        SELECT project_id, hour, sealed_at, toDateTime64(0, 3, 'UTC') AS touched_at FROM time_on_page_hour
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
        FROM time_on_page_day
        GROUP BY project_id, day
    ) AS done ON done.project_id = days.project_id AND done.day = days.day
    WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
)
SELECT summed.project_id AS project_id, summed.day AS day, environment, release, path, bucket, views, low, high,
       stale.sealed_at AS sealed_at
FROM
(
    SELECT project_id, toStartOfDay(hour) AS day, environment, release, path, bucket,
           sum(views) AS views, min(low) AS low, max(high) AS high
    FROM time_on_page_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT project_id, hour, sealed_at FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (SELECT project_id, day FROM stale))
    GROUP BY project_id, day, environment, release, path, bucket
) AS summed
INNER JOIN stale ON stale.project_id = summed.project_id AND stale.day = summed.day;

SYSTEM WAIT VIEW time_on_page_day_seal;
