-- Error groups over their whole history (table error_groups, 050, 052), most recently seen first:
-- no time range, no dimension filters — what the group is (culprit frame, releases it appeared
-- in, people affected), for a detail view or a list of groups by recency.
SELECT
    lower(hex(groups.fingerprint)) AS error_group,
    groups.fingerprint AS fingerprint,
    kind, error_type, message, culprit, first_seen, last_seen, events, visitors, users, releases,
    -- include: rows/error_group_status
FROM
(
    SELECT
        fingerprint,
        any(toString(kind)) AS kind,
        any(error_type) AS error_type,
        argMinMerge(message) AS message,
        argMaxMerge(culprit) AS culprit,
        min(first_seen) AS first_seen,
        max(last_seen) AS last_seen,
        sum(length(events)) AS events,
        length(groupUniqArrayArray(visitors)) AS visitors,
        length(groupUniqArrayArray(users)) AS users,
        arraySort(groupUniqArrayArray(releases)) AS releases
    FROM error_groups FINAL
    WHERE project_id = {project_id:UInt32}
      AND (empty({fingerprints:Array(UInt64)}) OR has({fingerprints:Array(UInt64)}, fingerprint))
    GROUP BY fingerprint
) AS groups
LEFT JOIN
(
    -- include: rows/error_group_states
) AS states ON groups.fingerprint = states.fingerprint
WHERE {status:String} = '' OR status = {status:String}
ORDER BY last_seen DESC, error_group
LIMIT {limit:UInt32}
