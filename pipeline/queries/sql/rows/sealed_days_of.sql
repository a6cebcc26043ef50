-- The whole days of the range that the daily table {day_table:Identifier} answers (097: summed from
-- the hourly table's sealed hours by its <table>_seal view), each with its latest seal: a day is
-- summed only when none of its hours waits for a seal, and its sealed_at is the newest of its hours'
-- seals, so it answers while no hour of it has been inserted into since (rows/touched_hours): an
-- insert landing later is newer than every seal then made (the seals' 60 s margin, 090).
SELECT days.day AS day, days.sealed_at AS sealed_at
FROM
(
    SELECT day, max(sealed_at) AS sealed_at
    FROM {day_table:Identifier}
    WHERE project_id = {project_id:UInt32}
      AND day >= {hours_start:DateTime64(3, 'UTC')}
      AND day + toIntervalDay(1) <= {hours_end:DateTime64(3, 'UTC')}
    GROUP BY day
) AS days
LEFT JOIN
(
    SELECT toStartOfDay(hour) AS day, max(touched_at) AS touched_at
    FROM
    (
        -- include: rows/touched_hours
    )
    GROUP BY day
) AS touched ON touched.day = days.day
WHERE days.sealed_at > ifNull(touched.touched_at, toDateTime64(0, 3, 'UTC'))
