-- The sessions of the range: a session is in it when it started in it; the route filter matches its
-- entry page, the other filters the session's dimensions. Sealed start hours from the sessions
-- table (091: the rows of each hour's latest seal, matched in a set, so no FINAL), the others from
-- the raw events of two hours before them to three after. It names the WITH constants of
-- rows/sealed_session_seals, which the statement defines once, at its top (each copy of the lookups
-- is run again: ~10–25 ms).
SELECT *, tupleElement(traffic_source, 1) AS entry_source
FROM
(
    SELECT session_id, visitor_id, started, ended, pages, error_events, entry, exit, entry_referrer, entry_url,
           traffic_source, environment, release, device, browser, country
    FROM sessions
    WHERE project_id = {project_id:UInt32}
      AND hour >= toStartOfHour({start:DateTime64(3, 'UTC')})
      AND hour < {end:DateTime64(3, 'UTC')}
      AND started >= {start:DateTime64(3, 'UTC')}
      AND started < {end:DateTime64(3, 'UTC')}
      AND (hour, sealed_at) IN (SELECT arrayJoin(sealed_start_hours))
    UNION ALL
    SELECT session_id, visitor_id, started, ended, pages, error_events, entry, exit, entry_referrer, entry_url,
           traffic_source, environment, release, device, browser, country
    FROM
    (
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
