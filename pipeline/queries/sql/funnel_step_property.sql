-- A funnel step's property condition, left out of funnel_step for a step without one
-- (conversion.funnel_sql): naming the data column makes the statement read the JSON of every
-- matching event, a third of a month's funnel of page-view steps (docs/benchmarks.md).
AND ({property_N:String} = ''
     OR {value_N:String} IN (trim(BOTH '"' FROM JSONExtractRaw(data, 'props', {property_N:String})),
                             trim(BOTH '"' FROM JSONExtractRaw(data, {property_N:String}))))
