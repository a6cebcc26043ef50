-- The most clicked elements as sealed hours: top_clicks read every raw click of the range.
--
-- The Traffic page's "Most clicked" (top_clicks) grouped each click of the range from events FINAL
-- by element (selector, text, link) with count() and uniqExact(visitor_id): 1.8 s at 30 days of 100M
-- events (7.5M clicks for ~15 elements). click_hour holds, per project, hour, page path,
-- environment, release and element, the clicks (a count) and the visitors who clicked (a set of
-- cityHash64(visitor_id): people, never events), sealed as 090's header says: written only by its
-- refreshable view click_hour_seal, which every minute recomputes each closed hour touched since its
-- latest seal from events FINAL; every sealed (project, hour) has one marker row (an empty key,
-- clicks 0). The path is kept because the Traffic page's route filter applies to the clicks as to
-- every other table of the page (traffic_hour has it too); a shop's elements sit on few pages each
-- (bench/warehouse.py, 1M events over 30 days: 15 elements in 71 (path, element) pairs; 2.1x the
-- rows of a table without the path, 9 % more visitor hashes). Device, browser and country are not
-- kept (tiers.HOURLY_LACKS): those filters read the raw clicks.
-- top_clicks is the only statement that reads click rows.

CREATE TABLE IF NOT EXISTS click_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    path        String,
    environment LowCardinality(String),
    release     LowCardinality(String),
    target      String,
    click_text  String,
    click_href  String,
    clicks      UInt64,
    visitors    Array(UInt64),
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, path, environment, release, target, click_text, click_href);

-- the closed hours stored so far, sealed now (their inserts are older than any in flight)
INSERT INTO click_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, path, environment, release, target, click_text, click_href,
    count() AS clicks, groupUniqArray(cityHash64(visitor_id)) AS visitors,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'click' AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, hour, path, environment, release, target, click_text, click_href
UNION ALL
SELECT project_id, hour, '', '', '', '', '', '', 0, [], now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS click_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO click_hour AS
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
        FROM click_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, toStartOfHour(timestamp) AS hour, path, environment, release, target, click_text, click_href,
    count() AS clicks, groupUniqArray(cityHash64(visitor_id)) AS visitors,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'click' AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, hour, path, environment, release, target, click_text, click_href
UNION ALL
SELECT project_id, hour, '', '', '', '', '', '', 0, [], now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;
