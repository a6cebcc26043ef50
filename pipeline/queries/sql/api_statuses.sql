-- API calls per endpoint, status and failure.
SELECT method, endpoint, status, failure, sum(calls) AS calls
FROM
(
    -- include: rows/api_calls
)
GROUP BY method, endpoint, status, failure
