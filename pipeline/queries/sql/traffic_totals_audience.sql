-- PV, UV, sessions, errors and events of the range from the audience rows (no route filter).
-- (The counts get names of their own first: an alias equal to a column's name would replace it.)
SELECT
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS unique_visitors,
    length(groupUniqArrayArray(sessions)) AS sessions,
    sum(failed) AS errors,
    sum(counted) AS events
FROM
(
    SELECT page_views AS viewed, errors AS failed, events AS counted, visitors, sessions
    FROM
    (
        -- include: rows/audience
    )
)
