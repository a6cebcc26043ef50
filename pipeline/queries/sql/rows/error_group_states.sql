-- What people set an error group to (005's error_group_states), joined to a query's groups
-- as "states" by fingerprint.
SELECT fingerprint, toString(status) AS saved_status, updated_at AS saved_at
FROM error_group_states FINAL
WHERE project_id = {project_id:UInt32}
