-- The sessions of the range: a session is in it when it started in it; the route filter matches its
-- entry page, the other filters the session's dimensions. Sealed start hours from the sessions
-- table (091), the others from the raw events of two hours before them to three after.
SELECT *, tupleElement(traffic_source, 1) AS entry_source
FROM
(
    SELECT session_id, visitor_id, started, ended, pages, error_events, entry, exit, entry_referrer, entry_url,
           traffic_source, environment, release, device, browser, country
    FROM sessions FINAL
    WHERE project_id = {project_id:UInt32}
      AND hour >= toStartOfHour({start:DateTime64(3, 'UTC')})
      AND hour < {end:DateTime64(3, 'UTC')}
      AND started >= {start:DateTime64(3, 'UTC')}
      AND started < {end:DateTime64(3, 'UTC')}
      AND hour IN (
          SELECT hour FROM (
              -- include: rows/sealed_session_hours
          )
      )
    UNION ALL
    SELECT session_id, visitor_id, started, ended, pages, error_events, entry, exit, entry_referrer, entry_url,
           traffic_source, environment, release, device, browser, country
    FROM
    (
        WITH
            (
                SELECT groupArray(hour) FROM (
                    -- include: rows/sealed_session_hours
                )
            ) AS sealed_start_hours,
            arrayFilter(h -> NOT has(sealed_start_hours, h),
                        arrayMap(n -> toStartOfHour(toDateTime({start:DateTime64(3, 'UTC')}, 'UTC')) + toIntervalHour(n),
                                 range(toUInt64(dateDiff('hour', toStartOfHour({start:DateTime64(3, 'UTC')}),
                                                         {end:DateTime64(3, 'UTC')} - toIntervalMillisecond(1)) + 1))))
                AS live
        -- include: rows/session_events
        WHERE project_id = {project_id:UInt32}
          AND notEmpty(live)
          AND timestamp >= arrayMin(live) - toIntervalHour(2)
          AND timestamp < arrayMax(live) + toIntervalHour(3)
        GROUP BY session_id
        HAVING started >= {start:DateTime64(3, 'UTC')}
           AND started < {end:DateTime64(3, 'UTC')}
           AND has(live, toStartOfHour(started))
    )
)
WHERE pages > 0
  AND ({route:String} = '' OR entry LIKE {route:String})
  -- include: filter/release
  -- include: filter/visitor
