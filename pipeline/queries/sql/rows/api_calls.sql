-- The API call rows of a range, one per call or per key of a sealed hour: the whole hours sealed
-- in api_calls_hour when it can answer (tiers.pick_source: no route, device, browser or country
-- filter), every other minute from the raw events.
WITH
    -- include: rows/sealed_and_live_hours
SELECT toString(http_method) AS method, api_endpoint AS endpoint, http_status AS status,
       toString(api_failure) AS failure,
       if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
       toUInt64(1) AS calls, duration_ms AS low, duration_ms AS high
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND type = 'api_call'
  AND toStartOfMinute(timestamp) >= {start:DateTime64(3, 'UTC')}
  AND toStartOfMinute(timestamp) < {end:DateTime64(3, 'UTC')}
  -- include: filter/dimensions
  -- include: filter/live_hours
UNION ALL
WITH
    -- include: rows/sealed_and_live_hours
SELECT toString(method) AS method, endpoint, status, toString(failure) AS failure, bucket, calls, low, high
FROM api_calls_hour
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/sealed_hours
  AND calls > 0
