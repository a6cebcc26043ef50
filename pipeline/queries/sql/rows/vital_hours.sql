-- The rows of the hourly table {hour_table:Identifier} (web_vitals_hour or web_vitals_route_hour) of
-- the hours the WITH constant sealed_hours names, one per key of a sealed hour, as rows/vitals' rows.
SELECT hour AS minute,
       -- include: rows/vital_rollup_columns
FROM {hour_table:Identifier}
WHERE project_id = {project_id:UInt32}
  AND ({vital:String} = '' OR vital_name = {vital:String})
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/route
  -- include: filter/sealed_hours
  AND samples > 0
