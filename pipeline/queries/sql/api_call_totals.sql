-- API calls and failures (HTTP status >= 400 or no response) of the range, for the alert.
SELECT
    sum(calls) AS api_calls,
    sumIf(calls, status = 0 OR status >= 400) AS api_failures
FROM
(
    -- include: rows/api_calls
)
