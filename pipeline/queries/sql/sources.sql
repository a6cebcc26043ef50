-- Sessions and their bounce rate per source: the processor's name for the entry page view's
-- source (074_session_sources.sql); a session whose events predate referrer_source (040) shows
-- its referrer's host, or the direct parameter without one.
SELECT
    if(entry_source != '', entry_source,
       if(entry_referrer = '', {direct:String}, domainWithoutWWW(entry_referrer))) AS source,
    count() AS sessions,
    countIf(pages = 1) / count() AS bounce_rate
FROM
(
    -- include: rows/sessions
)
GROUP BY source
ORDER BY sessions DESC, source
LIMIT {limit:UInt32}
