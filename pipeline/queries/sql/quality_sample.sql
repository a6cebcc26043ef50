-- The newest events received in [start, end), all projects, with the columns the GX suites read.
SELECT
    project_id, toString(type) AS type,
    toUnixTimestamp64Milli(timestamp) AS timestamp, event_id, toUnixTimestamp64Milli(received_at) AS received_at,
    session_id, url, path, toString(browser) AS browser, toString(os) AS os, toString(device) AS device,
    toString(vital_name) AS vital_name, vital_value, toString(error_kind) AS error_kind, error_message,
    duration_ms, http_status
FROM events AS e FINAL
WHERE e.received_at >= {start:DateTime64(3, 'UTC')}  -- the column, not the epoch-ms alias
  AND e.received_at < {end:DateTime64(3, 'UTC')}
ORDER BY e.received_at DESC
LIMIT {limit:UInt64}
