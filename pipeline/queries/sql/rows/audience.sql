-- Who came, without a route filter (091): the sealed whole hours from audience_hour (counts, and
-- each visitor and session once per hour, environment and release), every other minute of the
-- range from the raw events with the same aggregation.
SELECT toStartOfMinute(timestamp) AS minute, countIf(type = 'page_view') AS page_views,
       countIf(type = 'error') AS errors, count() AS events,
       groupUniqArray(cityHash64(visitor_id)) AS visitors, groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/event_minutes
  -- include: filter/release
  -- include: filter/visitor
  -- the edges, and the whole hours from the first one not sealed (a scalar: the primary key skips
  -- the rest), but not the sealed ones among them
  AND (timestamp < {hours_start:DateTime64(3, 'UTC')} OR timestamp >= (
      SELECT ifNull(minOrNull(hour), toDateTime({hours_end:DateTime64(3, 'UTC')}, 'UTC'))
      FROM (
          -- include: rows/span_hours
      )
      WHERE NOT has((SELECT groupArray(hour) FROM (
          -- include: rows/sealed_hours
      )), hour)
  ))
  AND toStartOfHour(timestamp) NOT IN (
      SELECT hour FROM (
          -- include: rows/sealed_hours
      )
  )
GROUP BY minute
UNION ALL
SELECT hour AS minute, page_views, errors, events, visitors, sessions
FROM audience_hour FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- a set, not has() over an array: a hash lookup per row, not a scan of every sealed hour
  AND hour IN (
      SELECT hour FROM (
          -- include: rows/sealed_hours
      )
  )
