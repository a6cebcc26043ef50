-- The most viewed pages, from the traffic rows (sealed hours of traffic_hour, the rest raw); past 7
-- days top_pages_days reads the sealed days of traffic_day (098) unless a filter needs the hours.
-- Distinct people are exact up to 7 days and estimated beyond ({exact_people:Bool}: tiers.estimated;
-- uniqCombined64, exact below ~1,000, ±1 % above): the -If leaves the other function idle.
SELECT
    path,
    sum(viewed) AS page_views,
    if({exact_people:Bool}, uniqExactArrayIf(visitors, {exact_people:Bool}),
       uniqCombined64ArrayIf(visitors, NOT {exact_people:Bool})) AS visitors
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
