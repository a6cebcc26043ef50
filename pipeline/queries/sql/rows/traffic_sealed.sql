-- The traffic rows of the range's sealed hours from traffic_hour (091, rows/traffic): a count per
-- route and type, and per route a row of type '' with its visitors and sessions. Follows a WITH
-- naming sealed_hours (rows/sealed_and_live_hours, or rows/sealed_days).
SELECT hour AS minute, toString(type) AS type, path, events, visitors, sessions
FROM traffic_hour
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/route
  -- include: filter/sealed_hours
