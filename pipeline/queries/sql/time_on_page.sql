-- How long pages stay visible (time_on_page events).
SELECT
    path,
    count() AS views,
    quantilesExactInclusive(0.5, 0.75)(duration_ms) AS durations,  -- one sort for both
    durations[1] / 1000 AS median_s,
    durations[2] / 1000 AS p75_s
FROM events FINAL
WHERE type = 'time_on_page'
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY path
ORDER BY views DESC, path
LIMIT {limit:UInt32}
