-- The traffic rows of the range's live hours from the raw events (rows/traffic): per minute, route
-- and type a count and the visitors and sessions. Follows a WITH naming live_hours
-- (rows/sealed_and_live_hours, or rows/sealed_days).
SELECT toStartOfMinute(timestamp) AS minute, toString(type) AS type, path, count() AS events,
       groupUniqArray(cityHash64(visitor_id)) AS visitors, groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/event_minutes
  -- include: filter/dimensions
  -- include: filter/live_hours
GROUP BY minute, type, path
