-- Events per time bucket of the given error groups, for their sparklines (rows/error_rows).
SELECT
    fingerprint,
    toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS time,
    sum(events) AS events
FROM
(
    -- include: rows/error_rows
)
GROUP BY fingerprint, time
