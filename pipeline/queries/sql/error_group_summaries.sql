-- Error groups over their whole history (rows/errors_before up to a start past every event: the
-- hours error_groups_hour, 092, has sealed and the raw events of the others), most recently seen
-- first: no time range, no dimension filters — what the group is (its first event's message, its
-- latest event's culprit frame, the releases it appeared in, people affected), for a detail view or
-- a list of groups by recency.
SELECT
    lower(hex(groups.fingerprint)) AS error_group,
    groups.fingerprint AS fingerprint,
    kind, error_type, message, culprit, first_seen, last_seen, events, visitors, users, releases,
    -- include: rows/error_group_status
FROM
(
    SELECT
        fingerprint,
        any(kind) AS kind,
        any(error_type) AS error_type,
        argMin(earliest_message, (earliest, earliest_event)) AS message,
        argMax(latest_culprit, (latest, latest_event)) AS culprit,
        min(earliest) AS first_seen,
        max(latest) AS last_seen,
        sum(events) AS events,
        length(groupUniqArrayArray(visitors)) AS visitors,
        length(groupUniqArrayArray(users)) AS users,
        arraySort(groupUniqArrayIf(release, release != '')) AS releases
    FROM
    (
        -- include: rows/errors_before
    )
    GROUP BY fingerprint
) AS groups
LEFT JOIN
(
    -- include: rows/error_group_states
) AS states ON groups.fingerprint = states.fingerprint
WHERE {status:String} = '' OR status = {status:String}
ORDER BY last_seen DESC, error_group
LIMIT {limit:UInt32}
