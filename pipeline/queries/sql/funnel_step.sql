(
    (({kind_N:String} = 'page' AND type = 'page_view' AND path LIKE {match_N:String})
     OR ({kind_N:String} = 'event' AND (type = {match_N:String} OR (type = 'custom' AND name = {match_N:String}))))
    -- include: funnel_step_property
)
