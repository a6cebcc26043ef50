-- Events per time bucket of the given error groups, for their sparklines.
SELECT
    fingerprint,
    toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS time,
    sum(length(events)) AS events
FROM error_groups_minute FINAL
WHERE has({fingerprints:Array(UInt64)}, fingerprint)
  AND project_id = {project_id:UInt32}
  -- include: filter/minutes_in_range
GROUP BY fingerprint, time
