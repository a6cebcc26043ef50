-- API latency and outcome in one read: per endpoint, status, failure and latency bucket.
SELECT method, endpoint, status, failure, bucket, sum(calls) AS samples, min(low) AS low, max(high) AS high
FROM
(
    -- include: rows/api_calls
)
GROUP BY method, endpoint, status, failure, bucket
