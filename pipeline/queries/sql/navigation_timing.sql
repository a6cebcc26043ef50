-- Where a page load's time goes: the LOAD measurements' Navigation Timing phases.
SELECT
    phase,
    count() AS samples,
    avg(ms) AS mean,
    quantileExactInclusive(0.75)(ms) AS p75
FROM events FINAL
ARRAY JOIN mapKeys(timings) AS phase, mapValues(timings) AS ms
WHERE type = 'web_vital'
  AND vital_name = 'LOAD'
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY phase
