-- Traffic and audience as sealed hours: plain counts and visitor/session sets, recomputed from the
-- raw events once an hour is closed, instead of sets of event-id hashes filled on every insert.
--
-- The per-minute and hourly rollups of 003/007/008/070/072 kept a set of 64-bit event-id hashes per
-- key so that a replayed insert could not double-count: at 10M events traffic_minute, audience_minute,
-- audience_hour and page_audience_hour held more bytes than the events themselves, and their reads
-- grew with the events. `events` already collapses replays and resends (ReplacingMergeTree by
-- event_id, read with FINAL), so a count taken from `events FINAL` is exact whatever was replayed.
-- Here each family keeps ONE hourly table, written only by a refreshable view that recomputes, from
-- `events FINAL`, every closed hour touched since the family's last seal (073's rule: the hour ended
-- 65+ minutes ago and its last insert is 60+ s older than the seal), each row stamped `sealed_at`.
-- A late or replayed event touches its hour again (audience_hour_touched, 073) and the next refresh
-- recomputes the whole hour. Readers take a sealed hour from these tables only while its latest
-- sealed_at is newer than its latest touched_at (pipeline/queries/sql/rows/sealed_*hours.sql) and
-- everything else — live hours, not-yet-sealed hours, the minutes at a range's edges — from
-- `events FINAL` with the same aggregation.
--
-- - audience_hour: per hour, environment and release, the page views, errors and events (counts)
--   and who came (sets of visitor and session hashes: sets of people, never of events).
-- - traffic_hour: per hour, environment, release and route, the events of each type (counts), and
--   per route (the row whose type is '') the visitors and sessions with any event on it — what
--   page_audience_hour (072) held; the Traffic page's top pages and route filters read it.
--
-- audience_hour_counts (073) is folded into audience_hour, the minute tables go (short ranges and
-- edges read raw events), and the backfill seals every closed hour stored so far.

DROP VIEW IF EXISTS audience_hour_seal;
DROP TABLE IF EXISTS audience_hour_counts;
DROP VIEW IF EXISTS traffic_minute_mv;
DROP TABLE IF EXISTS traffic_minute;
DROP VIEW IF EXISTS traffic_hour_mv;
DROP TABLE IF EXISTS traffic_hour;
DROP VIEW IF EXISTS audience_minute_mv;
DROP TABLE IF EXISTS audience_minute;
DROP VIEW IF EXISTS audience_hour_mv;
DROP TABLE IF EXISTS audience_hour;
DROP VIEW IF EXISTS page_audience_hour_mv;
DROP TABLE IF EXISTS page_audience_hour;

-- ── audience ───────────────────────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS audience_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    page_views  UInt64,
    errors      UInt64,
    events      UInt64,
    visitors    Array(UInt64),
    sessions    Array(UInt64),
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release);

-- every stored closed hour, sealed a minute ago (an insert landing while this runs touches its
-- hour after that, so the hour is read raw until the view seals it again)
INSERT INTO audience_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release,
    countIf(type = 'page_view') AS page_views, countIf(type = 'error') AS errors, count() AS events,
    groupUniqArray(cityHash64(visitor_id)) AS visitors, groupUniqArray(cityHash64(session_id)) AS sessions,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE timestamp < toStartOfHour(now() - toIntervalMinute(5))
GROUP BY project_id, hour, environment, release
SETTINGS do_not_merge_across_partitions_select_final = 1;

