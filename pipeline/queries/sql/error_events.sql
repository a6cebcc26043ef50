-- One error group's latest events in the range, from the raw events.
SELECT
    event_id, timestamp,
    toString(error_kind) AS kind, error_type, error_message AS message,
    toString(release) AS release, toString(environment) AS environment,
    toString(browser) AS browser, toString(browser_version) AS browser_version,
    toString(os) AS os, toString(os_version) AS os_version, toString(device) AS device, toString(country) AS country,
    path, url, session_id, visitor_id, user_id, data,
    toString(platform) AS platform, toString(level) AS level, logger, toString(server_name) AS server_name,
    transaction
FROM events FINAL
WHERE type = 'error'
  AND fingerprint = {fingerprint:UInt64}
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
ORDER BY timestamp DESC, event_id
LIMIT {limit:UInt32}
