-- The values each dimension filter can take (asked with no dimension filter set): the visitors'
-- dimensions from the sessions of the range (rows/sessions), the routes from the sealed traffic
-- hours around it (091) and the raw page views of the hours not sealed yet.
WITH
    -- include: rows/sealed_session_seals
SELECT environment, release, route, device, browser, country
FROM
(
    SELECT
        topK({limit:UInt32})(toString(environment)) AS environment,
        topK({limit:UInt32})(toString(release)) AS release,
        topK({limit:UInt32})(toString(device)) AS device,
        topK({limit:UInt32})(toString(browser)) AS browser,
        topK({limit:UInt32})(toString(country)) AS country
    FROM
    (
        -- include: rows/sessions
    )
) AS visitors
CROSS JOIN
(
    SELECT topKWeighted({limit:UInt32})(path, views) AS route
    FROM
    (
        SELECT path, events AS views
        FROM traffic_hour
        WHERE project_id = {project_id:UInt32}
          AND hour >= toStartOfHour({start:DateTime64(3, 'UTC')})
          AND hour < {end:DateTime64(3, 'UTC')}
          AND type = 'page_view'
        UNION ALL
        SELECT path, toUInt64(1) AS views
        FROM events
        WHERE project_id = {project_id:UInt32}
          AND type = 'page_view'
          AND timestamp >= toStartOfHour({start:DateTime64(3, 'UTC')})
          AND timestamp < {end:DateTime64(3, 'UTC')}
          AND toStartOfHour(timestamp) NOT IN (
              SELECT DISTINCT hour
              FROM traffic_hour
              WHERE project_id = {project_id:UInt32}
                AND hour >= toStartOfHour({start:DateTime64(3, 'UTC')})
                AND hour < {end:DateTime64(3, 'UTC')}
          )
    )
) AS routes
