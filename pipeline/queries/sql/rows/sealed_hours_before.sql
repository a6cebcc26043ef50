-- The hours error_groups_hour (092) has sealed wholly before the minute of {start:DateTime64(3, 'UTC')}
-- and nobody inserted into since, each with its latest seal (none unless {history_sealed:Bool}), as
-- rows/sealed_hours_of does for a range's whole hours.
SELECT sealed.hour AS hour, sealed.sealed_at AS sealed_at
FROM
(
    SELECT hour, max(sealed_at) AS sealed_at
    FROM error_groups_hour
    WHERE project_id = {project_id:UInt32}
      AND {history_sealed:Bool}
      AND hour <= {start:DateTime64(3, 'UTC')} - toIntervalHour(1)
    GROUP BY hour
) AS sealed
LEFT JOIN
(
    SELECT hour, max(touched_at) AS touched_at
    FROM audience_hour_touched
    WHERE project_id = {project_id:UInt32}
      AND hour <= {start:DateTime64(3, 'UTC')} - toIntervalHour(1)
    GROUP BY hour
) AS touched ON touched.hour = sealed.hour
WHERE sealed.sealed_at > ifNull(touched.touched_at, toDateTime64(0, 3, 'UTC'))
