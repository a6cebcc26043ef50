-- The whole hours of the range that the hourly table {hour_table:Identifier} answers: sealed
-- (recomputed from events FINAL by its <table>_seal view, 090/091) and untouched since, each with its
-- latest seal; a query reads a sealed hour's rows of that seal only. An hour is sealed for a family
-- when its latest sealed_at is newer than its latest insert (rows/touched_hours).
SELECT sealed.hour AS hour, sealed.sealed_at AS sealed_at
FROM
(
    SELECT hour, max(sealed_at) AS sealed_at
    FROM {hour_table:Identifier}
    WHERE project_id = {project_id:UInt32}
      -- include: filter/whole_hours
    GROUP BY hour
) AS sealed
LEFT JOIN
(
    -- include: rows/touched_hours
) AS touched ON touched.hour = sealed.hour
WHERE sealed.sealed_at > ifNull(touched.touched_at, toDateTime64(0, 3, 'UTC'))
