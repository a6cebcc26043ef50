-- The most viewed pages, from the traffic rows (sealed hours of traffic_hour, the rest raw).
SELECT
    path,
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS visitors
FROM
(
    SELECT path, if(type = 'page_view', events, 0) AS viewed, visitors
    FROM
    (
        -- include: rows/traffic
    )
)
GROUP BY path
HAVING page_views > 0
ORDER BY page_views DESC, path
LIMIT {limit:UInt32}
