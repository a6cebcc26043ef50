-- Sealed hours: a closed hour's event, page-view and error counts frozen into plain numbers.
--
-- audience_hour (070) counts events as length() of sets of event-id hashes, so a replayed insert
-- adds nothing. But a week of those sets is ~10M hashes (~80 MB) that traffic_totals read and
-- merged under FINAL only to take their sizes (bench/warehouse.py: 104–109 ms over 7 days). Once
-- an hour is over its sets rarely change, so a refreshable view writes their sizes down here and
-- traffic_totals reads a number per hour instead once a range spans 72 whole hours or more
-- (pipeline/warehouse/queries.py, SEALED_FROM; below that the seal's bookkeeping costs more than
-- it spares, and traffic_trend reads only the smaller page-view sets, so both stay on the sets);
-- unique visitors and sessions still come from the (much smaller) hash sets, since they do not
-- add across hours.
--
-- Exact and idempotent because a sealed count is only used while it is newer than every insert
-- into its hour:
-- - audience_hour_touched: when an insert last touched each project's hour (max(now64(3)) of
--   every insert, kept by a view on events like the rollups' own views).
-- - audience_hour_counts: the sizes, with ONE sealed_at per hour and seal: the seal's start time
--   minus 60 s, a margin longer than any insert takes. An insert whose views were still landing
--   while the seal read audience_hour therefore touched the hour after its sealed_at.
-- A query uses an hour's counts only if its latest sealed_at is later than its latest touched_at
-- (else it takes length() of the sets, as before). A late or replayed event touches the hour, so
-- the hour is read live until the next seal writes its counts again (a replay leaves them equal).

CREATE TABLE IF NOT EXISTS audience_hour_touched
(
    project_id UInt32,
    hour       DateTime('UTC'),
    touched_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS audience_hour_touched_mv TO audience_hour_touched AS
SELECT project_id, toStartOfHour(timestamp) AS hour, max(now64(3, 'UTC')) AS touched_at
FROM events
GROUP BY project_id, hour;

-- the events already stored count as touched now: the first seal comes 60 s later, when any
-- insert that was in flight while this ran has landed
INSERT INTO audience_hour_touched
SELECT project_id, toStartOfHour(timestamp) AS hour, max(now64(3, 'UTC')) AS touched_at
FROM events
GROUP BY project_id, hour;

CREATE TABLE IF NOT EXISTS audience_hour_counts
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    events      UInt64,
    page_views  UInt64,
    errors      UInt64,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release);

-- Every minute: (re)seal each hour that ended 5+ minutes ago, was touched after its latest seal
-- (or never sealed), and was last touched before this seal's sealed_at (else the counts would not
-- be used yet; the next refresh takes it). All of the hour's environment × release rows get the
-- same sealed_at. `SYSTEM REFRESH VIEW audience_hour_seal` runs it at once.
CREATE MATERIALIZED VIEW IF NOT EXISTS audience_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO audience_hour_counts AS
SELECT
    project_id, hour, environment, release,
    length(events) AS events, length(page_views) AS page_views, length(errors) AS errors,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM audience_hour FINAL
WHERE (project_id, hour) IN (
    SELECT touched.project_id, touched.hour
    FROM (
        SELECT project_id, hour, max(touched_at) AS touched_at
        FROM audience_hour_touched
        WHERE hour <= now() - toIntervalMinute(65)
        GROUP BY project_id, hour
    ) AS touched
    LEFT JOIN (
        SELECT project_id, hour, max(sealed_at) AS sealed_at
        FROM audience_hour_counts
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SETTINGS do_not_merge_across_partitions_select_final = 1;
