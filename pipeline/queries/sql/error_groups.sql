-- The error groups with events in the range (rollup error_groups_minute), most events first. A
-- group is a fingerprint (events.fingerprint, 002); error_group is its hex form, the id alert
-- rules use. first_seen / last_seen cover the group's history up to the range's end.
SELECT
    lower(hex(groups.fingerprint)) AS error_group,
    groups.fingerprint AS fingerprint,
    kind, error_type, message, events, visitors, first_seen, last_seen,
    -- include: rows/error_group_status
FROM
(
    SELECT
        fingerprint,
        any(toString(kind)) AS kind,
        any(error_type) AS error_type,
        any(message) AS message,
        sumIf(length(events), minute >= {start:DateTime64(3, 'UTC')}) AS events,
        length(groupUniqArrayArrayIf(visitors, minute >= {start:DateTime64(3, 'UTC')})) AS visitors,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen
    FROM error_groups_minute FINAL
    WHERE project_id = {project_id:UInt32}
      AND minute < {end:DateTime64(3, 'UTC')}
      -- include: filter/dimensions
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
