-- The errors of a range, one row per event or per key of a sealed hour: the whole hours sealed in
-- error_groups_hour (092) when it can answer (tiers.pick_source: no route, device, browser or
-- country filter, buckets of whole hours), every other minute from the raw events. Each row: its
-- minute (a sealed hour's first), the events and their visitors, and its earliest event (time, id,
-- message) and latest time.
WITH
    -- include: rows/sealed_and_live_hours
SELECT toStartOfMinute(timestamp) AS minute, fingerprint, toString(error_kind) AS kind, error_type,
       toUInt64(1) AS events, [cityHash64(visitor_id)] AS visitors,
       timestamp AS earliest, event_id AS earliest_event, error_message AS earliest_message, timestamp AS latest
FROM events FINAL
WHERE project_id = {project_id:UInt32}
  AND type = 'error'
  -- include: filter/event_minutes
  -- include: filter/dimensions
  -- include: filter/live_hours
UNION ALL
WITH
    -- include: rows/sealed_and_live_hours
SELECT hour AS minute, fingerprint, toString(kind) AS kind, error_type, events, visitors,
       first_seen AS earliest, first_event AS earliest_event, message AS earliest_message, last_seen AS latest
FROM error_groups_hour
WHERE project_id = {project_id:UInt32}
  -- include: filter/whole_hours
  -- include: filter/release
  -- include: filter/sealed_hours
  AND events > 0
