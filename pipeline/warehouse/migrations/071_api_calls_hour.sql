-- API calls per hour: the Errors page's endpoint table over long ranges.
--
-- api_calls_minute (008) keys every minute by route, device, browser and country as well, so a
-- week is ~630k rows at 1,000 events a minute and the endpoint table read them all (bench:
-- 210 ms). This tier keeps the dimensions that stay few — environment and release — with the
-- same idempotent event-id hash sets and latency histograms; queries read a range's whole hours
-- from it when no route, device, browser or country filter is set, the edges from the minutes
-- (pipeline/warehouse/queries.py, _tiers).

CREATE TABLE IF NOT EXISTS api_calls_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    method      LowCardinality(String),
    endpoint    String,
    status      UInt16,
    failure     LowCardinality(String),
    bucket      Int16,
    calls       SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    low         SimpleAggregateFunction(min, Float64),
    high        SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, endpoint, method, status, failure, environment, release, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS api_calls_hour_mv TO api_calls_hour AS
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release,
    http_method AS method,
    concat(if(domain(http_url) IN ('', domain(url)), '', domain(http_url)),
           arrayStringConcat(arrayMap(segment -> if(match(segment, '^[0-9]+$|^[0-9a-fA-F-]{16,}$'), ':id', segment),
                                      splitByChar('/', path(http_url))), '/')) AS endpoint,
    http_status AS status,
    JSONExtractString(data, 'failure') AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS calls, min(duration_ms) AS low, max(duration_ms) AS high
FROM events
WHERE type = 'api_call'
GROUP BY project_id, hour, environment, release, method, endpoint, status, failure, bucket;

INSERT INTO api_calls_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, environment, release,
    http_method AS method,
    concat(if(domain(http_url) IN ('', domain(url)), '', domain(http_url)),
           arrayStringConcat(arrayMap(segment -> if(match(segment, '^[0-9]+$|^[0-9a-fA-F-]{16,}$'), ':id', segment),
                                      splitByChar('/', path(http_url))), '/')) AS endpoint,
    http_status AS status,
    JSONExtractString(data, 'failure') AS failure,
    if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS calls, min(duration_ms) AS low, max(duration_ms) AS high
FROM events FINAL
WHERE type = 'api_call'
GROUP BY project_id, hour, environment, release, method, endpoint, status, failure, bucket;
