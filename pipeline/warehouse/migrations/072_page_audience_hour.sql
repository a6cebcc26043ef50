-- Who saw each page, per hour, without the event type: the Traffic page's top pages over long ranges.
--
-- top_pages counts page views and the visitors with any event on a page. From traffic_hour (008)
-- a visitor is in one set per page *and event type*, so a week unioned ~3.7M hashes (bench:
-- 170–200 ms); keyed without the type, each visitor is in one set per page and hour. Same
-- idempotent sets of event-id and visitor-id hashes, backfilled from the stored events; read for
-- a range's whole hours when no device, browser or country filter is set (queries.top_pages).

CREATE TABLE IF NOT EXISTS page_audience_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    page_views  SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    visitors    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release, path);

CREATE MATERIALIZED VIEW IF NOT EXISTS page_audience_hour_mv TO page_audience_hour AS
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release, path,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArray(cityHash64(visitor_id)) AS visitors
FROM events
GROUP BY project_id, hour, environment, release, path;

INSERT INTO page_audience_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release, path,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArray(cityHash64(visitor_id)) AS visitors
FROM events FINAL
GROUP BY project_id, hour, environment, release, path;
