-- What the SDK blamed for one Web Vital (LCP element, INP target), from the raw events.
SELECT
    target,
    count() AS samples,
    quantileExactInclusive(0.75)(vital_value) AS p75
FROM events FINAL
WHERE type = 'web_vital'
  AND vital_name = {vital:String}
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY target
ORDER BY samples DESC, target
LIMIT {limit:UInt32}
