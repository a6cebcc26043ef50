-- PV, UV, sessions, errors and events of the range from the traffic rows (a route filter is set:
-- counts per page and type, visitors and sessions per page).
SELECT
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS unique_visitors,
    length(groupUniqArrayArray(sessions)) AS sessions,
    sum(failed) AS errors,
    sum(counted) AS events
FROM
(
    SELECT if(type = 'page_view', events, 0) AS viewed, if(type = 'error', events, 0) AS failed,
           events AS counted, visitors, sessions
    FROM
    (
        -- include: rows/traffic
    )
)
