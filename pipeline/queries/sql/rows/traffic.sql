-- The traffic rows of a range per route and event type (091): the sealed whole hours from
-- traffic_hour when it can answer (tiers.pick_source: no device, browser or country filter) —
-- a count per route and type, and per route a row of type '' with its visitors and sessions —
-- every other minute from the raw events, a count and the visitors and sessions per route and type.
WITH
    -- include: rows/sealed_and_live_hours
-- include: rows/traffic_raw
UNION ALL
WITH
    -- include: rows/sealed_and_live_hours
-- include: rows/traffic_sealed
