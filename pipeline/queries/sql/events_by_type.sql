-- Events per time bucket and type from the traffic rows (whole minutes).
SELECT
    toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS time,
    type,
    sum(events) AS counted
FROM
(
    -- include: rows/traffic
)
GROUP BY time, type
HAVING counted > 0
ORDER BY time, type
