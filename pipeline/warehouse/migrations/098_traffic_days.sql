-- The most viewed pages over long ranges as sealed days: past 7 days top_pages estimates each page's
-- visitors with uniqCombined64 over traffic_hour's (091) per-hour visitor hashes, and at 100M events
-- over 30 days those are 6.2M hashes, hardly fewer per day (6.1M: a visitor is on a page within one
-- hour): hashing them is most of the read. traffic_day keeps per day, environment and path the page views
-- and the visitors as a uniqCombined64 state (the same function over the same hashes: merging the
-- states is the estimate the hashes give); 30 days are ~1,350 rows, ~26 MiB. Merging a state costs
-- about what hashing ~8k visitors does (a large one is 2^17 registers), so the release is left out:
-- keyed by release too, the month's states doubled (two releases a day) and the merge took twice as
-- long; a release filter reads the hours (tiers.DAILY_LACKS).
--
-- traffic_day is summed from traffic_hour's sealed hours, never from the events, as resource_day
-- (097): its refreshable view traffic_day_seal, every minute, takes each closed day (its last hour
-- sealable) none of whose hours is waiting for a seal (touched since its latest seal, or never
-- sealed), whose newest hourly seal is newer than the day's own, and sums the rows of each of its
-- hours' latest seal, stamped with that newest hourly seal (rows/sealed_days_of says when a read takes
-- a day). Every seal of a day has one marker row: an empty key, no page views, no visitors, summed
-- with the rows of that key. A state answers an estimate only: exact reads (up to 7 days) keep the
-- hours' hash sets. The closed days stored so far are summed by the view's first refresh, which
-- ClickHouse starts as it creates the view: the migration waits for it (SYSTEM WAIT VIEW).

CREATE TABLE IF NOT EXISTS traffic_day
(
    project_id  UInt32,
    day         DateTime('UTC'),
    environment LowCardinality(String),
    path        String,
    page_views  UInt64,
    visitors    AggregateFunction(uniqCombined64, UInt64),
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, environment, path);

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_day_seal
REFRESH EVERY 1 MINUTE APPEND TO traffic_day AS
WITH
hours AS
(
    SELECT project_id, hour, max(sealed_at) AS sealed_at, max(touched_at) AS touched_at
    FROM
    (
        SELECT project_id, hour, sealed_at, toDateTime64(0, 3, 'UTC') AS touched_at FROM traffic_hour
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
        FROM traffic_day
        GROUP BY project_id, day
    ) AS done ON done.project_id = days.project_id AND done.day = days.day
    WHERE days.newest > ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
)
SELECT summed.project_id AS project_id, summed.day AS day, environment, path, page_views, visitors,
       stale.sealed_at AS sealed_at
FROM
(
    SELECT project_id, toStartOfDay(hour) AS day, environment, path,
           sumIf(events, type = 'page_view') AS page_views, uniqCombined64StateArray(visitors) AS visitors
    FROM
    (
        SELECT project_id, hour, environment, path, type, events, visitors
        FROM traffic_hour
        WHERE (project_id, hour, sealed_at) IN (
            SELECT project_id, hour, sealed_at FROM hours
            WHERE (project_id, toStartOfDay(hour)) IN (SELECT project_id, day FROM stale))
        UNION ALL
        SELECT project_id, day, '', '', '', 0, CAST([], 'Array(UInt64)') FROM stale  -- the marker
    )
    GROUP BY project_id, day, environment, path
) AS summed
INNER JOIN stale ON stale.project_id = summed.project_id AND stale.day = summed.day;

SYSTEM WAIT VIEW traffic_day_seal;
