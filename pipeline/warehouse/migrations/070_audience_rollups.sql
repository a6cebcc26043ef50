-- Who came, without what they looked at: visitors, sessions and event counts per minute and hour
-- with neither the route nor the event type in the key.
--
-- traffic_minute and traffic_hour (008) key their hash sets by type and route, so a visitor who
-- saw five pages and sent six kinds of event sits in thirty of an hour's sets; counting a week's
-- unique visitors meant unioning ~4M hashes (bench/warehouse.py: traffic_totals and
-- traffic_trend 120–260 ms). Here each visitor and session is stored once per minute (and hour)
-- and key of the dimensions that stay: environment, release, and per minute device, browser and
-- country. PV, errors and events are sets of event-id hashes too, so a count is still length()
-- of an idempotent set (a replayed insert changes nothing) and reads only the arrays' sizes.
-- Queries use these tables when no route filter is set (pipeline/warehouse/queries.py); the hour
-- tier answers a range's whole hours when no device, browser or country filter is set.

CREATE TABLE IF NOT EXISTS audience_minute
(
    project_id  UInt32,
    minute      DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    device      LowCardinality(String),
    browser     LowCardinality(String),
    country     LowCardinality(String),
    events      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    page_views  SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    errors      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    visitors    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    sessions    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, environment, release, device, browser, country);

CREATE MATERIALIZED VIEW IF NOT EXISTS audience_minute_mv TO audience_minute AS
SELECT
    project_id, toStartOfMinute(timestamp) AS minute, environment, release, device, browser, country,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArrayIf(cityHash64(event_id), type = 'error') AS errors,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions
FROM events
GROUP BY project_id, minute, environment, release, device, browser, country;

INSERT INTO audience_minute
SELECT
    project_id, toStartOfMinute(timestamp) AS minute, environment, release, device, browser, country,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArrayIf(cityHash64(event_id), type = 'error') AS errors,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
GROUP BY project_id, minute, environment, release, device, browser, country;

CREATE TABLE IF NOT EXISTS audience_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    events      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    page_views  SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    errors      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    visitors    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    sessions    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, environment, release);

CREATE MATERIALIZED VIEW IF NOT EXISTS audience_hour_mv TO audience_hour AS
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArrayIf(cityHash64(event_id), type = 'error') AS errors,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions
FROM events
GROUP BY project_id, hour, environment, release;

INSERT INTO audience_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArrayIf(cityHash64(event_id), type = 'error') AS errors,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
GROUP BY project_id, hour, environment, release;
