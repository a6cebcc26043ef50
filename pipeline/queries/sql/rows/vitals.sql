-- The Web Vital rows of a range: the whole hours from web_vitals_hour when it can answer
-- (tiers.pick_source: no route, device, browser or country filter or breakdown), the other
-- minutes from web_vitals_minute. Dimensions the hourly rollup lacks read as ''.
SELECT minute, vital_name, path, toString(device) AS device, toString(browser) AS browser,
       toString(country) AS country, toString(release) AS release, toString(connection_type) AS connection_type,
       toString(environment) AS environment, rating, bucket, samples, low, high
FROM web_vitals_minute FINAL
WHERE project_id = {project_id:UInt32}
  AND ({vital:String} = '' OR vital_name = {vital:String})
  -- include: filter/edge_minutes
  -- include: filter/dimensions
UNION ALL
SELECT hour AS minute, vital_name, '' AS path, '' AS device, '' AS browser, '' AS country,
       toString(release) AS release, '' AS connection_type, toString(environment) AS environment,
       rating, bucket, samples, low, high
FROM web_vitals_hour FINAL
WHERE project_id = {project_id:UInt32}
  AND ({vital:String} = '' OR vital_name = {vital:String})
  -- include: filter/whole_hours
  -- include: filter/release
