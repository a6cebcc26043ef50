-- The traffic rows of a range: the whole hours from traffic_hour when it can answer
-- (tiers.pick_source: no device, browser or country filter), the other minutes from traffic_minute.
SELECT minute, toString(type) AS type, path, events, visitors, sessions
FROM traffic_minute FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/edge_minutes
  -- include: filter/dimensions
UNION ALL
SELECT hour AS minute, toString(type) AS type, path, events, visitors, sessions
FROM traffic_hour FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/route
