-- The whole hours of the range the audience family has sealed (audience_hour, 091) and nobody
-- inserted into since: each with its latest seal.
SELECT sealed.hour AS hour, sealed.sealed_at AS sealed_at
FROM
(
    SELECT hour, max(sealed_at) AS sealed_at
    FROM audience_hour
    WHERE project_id = {project_id:UInt32}
      -- include: filter/whole_hours
    GROUP BY hour
) AS sealed
LEFT JOIN
(
    -- include: rows/touched_hours
) AS touched ON touched.hour = sealed.hour
WHERE sealed.sealed_at > ifNull(touched.touched_at, toDateTime64(0, 3, 'UTC'))
