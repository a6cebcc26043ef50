-- The most clicked elements, one row per selector, text and link: the whole hours sealed in
-- click_hour (094) when it can answer (tiers.pick_source: no device, browser or country filter),
-- the range's other clicks from the raw events. Each side is grouped by element first; the
-- visitors are the distinct cityHash64(visitor_id) of both (a sealed hour keeps them as a set):
-- exact up to 7 days and estimated beyond ({exact_people:Bool}: tiers.estimated; uniqCombined64,
-- exact below ~1,000, ±1 % over a month): the -If leaves the other function idle.
SELECT target, text, href, sum(key_clicks) AS clicks,
       if({exact_people:Bool}, uniqExactArrayIf(key_visitors, {exact_people:Bool}),
          uniqCombined64ArrayIf(key_visitors, NOT {exact_people:Bool})) AS visitors
FROM
(
    WITH
        -- include: rows/sealed_and_live_hours
    SELECT target, click_text AS text, click_href AS href, count() AS key_clicks,
           groupUniqArray(cityHash64(visitor_id)) AS key_visitors
    FROM events FINAL
    WHERE type = 'click'
      AND project_id = {project_id:UInt32}
      -- include: filter/events_in_range
      -- include: filter/live_hours
    GROUP BY target, text, href
    UNION ALL
    WITH
        -- include: rows/sealed_and_live_hours
    SELECT target, click_text AS text, click_href AS href, clicks AS key_clicks, visitors AS key_visitors
    FROM click_hour
    WHERE project_id = {project_id:UInt32}
      -- include: filter/whole_hours
      -- include: filter/release
      -- include: filter/route
      -- include: filter/sealed_hours
      AND clicks > 0
)
GROUP BY target, text, href
ORDER BY clicks DESC, target, text, href
LIMIT {limit:UInt32}
