-- One row per session of the raw events selected (project, time): when it started and ended, its
-- pages, events and errors, entry and exit pages, where it came from and the visitor's dimensions.
SELECT
    session_id, any(visitor_id) AS visitor_id, min(timestamp) AS started, max(timestamp) AS ended,
    countIf(type = 'page_view') AS pages, countIf(type = 'error') AS error_events,
    argMinIf(path, timestamp, type = 'page_view') AS entry, argMaxIf(path, timestamp, type = 'page_view') AS exit,
    argMinIf(referrer, timestamp, type = 'page_view') AS entry_referrer,
    argMinIf(url, timestamp, type = 'page_view') AS entry_url,
    argMinIf((referrer_source, utm_source, utm_medium, utm_campaign), timestamp, type = 'page_view') AS traffic_source,
    any(environment) AS environment, any(release) AS release, any(device) AS device, any(browser) AS browser,
    any(country) AS country
FROM events FINAL
