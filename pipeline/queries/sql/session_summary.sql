-- About the sessions that started in the range (with a page view).
SELECT
    count() AS sessions,
    countIf(pages = 1) AS bounces,
    countIf(error_events > 0) AS with_errors,
    avg(pages) AS pages_per_session,
    quantileExactInclusive(0.5)(dateDiff('millisecond', started, ended)) / 1000 AS median_duration_s
FROM
(
    -- include: rows/sessions
)
