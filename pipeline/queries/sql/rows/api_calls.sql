-- The API call rows of a range: the whole hours from api_calls_hour when it can answer
-- (tiers.pick_source: no route, device, browser or country filter), the other minutes from
-- api_calls_minute.
SELECT toString(method) AS method, endpoint, status, toString(failure) AS failure, bucket, calls, low, high
FROM api_calls_minute FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/edge_minutes
  -- include: filter/dimensions
UNION ALL
SELECT toString(method) AS method, endpoint, status, toString(failure) AS failure, bucket, calls, low, high
FROM api_calls_hour FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
