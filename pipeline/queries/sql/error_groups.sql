-- The error groups with events in the range, most events first: their events and visitors in the
-- range and per bucket of {bucket_minutes:UInt32} for a sparkline (rows/error_rows: sealed hours of
-- error_groups_hour, 092, and raw minutes), their first and last event over their history up to the
-- range's end with the same dimensions (the history: rows/errors_before), the message their first
-- event's. A group is a fingerprint (events.fingerprint, 002); error_group is its hex form, the id
-- alert rules use.
SELECT
    lower(hex(groups.fingerprint)) AS error_group,
    groups.fingerprint AS fingerprint,
    kind, error_type, message, events, visitors, first_seen, last_seen, trend_times, trend_events,
    -- include: rows/error_group_status
FROM
(
    SELECT
        fingerprint,
        any(kind) AS kind,
        any(error_type) AS error_type,
        min(bucket_first).3 AS message,
        sum(bucket_events) AS events,
        length(groupUniqArrayArray(bucket_visitors)) AS visitors,
        min(bucket_first).1 AS first_seen,
        max(bucket_latest) AS last_seen,
        groupArrayIf(time, bucket_events > 0) AS trend_times,
        groupArrayIf(bucket_events, bucket_events > 0) AS trend_events
    FROM
    (
        -- per group and bucket (the history: one bucket without events); a bucket's first event is
        -- its least (time, event id), with its message
        SELECT fingerprint, time, any(kind) AS kind, any(error_type) AS error_type,
               min((earliest, earliest_event, earliest_message)) AS bucket_first, max(latest) AS bucket_latest,
               sum(events) AS bucket_events, groupUniqArrayArray(visitors) AS bucket_visitors
        FROM
        (
            SELECT fingerprint, toDateTime64(toStartOfInterval(minute, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC')
                       AS time, kind, error_type, events, visitors, earliest, earliest_event, earliest_message, latest
            FROM
            (
                -- include: rows/error_rows
            )
            UNION ALL
            SELECT fingerprint, toDateTime64(0, 3, 'UTC') AS time, kind, error_type, toUInt64(0) AS events,
                   [] AS visitors, earliest, earliest_event, earliest_message, latest
            FROM
            (
                -- include: rows/errors_before
            )
        )
        GROUP BY fingerprint, time
    )
    GROUP BY fingerprint
    HAVING events > 0
) AS groups
LEFT JOIN
(
    -- include: rows/error_group_states
) AS states ON groups.fingerprint = states.fingerprint
WHERE {status:String} = '' OR status = {status:String}
ORDER BY events DESC, error_group
LIMIT {limit:UInt32}
