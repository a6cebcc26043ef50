-- The start hours of the range whose sessions are sealed (091's sessions) and nobody inserted into
-- the hours their sessions are read from (two hours either side) since, each with its latest seal.
SELECT sealed.hour AS hour, sealed.sealed_at AS sealed_at
FROM
(
    SELECT hour, max(sealed_at) AS sealed_at
    FROM sessions
    WHERE project_id = {project_id:UInt32}
      AND hour >= toStartOfHour({start:DateTime64(3, 'UTC')})
      AND hour < {end:DateTime64(3, 'UTC')}
    GROUP BY hour
) AS sealed
LEFT JOIN
(
    SELECT hour + toIntervalHour(offset) AS start_hour, max(touched_at) AS touched_at
    FROM audience_hour_touched
    ARRAY JOIN [-2, -1, 0, 1, 2] AS offset
    WHERE project_id = {project_id:UInt32}
      AND hour >= toStartOfHour({start:DateTime64(3, 'UTC')}) - toIntervalHour(2)
      AND hour < {end:DateTime64(3, 'UTC')} + toIntervalHour(2)
    GROUP BY start_hour
) AS touched ON touched.start_hour = sealed.hour
WHERE sealed.sealed_at > ifNull(touched.touched_at, toDateTime64(0, 3, 'UTC'))
