-- Where a page load's time goes: per Navigation Timing phase of the LOAD measurements (the timings
-- map), its histogram (log bucket, samples, low, high) and each bucket's sum of milliseconds: the
-- whole hours sealed in navigation_hour (095) when it can answer (tiers.pick_source: no route, device,
-- browser or country filter), every other hour from the raw events. performance.navigation_timing
-- reads the mean (sum / samples, exact) and the p75 (from the buckets).
SELECT
    phase,
    bucket,
    sum(samples) AS samples,
    sum(total) AS total,
    min(low) AS low,
    max(high) AS high
FROM
(
    WITH
        -- include: rows/sealed_and_live_hours
    SELECT phase, if(ms > 0, toInt16(ceil(log(ms) / log(101 / 99))), toInt16(-32768)) AS bucket,
           count() AS samples, sum(ms) AS total, min(ms) AS low, max(ms) AS high
    FROM events FINAL
    ARRAY JOIN mapKeys(timings) AS phase, mapValues(timings) AS ms
    WHERE type = 'web_vital'
      AND vital_name = 'LOAD'
      AND project_id = {project_id:UInt32}
      -- include: filter/events_in_range
      -- include: filter/live_hours
    GROUP BY phase, bucket
    UNION ALL
    WITH
        -- include: rows/sealed_and_live_hours
    SELECT toString(phase) AS phase, bucket, samples, total, low, high
    FROM {hour_table:Identifier}
    WHERE project_id = {project_id:UInt32}
      -- include: filter/whole_hours
      -- include: filter/release
      -- include: filter/sealed_hours
      AND samples > 0
)
GROUP BY phase, bucket
