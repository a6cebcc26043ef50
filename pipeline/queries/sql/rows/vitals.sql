-- The Web Vital rows of a range, one per measurement or per key of a sealed hour: the whole hours
-- sealed in the hourly table {hour_table:Identifier} when it can answer (tiers.pick_source: no
-- device, browser, country or connection filter or breakdown; web_vitals_route_hour when the route
-- is one, web_vitals_hour, whose path is always '', otherwise), every other minute from the raw
-- events. Dimensions the hourly rollups lack read as ''. Per minute (vital_trend); what is not read
-- per time bucket reads whole sealed days too (rows/vitals_by_day).
WITH
    -- include: rows/sealed_and_live_hours
-- include: rows/vital_events
UNION ALL
WITH
    -- include: rows/sealed_and_live_hours
-- include: rows/vital_hours
