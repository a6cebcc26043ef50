-- The sessions of the range (rollup sessions): a session is in it when it started in it; the
-- route filter matches its entry page.
SELECT *
FROM
(
    SELECT
        session_id,
        visitor_id,
        started,
        ended,
        length(page_views) AS pages,
        length(errors) AS error_events,
        finalizeAggregation(entry_page) AS entry,
        finalizeAggregation(exit_page) AS exit,
        finalizeAggregation(entry_referrer) AS entry_referrer,
        finalizeAggregation(entry_url) AS entry_url,
        -- (referrer_source, utm_source, utm_medium, utm_campaign) of the entry page view (074);
        -- '' as the source: the events predate the processor's traffic sources (040)
        finalizeAggregation(entry_traffic_source) AS traffic_source,
        tupleElement(traffic_source, 1) AS entry_source
    FROM sessions FINAL
    WHERE project_id = {project_id:UInt32}
      AND started >= {start:DateTime64(3, 'UTC')}
      AND started < {end:DateTime64(3, 'UTC')}
      -- include: filter/release
      -- include: filter/visitor
)
WHERE pages > 0 AND ({route:String} = '' OR entry LIKE {route:String})
