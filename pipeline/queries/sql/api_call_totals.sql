-- API calls and failures (HTTP status >= 400 or no response) of the range, for the alert.
SELECT
    sum(length(calls)) AS api_calls,
    sumIf(length(calls), status = 0 OR status >= 400) AS api_failures
FROM api_calls_minute FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/minutes_in_range
