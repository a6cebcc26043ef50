-- One Web Vital's log-bucketed histogram per time bucket and rating.
SELECT
    toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS key,
    bucket,
    toString(rating) AS rating,
    sum(samples) AS samples,
    min(low) AS low,
    max(high) AS high
FROM
(
    -- include: rows/vitals
)
GROUP BY key, bucket, rating
