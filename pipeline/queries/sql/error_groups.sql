-- The error groups with events in the range, most events first: their events and visitors in the
-- range (rows/error_rows: sealed hours of error_groups_hour, 092, and raw minutes), their first
-- and last event over their history up to the range's end with the same dimensions (the history:
-- rows/errors_before), the message their first event's. A group is a fingerprint
-- (events.fingerprint, 002); error_group is its hex form, the id alert rules use.
SELECT
    lower(hex(groups.fingerprint)) AS error_group,
    groups.fingerprint AS fingerprint,
    kind, error_type, message, events, visitors, first_seen, last_seen,
    -- include: rows/error_group_status
FROM
(
    SELECT
        fingerprint,
        any(kind) AS kind,
        any(error_type) AS error_type,
        argMin(earliest_message, (earliest, earliest_event)) AS message,
        sum(events) AS events,
        length(groupUniqArrayArray(visitors)) AS visitors,
        min(earliest) AS first_seen,
        max(latest) AS last_seen
    FROM
    (
        SELECT fingerprint, kind, error_type, events, visitors, earliest, earliest_event, earliest_message, latest
        FROM
        (
            -- include: rows/error_rows
        )
        UNION ALL
        SELECT fingerprint, kind, error_type, toUInt64(0) AS events, [] AS visitors, earliest, earliest_event,
               earliest_message, latest
        FROM
        (
            -- include: rows/errors_before
        )
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
