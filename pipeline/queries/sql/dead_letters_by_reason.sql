-- DLQ volume per time bucket (by failed_at), reason and step; a drop recorded twice counts once.
SELECT
    toDateTime64(toStartOfInterval(failed_at, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS bucket,
    toString(reason) AS reason, toString(step) AS step, count() AS drops
FROM dead_letters FINAL
WHERE failed_at >= {start:DateTime64(3, 'UTC')} AND failed_at < {end:DateTime64(3, 'UTC')}
  AND ({project_id:UInt32} = 0 OR project_id = {project_id:UInt32})
GROUP BY bucket, reason, step
ORDER BY bucket, drops DESC, reason
