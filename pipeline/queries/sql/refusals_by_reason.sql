-- What the collector refused (075 refusals_minute) per time bucket, project, transport, reason and unit.
SELECT
    toDateTime64(refused.bucket, 3, 'UTC') AS bucket,
    refused.project_id AS project_id, names.name AS project,
    transport, reason, unit, refusals
FROM
(
    SELECT toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})) AS bucket, project_id,
           toString(transport) AS transport, toString(reason) AS reason, toString(unit) AS unit,
           sum(refusals) AS refusals
    FROM refusals_minute
    WHERE minute >= {start:DateTime64(3, 'UTC')} AND minute < {end:DateTime64(3, 'UTC')}
      AND ({project_id:UInt64} = 0 OR project_id = {project_id:UInt64})
    GROUP BY bucket, project_id, transport, reason, unit
) AS refused
LEFT JOIN (SELECT toUInt64(id) AS id, any(name) AS name FROM projects FINAL GROUP BY id) AS names
    ON names.id = refused.project_id
ORDER BY bucket, refusals DESC, reason, project_id
SETTINGS join_use_nulls = 0
