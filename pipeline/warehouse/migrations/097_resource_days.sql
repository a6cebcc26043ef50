-- Slowest resources over long ranges as sealed days: resource_hour (095) keeps ~26k rows an hour
-- (67 URLs x initiator x release x measure x ~240 occupied duration or size buckets) for ~42k loads,
-- so 30 days of 100M events read 18.8M hourly rows, as many as the raw read (1.5 s either way). A day
-- holds ~46k of those keys: 30 days read ~1.4M day rows and the edge hours.
--
-- resource_day is summed from resource_hour's sealed hours, never from the events: its refreshable
-- view resource_day_seal, every minute, takes each closed day (its last hour sealable) none of whose
-- hours is waiting for a seal (touched since its latest seal, or never sealed), whose newest hourly
-- seal is newer than the day's own, and sums the rows of each of its hours' latest seal. A day's
-- sealed_at is that newest hourly seal: a read takes a day only when the same hours are sealed now
-- (its sealed_at is the newest seal among the range's sealed hours of that day, and none of its
-- touched hours waits for a seal: rows/sealed_days_of), and reads its rows of that seal only. Every
-- seal of a day has one marker row (the hours' markers summed: an empty key, count 0). Same key as
-- resource_hour with the day in place of the hour; environment and release kept (the page filters).

CREATE TABLE IF NOT EXISTS resource_day
(
    project_id  UInt32,
    day         DateTime('UTC'),
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
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, resource, initiator, measure, environment, release, bucket);

-- the closed days sealed so far, summed now (the same statement as the view's)
INSERT INTO resource_day
WITH
hours AS
(
    SELECT project_id, hour, max(sealed_at) AS sealed_at, max(touched_at) AS touched_at
    FROM
    (
        SELECT project_id, hour, sealed_at, toDateTime64(0, 3, 'UTC') AS touched_at FROM resource_hour
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
        FROM resource_day
        GROUP BY project_id, day
    ) AS done ON done.project_id = days.project_id AND done.day = days.day
    WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
)
SELECT summed.project_id, summed.day, resource, initiator, measure, environment, release, bucket, loads, low, high,
       stale.sealed_at
FROM
(
    SELECT project_id, toStartOfDay(hour) AS day, resource, initiator, measure, environment, release, bucket,
           sum(loads) AS loads, min(low) AS low, max(high) AS high
    FROM resource_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT project_id, hour, sealed_at FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (SELECT project_id, day FROM stale))
    GROUP BY project_id, day, resource, initiator, measure, environment, release, bucket
) AS summed
INNER JOIN stale ON stale.project_id = summed.project_id AND stale.day = summed.day;

CREATE MATERIALIZED VIEW IF NOT EXISTS resource_day_seal
REFRESH EVERY 1 MINUTE APPEND TO resource_day AS
WITH
hours AS
(
    SELECT project_id, hour, max(sealed_at) AS sealed_at, max(touched_at) AS touched_at
    FROM
    (
        SELECT project_id, hour, sealed_at, toDateTime64(0, 3, 'UTC') AS touched_at FROM resource_hour
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
        FROM resource_day
        GROUP BY project_id, day
    ) AS done ON done.project_id = days.project_id AND done.day = days.day
    WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
)
SELECT summed.project_id AS project_id, summed.day AS day, resource, initiator, measure, environment, release,
       bucket, loads, low, high, stale.sealed_at AS sealed_at
FROM
(
    SELECT project_id, toStartOfDay(hour) AS day, resource, initiator, measure, environment, release, bucket,
           sum(loads) AS loads, min(low) AS low, max(high) AS high
    FROM resource_hour
    WHERE (project_id, hour, sealed_at) IN (
        SELECT project_id, hour, sealed_at FROM hours
        WHERE (project_id, toStartOfDay(hour)) IN (SELECT project_id, day FROM stale))
    GROUP BY project_id, day, resource, initiator, measure, environment, release, bucket
) AS summed
INNER JOIN stale ON stale.project_id = summed.project_id AND stale.day = summed.day;
