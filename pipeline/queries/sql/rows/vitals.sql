-- The Web Vital rows of a range, one per measurement or per key of a sealed hour: the whole hours
-- sealed in the hourly table {hour_table:Identifier} when it can answer (tiers.pick_source: no
-- device, browser, country or connection filter or breakdown; web_vitals_route_hour when the route
-- is one, web_vitals_hour, whose path is always '', otherwise), every other minute from the raw
-- events. Dimensions the hourly rollups lack read as ''.
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
SELECT hour AS minute, vital_name, path, '' AS device, '' AS browser, '' AS country,
       toString(release) AS release, '' AS connection_type, toString(environment) AS environment,
       rating, bucket, samples, low, high
FROM {hour_table:Identifier}
WHERE project_id = {project_id:UInt32}
  AND ({vital:String} = '' OR vital_name = {vital:String})
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/route
  -- include: filter/sealed_hours
  AND samples > 0
