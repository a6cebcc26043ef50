-- PV, UV, sessions, errors and events of a long range (tiers.SEALED_FROM) from the audience rollups,
-- events, page views and errors of sealed hours from their sealed counts.
--
-- A week of event sets is ~10M hashes (~80 MB) to read and merge under FINAL only for their sizes,
-- so these counts come from audience_hour_counts for every hour whose latest seal is newer than
-- its latest insert, and length() of the sets only for the other hours. ClickHouse reads a column
-- whole, so the sealed hours' part never names the event sets; visitors and sessions (which do not
-- add across hours) are still the union of every hour's and edge minute's sets.
--
-- sealed_hours and live_hours are computed once per query (a scalar subquery is a constant, where a
-- subquery in IN would run once per use): arrays that has() filters by with the primary key, so a
-- sealed hour's event sets are not even read.
WITH
    (
        SELECT groupArray((hour, sealed_at))
        FROM
        (
            -- include: rows/sealed_hours
        )
    ) AS sealed_hours,
    arrayFilter(h -> NOT has(sealed_hours.1, h),
                arrayMap(n -> toDateTime({hours_start:DateTime64(3, 'UTC')}, 'UTC') + toIntervalHour(n),
                         range(toUInt64(dateDiff('hour', {hours_start:DateTime64(3, 'UTC')},
                                                 {hours_end:DateTime64(3, 'UTC')}))))) AS live_hours
SELECT
    sum(viewed) AS page_views,
    length(groupUniqArrayArray(visitors)) AS unique_visitors,
    length(groupUniqArrayArray(sessions)) AS sessions,
    sum(failed) AS errors,
    sum(counted) AS events
FROM
(
    SELECT page_view_count AS viewed, error_count AS failed, event_count AS counted, visitors, sessions
    FROM
    (
        SELECT minute, length(page_views) AS page_view_count, length(errors) AS error_count,
               length(events) AS event_count, visitors, sessions
        FROM audience_minute FINAL
        WHERE project_id = {project_id:UInt32}
          -- include: filter/edge_minutes
          -- include: filter/release
          -- include: filter/visitor
        UNION ALL
        SELECT hour AS minute, toUInt64(0), toUInt64(0), toUInt64(0), visitors, sessions
        FROM audience_hour FINAL
        WHERE project_id = {project_id:UInt32}
          -- include: filter/whole_hours
          -- include: filter/release
        UNION ALL
        SELECT hour AS minute, length(page_views), length(errors), length(events),
               CAST([] AS Array(UInt64)), CAST([] AS Array(UInt64))
        FROM audience_hour FINAL
        WHERE project_id = {project_id:UInt32}
          -- include: filter/whole_hours
          -- include: filter/release
          AND has(live_hours, hour)
        UNION ALL
        SELECT hour AS minute, page_views, errors, events, CAST([] AS Array(UInt64)), CAST([] AS Array(UInt64))
        FROM audience_hour_counts FINAL
        WHERE project_id = {project_id:UInt32}
          -- include: filter/whole_hours
          -- include: filter/release
          AND has(sealed_hours, (hour, sealed_at))
    )
)
