(
    (({kind_N:String} = 'page' AND type = 'page_view' AND path LIKE {match_N:String})
     OR ({kind_N:String} = 'event' AND (type = {match_N:String} OR (type = 'custom' AND name = {match_N:String}))))
    -- a step with a property: funnel_step_property
)
