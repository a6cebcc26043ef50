-- The resources slowest to load at the 75th percentile, from the raw events.
SELECT
    http_url AS resource,
    any(toString(initiator)) AS initiator,
    count() AS loads,
    quantilesExactInclusive(0.5, 0.75)(duration_ms) AS durations,  -- one sort for both
    durations[1] AS p50,
    durations[2] AS p75,
    toUInt64(quantileExactInclusive(0.5)(transfer_size)) AS transfer_size
FROM events FINAL
WHERE type = 'resource'
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY resource
HAVING loads >= {min_loads:UInt32}
ORDER BY p75 DESC, resource
LIMIT {limit:UInt32}
