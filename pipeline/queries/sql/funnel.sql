-- How many units (sessions or visitors: the unit parameter is session_id or visitor_id) reached each level of
-- the funnel, per segment (the breakdown's column, '' without one), with ClickHouse's
-- windowFunnel. A funnel of n steps names funnel_step n times, its _N numbered 1..n
-- (conversion.funnel_sql writes them out at the two lines below that say so). The route filter does
-- not apply: steps name their own pages.
SELECT segment, level, count() AS units
FROM
(
    SELECT
        {unit:Identifier} AS unit,
        any(if({breakdown:String} = '', '', toString({breakdown_column:Identifier}))) AS segment,
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
