-- PV, UV, sessions, errors and events of the range from the audience rows (no route filter).
-- (The counts get names of their own first: an alias equal to a column's name would replace it.)
-- Distinct people are exact up to 7 days and estimated beyond ({exact_people:Bool}: tiers.exact_people;
-- uniqCombined64, exact below ~1,000, ±1 % over a month): the -If leaves the other function idle.
SELECT
    sum(viewed) AS page_views,
    if({exact_people:Bool}, uniqExactArrayIf(visitors, {exact_people:Bool}),
       uniqCombined64ArrayIf(visitors, NOT {exact_people:Bool})) AS unique_visitors,
    if({exact_people:Bool}, uniqExactArrayIf(sessions, {exact_people:Bool}),
       uniqCombined64ArrayIf(sessions, NOT {exact_people:Bool})) AS sessions,
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
