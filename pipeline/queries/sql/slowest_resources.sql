-- The resources' histograms of load duration and transfer size (rows of `measure` 'duration' and
-- 'transfer_size': log bucket, samples (loads), low, high) per resource, with its (least) initiator: the whole
-- days sealed in resource_day (097) and the other whole hours sealed in resource_hour (095) when they
-- can answer (tiers.pick_source: no route, device, browser or country filter), every other hour from
-- the raw events. performance.slowest_resources reads the percentiles from the buckets. The day and
-- hour lookups (rows/sealed_days) are defined once, here: each copy would run again.
WITH
    -- include: rows/sealed_days
SELECT
    resource,
    min(initiator) AS initiator,
    measure,
    bucket,
    sum(loads) AS samples,
    min(low) AS low,
    max(high) AS high
FROM
(
    SELECT toLowCardinality(http_url) AS resource, min(initiator) AS initiator, measure,
           if(value > 0, toInt16(ceil(log(value) / log(101 / 99))), toInt16(-32768)) AS bucket,
           count() AS loads, min(value) AS low, max(value) AS high
    FROM events FINAL
    ARRAY JOIN ['duration', 'transfer_size'] AS measure, [duration_ms, toFloat64(transfer_size)] AS value
    WHERE type = 'resource'
      AND project_id = {project_id:UInt32}
      -- include: filter/events_in_range
      -- include: filter/live_hours
    GROUP BY resource, measure, bucket
    UNION ALL
    SELECT resource, initiator, measure, bucket, loads, low, high
    FROM {hour_table:Identifier}
    WHERE project_id = {project_id:UInt32}
      -- include: filter/whole_hours
      -- include: filter/release
      -- include: filter/sealed_hours
      AND loads > 0
    UNION ALL
    SELECT resource, initiator, measure, bucket, loads, low, high
    FROM {day_table:Identifier}
    WHERE project_id = {project_id:UInt32}
      -- include: filter/release
      -- include: filter/sealed_days
      AND loads > 0
)
GROUP BY resource, measure, bucket
