-- Sessions: one row per visit, built by a materialized view as its events arrive — when it
-- started and ended, its entry and exit pages, how many pages it saw (a bounce saw one), whether it met an error, where
-- it came from (the entry page's referrer and URL, whose utm_* parameters name the campaign),
-- and the visitor's device, browser, country, release and environment.
--
-- The states are idempotent, as in 003_rollups.sql: page views and events are uniq(event_id),
-- start/end are min/max, entry/exit are argMin/argMax over the page views' timestamps, so a
-- replayed event changes nothing. A session's events arrive in several inserts (one per SDK
-- batch): rows of one session are merged by key, and queries read with FINAL.
CREATE TABLE IF NOT EXISTS sessions
(
    project_id     UInt32,
    session_id     String,
    visitor_id     SimpleAggregateFunction(any, String),
    started        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    ended          SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    page_views     AggregateFunction(uniqIf, String, UInt8),
    events         AggregateFunction(uniq, String),
    errors         AggregateFunction(uniqIf, String, UInt8),
    entry_page     AggregateFunction(argMinIf, String, DateTime64(3, 'UTC'), UInt8),
    exit_page      AggregateFunction(argMaxIf, String, DateTime64(3, 'UTC'), UInt8),
    entry_referrer AggregateFunction(argMinIf, String, DateTime64(3, 'UTC'), UInt8),
    entry_url      AggregateFunction(argMinIf, String, DateTime64(3, 'UTC'), UInt8),
    environment    SimpleAggregateFunction(any, LowCardinality(String)),
    release        SimpleAggregateFunction(any, LowCardinality(String)),
    device         SimpleAggregateFunction(any, LowCardinality(String)),
    browser        SimpleAggregateFunction(any, LowCardinality(String)),
    country        SimpleAggregateFunction(any, LowCardinality(String))
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, session_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS sessions_mv TO sessions AS
SELECT
    project_id,
    session_id,
    any(visitor_id) AS visitor_id,
    min(timestamp) AS started,
    max(timestamp) AS ended,
    uniqIfState(event_id, type = 'page_view') AS page_views,
    uniqState(event_id) AS events,
    uniqIfState(event_id, type = 'error') AS errors,
    argMinIfState(path, timestamp, type = 'page_view') AS entry_page,
    argMaxIfState(path, timestamp, type = 'page_view') AS exit_page,
    argMinIfState(referrer, timestamp, type = 'page_view') AS entry_referrer,
    argMinIfState(url, timestamp, type = 'page_view') AS entry_url,
    any(environment) AS environment,
    any(release) AS release,
    any(device) AS device,
    any(browser) AS browser,
    any(country) AS country
FROM events
GROUP BY project_id, session_id;

INSERT INTO sessions
SELECT
    project_id,
    session_id,
    any(visitor_id) AS visitor_id,
    min(timestamp) AS started,
    max(timestamp) AS ended,
    uniqIfState(event_id, type = 'page_view') AS page_views,
    uniqState(event_id) AS events,
    uniqIfState(event_id, type = 'error') AS errors,
    argMinIfState(path, timestamp, type = 'page_view') AS entry_page,
    argMaxIfState(path, timestamp, type = 'page_view') AS exit_page,
    argMinIfState(referrer, timestamp, type = 'page_view') AS entry_referrer,
    argMinIfState(url, timestamp, type = 'page_view') AS entry_url,
    any(environment) AS environment,
    any(release) AS release,
    any(device) AS device,
    any(browser) AS browser,
    any(country) AS country
FROM events FINAL
GROUP BY project_id, session_id;
