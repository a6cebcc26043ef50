-- Where the range's sessions started and ended and where they came from, in one read of them: per
-- breakdown, its {limit:UInt32} most frequent values with their sessions and bounce rate. The whole
-- days session_day answers (099: no route, device, browser or country filter) are read from there,
-- the other start hours' sessions as rows/sessions reads them (each read pays the sealed-hours lookup
-- and the live hours' raw events, ~45 ms at 100M events).
-- - entry, exit: the path of the first and last page view;
-- - source: the entry page view's referrer_source as the processor named it (074_session_sources.sql);
--   a session whose events predate it (040) shows its referrer's host, or the direct parameter without one;
-- - campaign: the entry page view's decoded UTM source, medium and campaign (for sessions from before
--   the processor named them, the entry URL's); sessions without any utm_ tag are left out.
WITH
    -- include: rows/sealed_session_seals
SELECT breakdown, entry, exit, source, utm_source, utm_medium, utm_campaign,
       sum(n) AS sessions,
       sum(single) / sum(n) AS bounce_rate
FROM
(
    SELECT
        multiIf(grouping(entry) = 0, 'entry', grouping(exit) = 0, 'exit', grouping(source) = 0, 'source', 'campaign')
            AS breakdown,
        entry, exit, source, utm_source, utm_medium, utm_campaign,
        count() AS n,
        countIf(pages = 1) AS single
    FROM
    (
        SELECT
            entry, exit, pages,
            if(entry_source != '', entry_source,
               if(entry_referrer = '', {direct:String}, domainWithoutWWW(entry_referrer))) AS source,
            if(entry_source != '', tupleElement(traffic_source, 2),
               decodeURLFormComponent(extractURLParameter(entry_url, 'utm_source'))) AS utm_source,
            if(entry_source != '', tupleElement(traffic_source, 3),
               decodeURLFormComponent(extractURLParameter(entry_url, 'utm_medium'))) AS utm_medium,
            if(entry_source != '', tupleElement(traffic_source, 4),
               decodeURLFormComponent(extractURLParameter(entry_url, 'utm_campaign'))) AS utm_campaign
        FROM
        (
            -- include: rows/sessions
        )
    )
    GROUP BY GROUPING SETS ((entry), (exit), (source), (utm_source, utm_medium, utm_campaign))
    UNION ALL
    SELECT breakdown, entry, exit, if(direct = 1, {direct:String}, source) AS source, utm_source, utm_medium,
           utm_campaign, sessions AS n, bounces AS single
    FROM session_day
    WHERE project_id = {project_id:UInt32}
      AND day >= {hours_start:DateTime64(3, 'UTC')}
      AND day < {hours_end:DateTime64(3, 'UTC')}
      AND (day, sealed_at) IN (SELECT arrayJoin(session_days))
      AND breakdown IN ('entry', 'exit', 'source', 'campaign')
      -- include: filter/release
)
GROUP BY breakdown, entry, exit, source, utm_source, utm_medium, utm_campaign
HAVING breakdown != 'campaign' OR utm_source != '' OR utm_medium != '' OR utm_campaign != ''
ORDER BY breakdown, sessions DESC, entry, exit, source, utm_source, utm_medium, utm_campaign
LIMIT {limit:UInt32} BY breakdown
