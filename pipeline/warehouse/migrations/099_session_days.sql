-- The sessions' answers as sealed days: the Traffic page's breakdowns (entry, exit, source, campaign)
-- and summary group every session of the range, and at 100M events a month holds 2.2M of them (091's
-- sessions, one row each). session_day keeps per day what those answers sum, ~156 breakdown rows and
-- ~1–2k duration buckets a day per environment and release, so 30 days read a few tens of thousands of
-- rows, and the edge hours are read from the sessions as before.
--
-- Rows per (project, day, breakdown, environment, release, value): breakdown 'entry', 'exit', 'source'
-- (source; direct = 1 for a session without a named source or referrer, which the read names),
-- 'campaign' (utm_source, utm_medium, utm_campaign; sessions without any utm_ tag are left out) with
-- their sessions and bounces (one page view), and 'duration' with, per log bucket of the duration
-- (first to last event, ms; bucket i counts (γ^(i-1), γ^i], γ = 101/99, zeros in -32768, exact
-- low and high), its sessions, bounces, sessions with errors and page views: the summary, its median
-- within 1 %. Only sessions with a page view count, as in every session answer. Environment and
-- release are kept (filter/release); device, browser and country would make ~100 times the rows, so
-- those filters, the route (the entry page) and the visitor read the sessions (tiers.HOURLY_LACKS).
--
-- session_day is summed from the sessions table's sealed start hours, never from the events: its
-- refreshable view session_day_seal, every minute, takes each closed day (its last start hour
-- sealable: 3 h 5 min after it ended) none of whose start hours is waiting for a seal (an hour with
-- events, never sealed, or inserted into from 2 h before to 2 h after it since its seal), with no
-- insert in the 60 s margin into the hours the day's sessions are read from ([day − 2 h, day + 26 h))
-- and one since the day's own last seal (or never sealed), and sums the rows of each start hour's
-- latest seal. A day's sealed_at is the newest of its start hours' seals, or just after the newest
-- insert into its window if later: a read takes a day only while no hour of that window was
-- inserted into since (rows/session_days), and reads its rows of that seal only. Every seal
-- of a day has one marker row (breakdown '': the day's sessions), summed in the same read. The
-- closed days sealed so far are the view's first refresh, started when it is created: waited for.

CREATE TABLE IF NOT EXISTS session_day
(
    project_id   UInt32,
    day          DateTime('UTC'),
    breakdown    LowCardinality(String),
    environment  LowCardinality(String),
    release      LowCardinality(String),
    entry        String,
    exit         String,
    source       String,
    direct       UInt8,
    utm_source   String,
    utm_medium   String,
    utm_campaign String,
    bucket       Int16,
    sessions     UInt64,
    bounces      UInt64,
    with_errors  UInt64,
    pages        UInt64,
    low          Float64,
    high         Float64,
    sealed_at    DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, day, breakdown, environment, release, entry, exit, source, direct, utm_source, utm_medium,
          utm_campaign, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS session_day_seal
REFRESH EVERY 1 MINUTE APPEND TO session_day AS
WITH
hours AS
(
    -- every start hour near an insert: its latest seal, the newest insert into the hours its sessions
    -- are read from, and whether it had events itself (then it has sessions to seal)
    SELECT touched.project_id AS project_id, touched.start_hour AS hour, touched.own AS own,
           touched.touched_at AS touched_at, ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC')) AS sealed_at
    FROM
    (
        SELECT project_id, hour + toIntervalHour(offset) AS start_hour, max(touched_at) AS touched_at,
               countIf(offset = 0) AS own
        FROM audience_hour_touched
        ARRAY JOIN [-2, -1, 0, 1, 2] AS offset
        GROUP BY project_id, start_hour
    ) AS touched
    LEFT JOIN
    (
        SELECT project_id, hour, max(sealed_at) AS sealed_at
        FROM sessions
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.start_hour
),
stale AS
(
    SELECT days.project_id AS project_id, days.day AS day, days.day_sealed_at AS sealed_at
    FROM
    (
        -- day_sealed_at: newer than the day's hourly seals and than every insert into its window
        SELECT project_id, toStartOfDay(hour) AS day, max(touched_at) AS inserted_at,
               greatest(maxIf(sealed_at, own > 0), inserted_at + toIntervalMillisecond(1)) AS day_sealed_at,
               countIf(own > 0 AND touched_at >= sealed_at) AS waiting
        FROM hours
        GROUP BY project_id, day
        HAVING countIf(own > 0) > 0 AND waiting = 0 AND day <= now() - toIntervalMinute(185) - toIntervalHour(23)
           AND inserted_at < now64(3, 'UTC') - toIntervalSecond(60)
    ) AS days
    LEFT JOIN
    (
        SELECT project_id, day, max(sealed_at) AS sealed_at
        FROM session_day
        GROUP BY project_id, day
    ) AS done ON done.project_id = days.project_id AND done.day = days.day
    WHERE days.inserted_at >= ifNull(done.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
)
SELECT summed.project_id AS project_id, summed.day AS day, breakdown, environment, release, entry, exit, source,
       direct, utm_source, utm_medium, utm_campaign, bucket, sessions, bounces, with_errors, pages, low, high,
       stale.sealed_at AS sealed_at
FROM
(
    -- the rows of each start hour's latest seal, its marker (no page view) too: the day's marker
    -- (breakdown '') comes from the same read as its counts
    SELECT project_id, day,
           multiIf(grouping(entry) = 0, 'entry', grouping(exit) = 0, 'exit', grouping(source) = 0, 'source',
                   grouping(utm_source) = 0, 'campaign', grouping(bucket) = 0, 'duration', '') AS breakdown,
           environment, release, entry, exit, source, direct, utm_source, utm_medium, utm_campaign, bucket,
           countIf(views > 0) AS sessions, countIf(views = 1) AS bounces,
           if(breakdown = 'duration', countIf(views > 0 AND error_events > 0), 0) AS with_errors,
           if(breakdown = 'duration', sum(views), 0) AS pages,
           if(breakdown = 'duration', minIf(duration, views > 0), 0) AS low,
           if(breakdown = 'duration', maxIf(duration, views > 0), 0) AS high
    FROM
    (
        SELECT project_id, toStartOfDay(hour) AS day, environment, release, entry, exit, pages AS views, error_events,
               if(entry_source != '', entry_source, if(entry_referrer = '', '', domainWithoutWWW(entry_referrer)))
                   AS source,
               toUInt8(entry_source = '' AND entry_referrer = '') AS direct,
               if(entry_source != '', tupleElement(traffic_source, 2),
                  decodeURLFormComponent(extractURLParameter(entry_url, 'utm_source'))) AS utm_source,
               if(entry_source != '', tupleElement(traffic_source, 3),
                  decodeURLFormComponent(extractURLParameter(entry_url, 'utm_medium'))) AS utm_medium,
               if(entry_source != '', tupleElement(traffic_source, 4),
                  decodeURLFormComponent(extractURLParameter(entry_url, 'utm_campaign'))) AS utm_campaign,
               toFloat64(dateDiff('millisecond', started, ended)) AS duration,
               if(duration > 0, toInt16(ceil(log(duration) / log(101 / 99))), toInt16(-32768)) AS bucket
        FROM
        (
            SELECT *, tupleElement(traffic_source, 1) AS entry_source
            FROM sessions
            WHERE (project_id, hour, sealed_at) IN (
                SELECT project_id, hour, sealed_at FROM hours
                WHERE own > 0 AND (project_id, toStartOfDay(hour)) IN (SELECT project_id, day FROM stale))
        )
    )
    GROUP BY GROUPING SETS (
        (project_id, day),
        (project_id, day, environment, release, entry),
        (project_id, day, environment, release, exit),
        (project_id, day, environment, release, source, direct),
        (project_id, day, environment, release, utm_source, utm_medium, utm_campaign),
        (project_id, day, environment, release, bucket))
    HAVING breakdown = '' OR (sessions > 0 AND (breakdown != 'campaign' OR utm_source != '' OR utm_medium != ''
                                                OR utm_campaign != ''))
) AS summed
INNER JOIN stale ON stale.project_id = summed.project_id AND stale.day = summed.day;

SYSTEM WAIT VIEW session_day_seal;