-- Every minute: (re)seal each hour that ended 5+ minutes ago, was touched after its latest seal (or
-- never sealed) and last touched before this seal's sealed_at. All of the hour's rows get the same
-- sealed_at. `SYSTEM REFRESH VIEW audience_hour_seal` runs it at once (pipeline/warehouse/sealing.py).
CREATE MATERIALIZED VIEW IF NOT EXISTS audience_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO audience_hour AS
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release,
    countIf(type = 'page_view') AS page_views, countIf(type = 'error') AS errors, count() AS events,
    groupUniqArray(cityHash64(visitor_id)) AS visitors, groupUniqArray(cityHash64(session_id)) AS sessions,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE (project_id, toStartOfHour(timestamp)) IN (
    SELECT touched.project_id, touched.hour
    FROM (
        SELECT project_id, hour, max(touched_at) AS touched_at
        FROM audience_hour_touched
        WHERE hour <= now() - toIntervalMinute(65)
        GROUP BY project_id, hour
    ) AS touched
    LEFT JOIN (
        SELECT project_id, hour, max(sealed_at) AS sealed_at
        FROM audience_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
GROUP BY project_id, hour, environment, release
SETTINGS do_not_merge_across_partitions_select_final = 1;

-- ── traffic ────────────────────────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS traffic_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    type        LowCardinality(String),  -- '': the route's visitors and sessions, no events
    events      UInt64,
    visitors    Array(UInt64),
    sessions    Array(UInt64),
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release, path, type);

-- a row per route and type with its count, and one per route (type '') with its visitors and sessions
INSERT INTO traffic_hour
SELECT
    project_id, hour, environment, release, path, kind AS type,
    if(kind = '', 0, count()) AS events,
    if(kind = '', groupUniqArray(cityHash64(visitor_id)), []) AS visitors,
    if(kind = '', groupUniqArray(cityHash64(session_id)), []) AS sessions,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM (
    SELECT project_id, toStartOfHour(timestamp) AS hour, environment, release, path, type, visitor_id, session_id
    FROM events FINAL
    WHERE timestamp < toStartOfHour(now() - toIntervalMinute(5))
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
ARRAY JOIN [toString(type), ''] AS kind
GROUP BY project_id, hour, environment, release, path, kind;

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO traffic_hour AS
SELECT
    project_id, hour, environment, release, path, kind AS type,
    if(kind = '', 0, count()) AS events,
    if(kind = '', groupUniqArray(cityHash64(visitor_id)), []) AS visitors,
    if(kind = '', groupUniqArray(cityHash64(session_id)), []) AS sessions,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM (
    SELECT project_id, toStartOfHour(timestamp) AS hour, environment, release, path, type, visitor_id, session_id
    FROM events FINAL
    WHERE (project_id, toStartOfHour(timestamp)) IN (
        SELECT touched.project_id, touched.hour
        FROM (
            SELECT project_id, hour, max(touched_at) AS touched_at
            FROM audience_hour_touched
            WHERE hour <= now() - toIntervalMinute(65)
            GROUP BY project_id, hour
        ) AS touched
        LEFT JOIN (
            SELECT project_id, hour, max(sealed_at) AS sealed_at
            FROM traffic_hour
            GROUP BY project_id, hour
        ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
        WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))
          AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
    )
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
ARRAY JOIN [toString(type), ''] AS kind
GROUP BY project_id, hour, environment, release, path, kind;

-- ── sessions ───────────────────────────────────────────────────────────────────────────────
-- One row per visit, as 004/074 kept it, but with plain values instead of states of event-id sets,
-- keyed by the hour the session started in and sealed per start hour. A session spans hours (the
-- SDK ends it after 30 idle minutes, however long it runs), so a start hour H is sealed from the
-- events of [H − 2 h, H + 3 h): a session of H is one whose first event there falls in H, and
-- whatever it did in the 2 h after H ended is counted. H is (re)sealed once H + 3 h is over and
-- any hour from H − 2 h to H + 2 h was inserted into since H's last seal; a reader takes H from here
-- only while its seal is newer than every insert into those hours, else from the raw events with
-- the same aggregation (rows/sealed_session_hours.sql, rows/sessions.sql). A visit running on more
-- than 2 h past its start hour is counted up to there once sealed. Each sealed start hour also gets
-- a row with an empty session_id (no page views, so no query counts it): the mark that H is sealed
-- when no session started in it.
DROP VIEW IF EXISTS sessions_mv;
DROP TABLE IF EXISTS sessions;

CREATE TABLE IF NOT EXISTS sessions
(
    project_id     UInt32,
    hour           DateTime('UTC'),  -- the hour the session started in
    session_id     String,
    visitor_id     String,
    started        DateTime64(3, 'UTC'),
    ended          DateTime64(3, 'UTC'),
    pages          UInt64,
    events         UInt64,
    error_events   UInt64,
    entry          String,
    exit           String,
    entry_referrer String,
    entry_url      String,
    -- the entry page view's (referrer_source, utm_source, utm_medium, utm_campaign), as 074
    traffic_source Tuple(String, String, String, String),
    environment    LowCardinality(String),
    release        LowCardinality(String),
    device         LowCardinality(String),
    browser        LowCardinality(String),
    country        LowCardinality(String),
    sealed_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, session_id);

-- every stored start hour whose three following hours are over, sealed a minute ago
INSERT INTO sessions
SELECT
    project_id, toStartOfHour(started) AS hour, session_id, visitor_id, started, ended, pages, events, error_events,
    entry, exit, entry_referrer, entry_url, traffic_source, environment, release, device, browser, country,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM (
    SELECT
        project_id, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started, max(timestamp) AS ended,
        countIf(type = 'page_view') AS pages, count() AS events, countIf(type = 'error') AS error_events,
        argMinIf(path, timestamp, type = 'page_view') AS entry, argMaxIf(path, timestamp, type = 'page_view') AS exit,
        argMinIf(referrer, timestamp, type = 'page_view') AS entry_referrer,
        argMinIf(url, timestamp, type = 'page_view') AS entry_url,
        argMinIf((referrer_source, utm_source, utm_medium, utm_campaign), timestamp, type = 'page_view')
            AS traffic_source,
        any(environment) AS environment, any(release) AS release, any(device) AS device, any(browser) AS browser,
        any(country) AS country
    FROM events FINAL
    GROUP BY project_id, session_id
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
WHERE hour <= now() - toIntervalMinute(185)
UNION ALL
SELECT DISTINCT project_id, hour, '', '', hour, hour, 0, 0, 0, '', '', '', '', ('', '', '', ''), '', '', '', '', '',
       now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(185);

CREATE MATERIALIZED VIEW IF NOT EXISTS sessions_seal
REFRESH EVERY 1 MINUTE APPEND TO sessions AS
WITH sealable AS (
    -- start hours inserted into themselves, over for 3 h + 5 min, and inserted into (from H − 2 h to
    -- H + 2 h) since their last seal but not in the last 60 s
    SELECT touched.project_id AS project_id, touched.start_hour AS start_hour
    FROM (
        SELECT project_id, hour + toIntervalHour(offset) AS start_hour, max(touched_at) AS touched_at,
               countIf(offset = 0) AS own
        FROM audience_hour_touched
        ARRAY JOIN [-2, -1, 0, 1, 2] AS offset
        GROUP BY project_id, start_hour
    ) AS touched
    LEFT JOIN (
        SELECT project_id, hour, max(sealed_at) AS sealed_at
        FROM sessions
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.start_hour
    WHERE touched.own > 0
      AND touched.start_hour <= now() - toIntervalMinute(185)
      AND touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, toStartOfHour(started) AS hour, session_id, visitor_id, started, ended, pages, events, error_events,
    entry, exit, entry_referrer, entry_url, traffic_source, environment, release, device, browser, country,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM (
    SELECT
        project_id, session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started, max(timestamp) AS ended,
        countIf(type = 'page_view') AS pages, count() AS events, countIf(type = 'error') AS error_events,
        argMinIf(path, timestamp, type = 'page_view') AS entry, argMaxIf(path, timestamp, type = 'page_view') AS exit,
        argMinIf(referrer, timestamp, type = 'page_view') AS entry_referrer,
        argMinIf(url, timestamp, type = 'page_view') AS entry_url,
        argMinIf((referrer_source, utm_source, utm_medium, utm_campaign), timestamp, type = 'page_view')
            AS traffic_source,
        any(environment) AS environment, any(release) AS release, any(device) AS device, any(browser) AS browser,
        any(country) AS country
    FROM events FINAL
    WHERE (project_id, toStartOfHour(timestamp)) IN (
        SELECT project_id, start_hour + toIntervalHour(offset) FROM sealable ARRAY JOIN [-2, -1, 0, 1, 2] AS offset
    )
    GROUP BY project_id, session_id
    SETTINGS do_not_merge_across_partitions_select_final = 1
)
WHERE (project_id, hour) IN (SELECT project_id, start_hour FROM sealable)
UNION ALL
SELECT project_id, start_hour, '', '', start_hour, start_hour, 0, 0, 0, '', '', '', '', ('', '', '', ''), '', '', '',
       '', '', now64(3, 'UTC') - toIntervalSecond(60)
FROM sealable;
