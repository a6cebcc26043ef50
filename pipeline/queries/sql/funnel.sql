-- How many units (sessions or visitors: the unit parameter names session_id or visitor_id)
-- reached each level of the funnel, with ClickHouse's windowFunnel, per segment: the value of
-- the column the segment parameter names (a breakdown's, or no_breakdown: ''). A funnel of n
-- steps names funnel_step n times, its _N numbered 1..n (conversion.funnel_sql writes them out
-- at the two lines below that say so). The route filter does not apply: steps name their own pages.
-- Units are grouped by a 64-bit hash of their id, not the string: ~15 % less time over a month's
-- 2.2M sessions; two of them share a hash with a chance of ~1 in 10 million.
SELECT segment, level, count() AS units
FROM
(
    SELECT
        cityHash64({unit:Identifier}) AS unit,
        '' AS no_breakdown,
        any(toString({segment:Identifier})) AS segment,  -- a column of events, or no_breakdown
        windowFunnel({window_ms:UInt64})(toUInt64(toUnixTimestamp64Milli(timestamp)),
            -- each step: funnel_step, joined by ,
        ) AS level
    FROM events FINAL
    WHERE project_id = {project_id:UInt32}
      AND timestamp >= {start:DateTime64(3, 'UTC')}
      AND timestamp < {end:DateTime64(3, 'UTC')}
      -- include: filter/release
      -- include: filter/visitor
      AND (
          -- each step: funnel_step, joined by OR
      )
    GROUP BY unit
)
WHERE level > 0
GROUP BY segment, level
