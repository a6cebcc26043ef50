-- rows/vitals for an answer over the whole range (not per time bucket): the whole days sealed in the
-- daily table {day_table:Identifier} (101: web_vitals_route_day for web_vitals_route_hour, web_vitals_day
-- for web_vitals_hour, summed from their sealed hours), the other whole hours sealed in the hourly
-- table, every other minute from the raw events. A day's rows read as at its first minute. It names
-- the WITH constants of rows/sealed_days, which the statement defines once, at its top.
-- include: rows/vital_events
UNION ALL
-- include: rows/vital_hours
UNION ALL
SELECT day AS minute,
       -- include: rows/vital_rollup_columns
FROM {day_table:Identifier}
WHERE project_id = {project_id:UInt32}
  AND ({vital:String} = '' OR vital_name = {vital:String})
  AND day >= {hours_start:DateTime64(3, 'UTC')}
  AND day < {hours_end:DateTime64(3, 'UTC')}
  -- include: filter/release
  -- include: filter/route
  AND (day, sealed_at) IN (SELECT arrayJoin(sealed_days))
  AND samples > 0
