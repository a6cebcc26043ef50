-- Sessions by their entry page view's UTM tags; sessions without any are left out.
SELECT
    -- the processor's decoded tags; for sessions from before it named them, the entry URL's
    if(entry_source != '', tupleElement(traffic_source, 2),
       decodeURLFormComponent(extractURLParameter(entry_url, 'utm_source'))) AS source,
    if(entry_source != '', tupleElement(traffic_source, 3),
       decodeURLFormComponent(extractURLParameter(entry_url, 'utm_medium'))) AS medium,
    if(entry_source != '', tupleElement(traffic_source, 4),
       decodeURLFormComponent(extractURLParameter(entry_url, 'utm_campaign'))) AS campaign,
    count() AS sessions,
    countIf(pages = 1) / count() AS bounce_rate
FROM
(
    -- include: rows/sessions
)
WHERE source != '' OR medium != '' OR campaign != ''
GROUP BY source, medium, campaign
ORDER BY sessions DESC, source, medium, campaign
LIMIT {limit:UInt32}
