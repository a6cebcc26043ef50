-- The log-bucketed histogram of time on page (duration_ms) per path (key), from the whole days
-- sealed in time_on_page_day (100) and the range's other whole hours sealed in time_on_page_hour
-- (096) when they can answer (tiers.pick_source: no device, browser or country filter), and the raw
-- events for every other hour of the range. It names the WITH constants of rows/sealed_days, which
-- the statement defines once, at its top.
SELECT path AS key,
       if(duration_ms > 0, toInt16(ceil(log(duration_ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
       count() AS samples, min(duration_ms) AS low, max(duration_ms) AS high
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND type = 'time_on_page'
  -- include: filter/events_in_range
  -- include: filter/live_hours
GROUP BY key, bucket
UNION ALL
SELECT path AS key, bucket, views AS samples, low, high
FROM {hour_table:Identifier}
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/route
  -- include: filter/sealed_hours
  AND views > 0
UNION ALL
SELECT path AS key, bucket, views AS samples, low, high
FROM {day_table:Identifier}
WHERE project_id = {project_id:UInt32}
  -- include: filter/release
  -- include: filter/route
  -- include: filter/sealed_days
  AND views > 0
