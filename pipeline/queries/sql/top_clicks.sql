-- The most clicked elements, one row per selector, text and link.
SELECT
    target,
    click_text AS text,
    click_href AS href,
    count() AS clicks,
    uniqExact(visitor_id) AS visitors
FROM events FINAL
WHERE type = 'click'
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY target, text, href
ORDER BY clicks DESC, target, text, href
LIMIT {limit:UInt32}
