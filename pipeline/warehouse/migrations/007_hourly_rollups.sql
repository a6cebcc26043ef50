-- A coarse tier of rollups, and traffic_minute without its per-type map.
--
-- At a site's everyday traffic the per-minute rollups of 003 hold about as many rows as there
-- are events (every minute × route × device × browser × country is a key of its own), so a
-- week-long view reads millions of rows. The hourly rollups here keep only the dimensions that
-- stay few — environment, release, and for traffic the route — and compress a week into a few
-- thousand rows (traffic) or a few hundred thousand (Web Vital histograms). Queries read the
-- whole hours of a range from them when no device, browser or country filter (and for vitals
-- no route filter) is set, and the minutes at the range's edges from the per-minute tier
-- (pipeline/warehouse/queries.py). Same idempotent states as 003: uniq(event_id) sets counted
-- per key, min/max, so a replayed insert changes nothing.
--
-- traffic_minute kept its per-type counts in a uniqMap state, which costs ~4 µs per row to
-- finalize (a week: seconds); it is rebuilt with the event type in the key and plain uniq
-- states, and backfilled from the stored events.

DROP VIEW IF EXISTS traffic_minute_mv;
DROP TABLE IF EXISTS traffic_minute;

CREATE TABLE IF NOT EXISTS traffic_minute
(
    project_id  UInt32,
    minute      DateTime('UTC'),
    type        LowCardinality(String),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    device      LowCardinality(String),
    browser     LowCardinality(String),
    country     LowCardinality(String),
    events      AggregateFunction(uniq, String),
    visitors    AggregateFunction(uniq, String),
    sessions    AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute, type, environment, release, path, device, browser, country);

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_minute_mv TO traffic_minute AS
SELECT
    project_id, toStartOfMinute(timestamp) AS minute, type, environment, release, path, device, browser, country,
    uniqState(event_id) AS events, uniqState(visitor_id) AS visitors, uniqState(session_id) AS sessions
FROM events
GROUP BY project_id, minute, type, environment, release, path, device, browser, country;

INSERT INTO traffic_minute
SELECT
    project_id, toStartOfMinute(timestamp) AS minute, type, environment, release, path, device, browser, country,
    uniqState(event_id) AS events, uniqState(visitor_id) AS visitors, uniqState(session_id) AS sessions
FROM events FINAL
GROUP BY project_id, minute, type, environment, release, path, device, browser, country;

-- ── hourly ─────────────────────────────────────────────────────────────────────────────────
CREATE TABLE IF NOT EXISTS traffic_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    type        LowCardinality(String),
    environment LowCardinality(String),
    release     LowCardinality(String),
    path        String,
    events      AggregateFunction(uniq, String),
    visitors    AggregateFunction(uniq, String),
    sessions    AggregateFunction(uniq, String)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, type, environment, release, path);

CREATE MATERIALIZED VIEW IF NOT EXISTS traffic_hour_mv TO traffic_hour AS
SELECT
    project_id, toStartOfHour(timestamp) AS hour, type, environment, release, path,
    uniqState(event_id) AS events, uniqState(visitor_id) AS visitors, uniqState(session_id) AS sessions
FROM events
GROUP BY project_id, hour, type, environment, release, path;

INSERT INTO traffic_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, type, environment, release, path,
    uniqState(event_id) AS events, uniqState(visitor_id) AS visitors, uniqState(session_id) AS sessions
FROM events FINAL
GROUP BY project_id, hour, type, environment, release, path;

CREATE TABLE IF NOT EXISTS web_vitals_hour
(
    project_id  UInt32,
    vital_name  LowCardinality(String),
    hour        DateTime('UTC'),
    environment LowCardinality(String),
    release     LowCardinality(String),
    rating      LowCardinality(String),
    bucket      Int16,
    samples     AggregateFunction(uniq, String),
    low         SimpleAggregateFunction(min, Float64),
    high        SimpleAggregateFunction(max, Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, vital_name, hour, environment, release, rating, bucket);

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_hour_mv TO web_vitals_hour AS
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release,
    multiIf(vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [2500., 200., 0.1, 1800., 800., 3000., 2500.], -1.), 'good',
            vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [4000., 500., 0.25, 3000., 1800., 6000., 5000.], -1.), 'needs-improvement',
            'poor') AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    uniqState(event_id) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, hour, environment, release, rating, bucket;

INSERT INTO web_vitals_hour
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release,
    multiIf(vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [2500., 200., 0.1, 1800., 800., 3000., 2500.], -1.), 'good',
            vital_value <= transform(toString(vital_name), ['LCP', 'INP', 'CLS', 'FCP', 'TTFB', 'LOAD', 'TTI'],
                                     [4000., 500., 0.25, 3000., 1800., 6000., 5000.], -1.), 'needs-improvement',
            'poor') AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    uniqState(event_id) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events FINAL
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, hour, environment, release, rating, bucket;
