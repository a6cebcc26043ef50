-- Exact p50 / p75 / p95 per Web Vital, from the raw events.
SELECT
    toString(vital_name) AS vital,
    count() AS samples,
    quantilesExactInclusive(0.5, 0.75, 0.95)(vital_value) AS q,
    q[1] AS p50,
    q[2] AS p75,
    q[3] AS p95
FROM events FINAL
WHERE type = 'web_vital'
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY vital
ORDER BY vital
