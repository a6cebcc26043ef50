-- Cohorts of visitors by the period (day or week, UTC) of their first event in the range, and
-- how many were active in each period after it.
SELECT cohort, dateDiff({period:String}, cohort, active) AS period, count() AS visitors
FROM
(
    SELECT
        visitor_id,
        min(if({period:String} = 'week', toMonday(timestamp), toDate(timestamp))) AS cohort,
        groupUniqArray(if({period:String} = 'week', toMonday(timestamp), toDate(timestamp))) AS periods
    FROM events FINAL
    WHERE project_id = {project_id:UInt32}
      AND visitor_id != ''
      -- include: filter/events_in_range
    GROUP BY visitor_id
)
ARRAY JOIN periods AS active
GROUP BY cohort, period
ORDER BY cohort, period
