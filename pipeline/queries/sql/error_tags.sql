-- How one error group's events spread over browser, os, release, route, device, country, server
-- and transaction.
SELECT tag_value.1 AS tag, tag_value.2 AS value, count() AS events
FROM events FINAL
ARRAY JOIN [('browser', toString(browser)), ('os', toString(os)), ('release', toString(release)),
            ('route', path), ('device', toString(device)), ('country', toString(country)),
            ('server', toString(server_name)), ('transaction', transaction)] AS tag_value
WHERE type = 'error'
  AND fingerprint = {fingerprint:UInt64}
  AND project_id = {project_id:UInt32}
  -- include: filter/events_in_range
GROUP BY tag, value
ORDER BY tag, events DESC, value
