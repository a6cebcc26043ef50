-- Where each session came from, named as the processor names it: the entry page view's
-- referrer_source and UTM tags (put_traffic_source, 040). The source is the tagged one
-- (utm_source, source, ref), else the referrer's known name (Google, Twitter, …) or host, else
-- 'Direct / None', a referral from the site's own pages counting as direct; the tags are
-- percent-decoded, capped and scrubbed. The Traffic page's sources and campaigns read them
-- instead of the raw referrer's host (which split one source over hosts — www.google.com,
-- google.de — and listed the site itself) and the entry URL's undecoded parameters.
--
-- One state holds the four as a tuple (source, utm_source, utm_medium, utm_campaign): one
-- more aggregate per insert rather than four. The view's query changes in place (ALTER …
-- MODIFY QUERY: no insert misses it, unlike a drop and re-create), and the stored sessions get
-- theirs from the stored events. The backfill re-derives every column, as 008 did: the states
-- are idempotent (sets of hashes, min/max, argMin/argMax by timestamp), so sessions merge to
-- what they were plus their traffic source. Events stored before 040 have none (''); queries
-- fall back to the referrer's host and the entry URL's parameters for them.

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS
    entry_traffic_source AggregateFunction(argMinIf, Tuple(String, String, String, String), DateTime64(3, 'UTC'), UInt8)
    AFTER entry_url;

ALTER TABLE sessions_mv MODIFY QUERY
SELECT
    project_id,
    session_id,
    any(visitor_id) AS visitor_id,
    min(timestamp) AS started,
    max(timestamp) AS ended,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArrayIf(cityHash64(event_id), type = 'error') AS errors,
    argMinIfState(path, timestamp, type = 'page_view') AS entry_page,
    argMaxIfState(path, timestamp, type = 'page_view') AS exit_page,
    argMinIfState(referrer, timestamp, type = 'page_view') AS entry_referrer,
    argMinIfState(url, timestamp, type = 'page_view') AS entry_url,
    argMinIfState((referrer_source, utm_source, utm_medium, utm_campaign), timestamp, type = 'page_view')
        AS entry_traffic_source,
    any(environment) AS environment,
    any(release) AS release,
    any(device) AS device,
    any(browser) AS browser,
    any(country) AS country
FROM events
GROUP BY project_id, session_id;

INSERT INTO sessions
SELECT
    project_id,
    session_id,
    any(visitor_id) AS visitor_id,
    min(timestamp) AS started,
    max(timestamp) AS ended,
    groupUniqArrayIf(cityHash64(event_id), type = 'page_view') AS page_views,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArrayIf(cityHash64(event_id), type = 'error') AS errors,
    argMinIfState(path, timestamp, type = 'page_view') AS entry_page,
    argMaxIfState(path, timestamp, type = 'page_view') AS exit_page,
    argMinIfState(referrer, timestamp, type = 'page_view') AS entry_referrer,
    argMinIfState(url, timestamp, type = 'page_view') AS entry_url,
    argMinIfState((referrer_source, utm_source, utm_medium, utm_campaign), timestamp, type = 'page_view')
        AS entry_traffic_source,
    any(environment) AS environment,
    any(release) AS release,
    any(device) AS device,
    any(browser) AS browser,
    any(country) AS country
FROM events FINAL
GROUP BY project_id, session_id;
