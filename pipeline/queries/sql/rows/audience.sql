-- Who came, without a route filter (091): the sealed whole hours from audience_hour (counts, and
-- each visitor and session once per hour, environment and release), every other minute of the
-- range from the raw events with the same aggregation.
WITH
    -- include: rows/sealed_and_live_hours
SELECT toStartOfMinute(timestamp) AS minute, countIf(type = 'page_view') AS page_views,
       countIf(type = 'error') AS errors, count() AS events,
       groupUniqArray(cityHash64(visitor_id)) AS visitors, groupUniqArray(cityHash64(session_id)) AS sessions
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/event_minutes
  -- include: filter/release
  -- include: filter/visitor
  -- include: filter/live_hours
GROUP BY minute
UNION ALL
WITH
    -- include: rows/sealed_and_live_hours
SELECT hour AS minute, page_views, errors, events, visitors, sessions
FROM audience_hour
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/sealed_hours
