-- A project's errors before the minute of {start:DateTime64(3, 'UTC')} (their history), one row per
-- event of an hour error_groups_hour (092) does not answer or per key of a sealed hour wholly before
-- that minute: the sealed hours only when {history_sealed:Bool} (tiers.hourly: no route, device,
-- browser or country filter), the raw events of every other hour anything was inserted into
-- (audience_hour_touched, 073); the same dimension filters. {fingerprints:Array(UInt64)}: only those
-- groups (empty: all). Each row: the events, visitors, users and release, and its earliest (time,
-- id, message) and latest (time, id, culprit) event.
WITH
    -- include: rows/live_hours_before
SELECT fingerprint, toString(error_kind) AS kind, error_type, toString(release) AS release,
       toUInt64(1) AS events, [cityHash64(visitor_id)] AS visitors,
       if(user_id = '', [], [cityHash64(user_id)]) AS users,
       timestamp AS earliest, event_id AS earliest_event, error_message AS earliest_message,
       timestamp AS latest, event_id AS latest_event, error_culprit AS latest_culprit
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND type = 'error'
  AND (empty({fingerprints:Array(UInt64)}) OR has({fingerprints:Array(UInt64)}, fingerprint))
  AND timestamp < {start:DateTime64(3, 'UTC')} + toIntervalMinute(1)
  AND toStartOfMinute(timestamp) < {start:DateTime64(3, 'UTC')}
  -- include: filter/dimensions
  -- in a set: has() would scan the array for every row (filter/live_hours)
  AND toStartOfHour(timestamp) IN (SELECT arrayJoin(live_before))
UNION ALL
SELECT fingerprint, toString(kind) AS kind, error_type, toString(release) AS release, events, visitors, users,
       first_seen AS earliest, first_event AS earliest_event, message AS earliest_message,
       last_seen AS latest, last_event AS latest_event, culprit AS latest_culprit
FROM error_groups_hour FINAL
WHERE project_id = {project_id:UInt32}
  AND (empty({fingerprints:Array(UInt64)}) OR has({fingerprints:Array(UInt64)}, fingerprint))
  AND hour <= {start:DateTime64(3, 'UTC')} - toIntervalHour(1)
  -- include: filter/release
  AND (hour, sealed_at) IN (
      -- include: rows/sealed_hours_before
  )
  AND events > 0
