-- The Web Vital rows of a range, one per measurement or per key of a sealed hour: the whole hours
-- sealed in web_vitals_hour when it can answer (tiers.pick_source: no route, device, browser or
-- country filter or breakdown), every other minute from the raw events. Dimensions the hourly
-- rollup lacks read as ''.
WITH
    -- include: rows/sealed_and_live_hours
SELECT toStartOfMinute(timestamp) AS minute, vital_name, path, toString(device) AS device,
       toString(browser) AS browser, toString(country) AS country, toString(release) AS release,
       toString(connection_type) AS connection_type, toString(environment) AS environment,
       vital_rating AS rating,
       if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
       toUInt64(1) AS samples, vital_value AS low, vital_value AS high
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND type = 'web_vital'
  AND ({vital:String} = '' OR vital_name = {vital:String})
  -- include: filter/minutes_in_range
  -- include: filter/live_hours
UNION ALL
WITH
    -- include: rows/sealed_and_live_hours
SELECT hour AS minute, vital_name, '' AS path, '' AS device, '' AS browser, '' AS country,
       toString(release) AS release, '' AS connection_type, toString(environment) AS environment,
       rating, bucket, samples, low, high
FROM web_vitals_hour
WHERE project_id = {project_id:UInt32}
  AND ({vital:String} = '' OR vital_name = {vital:String})
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/sealed_hours
  AND samples > 0
