-- PV, UV, sessions, errors and events of the range, exact, from the raw events.
SELECT
    countIf(type = 'page_view') AS page_views,
    uniqExact(visitor_id) AS unique_visitors,
    uniqExact(session_id) AS sessions,
    countIf(type = 'error') AS errors,
    count() AS events
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/events_in_range
