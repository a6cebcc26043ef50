-- Events per minute (or bucket of minutes) and type, from the raw events.
SELECT
    toDateTime64(toStartOfInterval(timestamp, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS minute,
    toString(type) AS type,
    count() AS events
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY minute, type
ORDER BY minute, type
