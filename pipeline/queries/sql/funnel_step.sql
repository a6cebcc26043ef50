(
    (({kind_N:String} = 'page' AND type = 'page_view' AND path LIKE {match_N:String})
     OR ({kind_N:String} = 'event' AND (type = {match_N:String} OR (type = 'custom' AND name = {match_N:String}))))
    AND ({property_N:String} = ''
         OR {value_N:String} IN (trim(BOTH '"' FROM JSONExtractRaw(data, 'props', {property_N:String})),
                                 trim(BOTH '"' FROM JSONExtractRaw(data, {property_N:String}))))
)
