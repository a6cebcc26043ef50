-- A WITH clause's constant session_days: the (day, sealed_at) of the range's whole days that
-- session_day (099) answers, a scalar computed once per statement (rows/sealed_session_seals names
-- it before it comes): those rows/sealed_days_of finds, of which no hour their sessions are read
-- from (two hours either side of the day, as rows/sealed_session_hours) was inserted into since the
-- day's seal. None when hours_start = hours_end (the filters need what session_day lacks).
(
    SELECT groupArray((days.day, days.sealed_at))
    FROM
    (
        -- include: rows/sealed_days_of
    ) AS days
    LEFT JOIN
    (
        SELECT toStartOfDay(hour + toIntervalHour(offset)) AS day, max(touched_at) AS touched_at
        FROM audience_hour_touched
        ARRAY JOIN [-2, 2] AS offset
        WHERE project_id = {project_id:UInt32}
          AND hour >= {hours_start:DateTime64(3, 'UTC')} - toIntervalHour(2)
          AND hour < {hours_end:DateTime64(3, 'UTC')} + toIntervalHour(2)
        GROUP BY day
    ) AS near ON near.day = days.day
    WHERE days.sealed_at > ifNull(near.touched_at, toDateTime64(0, 3, 'UTC'))
) AS session_days
