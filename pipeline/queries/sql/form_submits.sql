-- Forms submitted, by form id (else name).
SELECT
    target AS form,
    count() AS submits,
    uniqExact(session_id) AS sessions,
    uniqExact(visitor_id) AS visitors
FROM events FINAL
WHERE type = 'form_submit'
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY form
ORDER BY submits DESC, form
LIMIT {limit:UInt32}
