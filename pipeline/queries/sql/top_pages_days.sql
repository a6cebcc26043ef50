-- The most viewed pages when their visitors are estimated (past 7 days: tiers.estimated) and no
-- filter needs the hours (tiers.daily): the whole days sealed in traffic_day (098), its page views
-- and visitors' uniqCombined64 states; the other sealed hours from traffic_hour and the rest raw (the
-- traffic rows, read as rows/traffic does), their visitor hashes made states of the same function,
-- so merging them all is the estimate top_pages gives over the hours' hashes. The day and hour
-- lookups (rows/sealed_days) are defined once, here: each copy would run again.
WITH
    -- include: rows/sealed_days
SELECT
    path,
    sum(viewed) AS page_views,
    uniqCombined64Merge(people) AS visitors
FROM
(
    SELECT path, sum(if(type = 'page_view', events, 0)) AS viewed, uniqCombined64StateArray(visitors) AS people
    FROM
    (
        -- include: rows/traffic_raw
        UNION ALL
        -- include: rows/traffic_sealed
    )
    GROUP BY path
    UNION ALL
    SELECT path, page_views AS viewed, visitors AS people
    FROM {day_table:Identifier}
    WHERE project_id = {project_id:UInt32}
      AND day >= {hours_start:DateTime64(3, 'UTC')}
      AND day < {hours_end:DateTime64(3, 'UTC')}
      -- include: filter/environment
      -- include: filter/route
      AND (day, sealed_at) IN (SELECT arrayJoin(sealed_days))
)
GROUP BY path
HAVING page_views > 0
ORDER BY page_views DESC, path
LIMIT {limit:UInt32}
