-- Both periods' exact p75 in one pass over the raw Web Vitals (the sort key starts with
-- project_id, type, timestamp: only the two periods' web_vital rows are read).
SELECT
    toString(vital_name) AS vital,
    countIf(timestamp >= {start:DateTime64(3, 'UTC')}) AS samples,
    countIf(timestamp < {start:DateTime64(3, 'UTC')}) AS samples_before,
    quantileExactInclusiveIf(0.75)(vital_value, timestamp >= {start:DateTime64(3, 'UTC')}) AS p75,
    quantileExactInclusiveIf(0.75)(vital_value, timestamp < {start:DateTime64(3, 'UTC')}) AS p75_before
FROM events FINAL
WHERE type = 'web_vital'
  AND project_id = {project_id:UInt32}
  AND timestamp >= {previous_start:DateTime64(3, 'UTC')}
  AND timestamp < {end:DateTime64(3, 'UTC')}
  -- include: filter/dimensions
GROUP BY vital
ORDER BY vital
