-- A group's status from what people set it to (rows/error_group_states, joined as "states") and
-- its last event: resolved groups with an event after the resolve are "regressed".
multiIf(states.saved_status = 'resolved' AND last_seen > states.saved_at, 'regressed',
        states.saved_status = '', 'unresolved', states.saved_status) AS status
