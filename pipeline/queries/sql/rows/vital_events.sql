-- The raw Web Vital measurements of the range's minutes in the hours the WITH constant live_hours
-- names (rows/sealed_and_live_hours or rows/sealed_days), one row each, as rows/vitals' rows.
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
