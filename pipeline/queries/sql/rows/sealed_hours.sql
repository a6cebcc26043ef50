-- The whole hours of the range whose counts are sealed (073_sealed_audience_hours.sql) and
-- untouched since: each with its latest seal.
SELECT sealed.hour AS hour, sealed.sealed_at AS sealed_at
FROM
(
    SELECT hour, max(sealed_at) AS sealed_at
    FROM audience_hour_counts
    WHERE project_id = {project_id:UInt32}
      -- include: filter/whole_hours
    GROUP BY hour
) AS sealed
LEFT JOIN
(
    SELECT hour, max(touched_at) AS touched_at
    FROM audience_hour_touched
    WHERE project_id = {project_id:UInt32}
      -- include: filter/whole_hours
    GROUP BY hour
) AS touched ON touched.hour = sealed.hour
WHERE sealed.sealed_at > ifNull(touched.touched_at, toDateTime64(0, 3, 'UTC'))
