-- One Web Vital's log-bucketed histogram per target the SDK blamed (key), from the whole hours
-- sealed in vital_target_hour when it can answer (tiers.pick_source: no route, device, browser or
-- country filter) and the raw events for every other hour of the range.
WITH
    -- include: rows/sealed_and_live_hours
SELECT target AS key,
       if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
       count() AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND type = 'web_vital'
  AND vital_name = {vital:String}
  -- include: filter/events_in_range
  -- include: filter/live_hours
GROUP BY key, bucket
UNION ALL
WITH
    -- include: rows/sealed_and_live_hours
SELECT target AS key, bucket, samples, low, high
FROM {hour_table:Identifier}
WHERE project_id = {project_id:UInt32}
  AND vital_name = {vital:String}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/sealed_hours
  AND samples > 0
