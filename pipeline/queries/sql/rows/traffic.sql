-- The traffic rows of a range per route and event type (091): the sealed whole hours from
-- traffic_hour when it can answer (tiers.pick_source: no device, browser or country filter) —
-- a count per route and type, and per route a row of type '' with its visitors and sessions —
-- every other minute from the raw events, a count and the visitors and sessions per route and type.
SELECT toStartOfMinute(timestamp) AS minute, toString(type) AS type, path, count() AS events,
       groupUniqArray(cityHash64(visitor_id)) AS visitors, groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/event_minutes
  -- include: filter/dimensions
  -- the edges, and the whole hours from the first one not sealed (a scalar: the primary key skips
  -- the rest), but not the sealed ones among them
  AND (timestamp < {hours_start:DateTime64(3, 'UTC')} OR timestamp >= (
      SELECT ifNull(minOrNull(hour), toDateTime({hours_end:DateTime64(3, 'UTC')}, 'UTC'))
      FROM (
          -- include: rows/span_hours
      )
      WHERE NOT has((SELECT groupArray(hour) FROM (
          -- include: rows/sealed_traffic_hours
      )), hour)
  ))
  AND toStartOfHour(timestamp) NOT IN (
      SELECT hour FROM (
          -- include: rows/sealed_traffic_hours
      )
  )
GROUP BY minute, type, path
UNION ALL
SELECT hour AS minute, toString(type) AS type, path, events, visitors, sessions
FROM traffic_hour FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/route
  -- a set, not has() over an array: a hash lookup per row, not a scan of every sealed hour
  AND hour IN (
      SELECT hour FROM (
          -- include: rows/sealed_traffic_hours
      )
  )
