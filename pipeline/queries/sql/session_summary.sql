-- About the sessions that started in the range (with a page view): sessions, bounces, with_errors,
-- pages, how many whole days of session_day answered (099: no route, device, browser or country
-- filter) and, when none did, the exact median duration (first to last event, s). When days
-- answer, per log bucket of the duration (ms; as 099's) with the bucket's exact low and high:
-- visits.session_summary sums them and reads the median from the histogram (within 1 %); else one row.
WITH
    -- include: rows/sealed_session_seals
SELECT
    bucket AS duration_bucket,
    sum(n) AS sessions,
    sum(single) AS bounces,
    sum(erring) AS with_errors,
    sum(views) AS pages,
    min(shortest) AS low,
    max(longest) AS high,
    length(session_days) AS days,
    quantileExactInclusiveIf(0.5)(shortest, empty(session_days)) / 1000 AS median_duration_s
FROM
(
    SELECT if(empty(session_days), toInt16(0),
              if(duration > 0, toInt16(ceil(log(duration) / log(101 / 99))), toInt16(-32768))) AS bucket,
           toUInt64(1) AS n, toUInt64(pages = 1) AS single, toUInt64(error_events > 0) AS erring,
           pages AS views, duration AS shortest, duration AS longest, toUInt8(0) AS from_day
    FROM
    (
        SELECT *, toFloat64(dateDiff('millisecond', started, ended)) AS duration
        FROM
        (
            -- include: rows/sessions
        )
    )
    UNION ALL
    SELECT bucket, sessions AS n, bounces AS single, with_errors AS erring, pages AS views, low AS shortest,
           high AS longest, toUInt8(1) AS from_day
    FROM session_day
    WHERE project_id = {project_id:UInt32}
      AND day >= {hours_start:DateTime64(3, 'UTC')}
      AND day < {hours_end:DateTime64(3, 'UTC')}
      AND (day, sealed_at) IN (SELECT arrayJoin(session_days))
      AND breakdown = 'duration'
      -- include: filter/release
)
GROUP BY bucket
