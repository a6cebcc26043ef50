-- Who came, without a route filter (070_audience_rollups.sql): each visitor and session once per
-- minute or hour and dimensions, not once per page and event type as in the traffic rollups, so
-- a week's uniques union a tenth of the hashes. Whole hours from audience_hour, the edges from
-- audience_minute.
SELECT minute, events, page_views, errors, visitors, sessions
FROM audience_minute FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/edge_minutes
  -- include: filter/release
  -- include: filter/visitor
UNION ALL
SELECT hour AS minute, events, page_views, errors, visitors, sessions
FROM audience_hour FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
