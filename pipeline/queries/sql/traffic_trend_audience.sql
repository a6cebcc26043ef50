-- PV, UV and sessions per time bucket from the audience rows (no route filter).
-- Distinct people are exact up to 7 days and estimated beyond ({exact_people:Bool}: tiers.estimated;
-- uniqCombined64, exact below ~1,000, ±1 % above): the -If leaves the other function idle.
SELECT
    toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS time,
    sum(viewed) AS page_views,
    if({exact_people:Bool}, uniqExactArrayIf(visitors, {exact_people:Bool}),
       uniqCombined64ArrayIf(visitors, NOT {exact_people:Bool})) AS visitors,
    if({exact_people:Bool}, uniqExactArrayIf(sessions, {exact_people:Bool}),
       uniqCombined64ArrayIf(sessions, NOT {exact_people:Bool})) AS sessions
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
