-- PV, UV, sessions, errors and events of the range from the traffic rollups (a route filter is set:
-- one set of events per page and type).
SELECT
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS unique_visitors,
    length(groupUniqArrayArray(sessions)) AS sessions,
    sum(failed) AS errors,
    sum(counted) AS events
FROM
(
    SELECT if(type = 'page_view', length(events), 0) AS viewed, if(type = 'error', length(events), 0) AS failed,
           length(events) AS counted, visitors, sessions
    FROM
    (
        -- include: rows/traffic
    )
)
