-- PV, UV and sessions per time bucket from the traffic rollups (a route filter is set).
SELECT
    toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS time,
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS visitors,
    length(groupUniqArrayArray(sessions)) AS sessions
FROM
(
    SELECT minute, if(type = 'page_view', events, 0) AS viewed, visitors, sessions
    FROM
    (
        -- include: rows/traffic
    )
)
GROUP BY time
ORDER BY time
