-- When each whole hour of the range was last inserted into (073's audience_hour_touched).
SELECT hour, max(touched_at) AS touched_at
FROM audience_hour_touched
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
GROUP BY hour
