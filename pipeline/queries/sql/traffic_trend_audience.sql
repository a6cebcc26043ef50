-- PV, UV and sessions per time bucket from the audience rows (no route filter).
SELECT
    toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS time,
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS visitors,
    length(groupUniqArrayArray(sessions)) AS sessions
FROM
(
    SELECT minute, page_views AS viewed, visitors, sessions
    FROM
    (
        -- include: rows/audience
    )
)
GROUP BY time
ORDER BY time
