-- The traffic rows of a range per route and event type (091): the sealed whole hours from
-- traffic_hour when it can answer (tiers.pick_source: no device, browser or country filter) —
-- a count per route and type, and per route a row of type '' with its visitors and sessions —
-- every other minute from the raw events, a count and the visitors and sessions per route and type.
WITH
    -- include: rows/sealed_and_live_hours
SELECT toStartOfMinute(timestamp) AS minute, toString(type) AS type, path, count() AS events,
       groupUniqArray(cityHash64(visitor_id)) AS visitors, groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/event_minutes
  -- include: filter/dimensions
  -- include: filter/live_hours
GROUP BY minute, type, path
UNION ALL
WITH
    -- include: rows/sealed_and_live_hours
SELECT hour AS minute, toString(type) AS type, path, events, visitors, sessions
FROM traffic_hour
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/route
  -- include: filter/sealed_hours
