-- The raw events of the hours the WITH constant live_hours names (rows/sealed_and_live_hours), found
-- in a set: the primary key prunes by it as it did by has(), and no row scans the array (a range the
-- hourly table cannot answer, e.g. LCP by route, has every hour of it there: 30 days of 3M events
-- 705 -> 258 ms).
AND toStartOfHour(timestamp) IN (SELECT arrayJoin(live_hours))
