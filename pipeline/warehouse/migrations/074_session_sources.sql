-- Where each session came from, named as the processor names it: the entry page view's
-- referrer_source (put_traffic_source, 040): the tagged source (utm_source, source, ref), else
-- the referrer's known name (Google, Twitter, …) or host, else 'Direct / None', with a referral
-- from the site's own pages counting as direct. The Traffic page's sources read it instead of
-- the raw referrer's host, which split one source over hosts (www.google.com, google.de) and
-- listed the site itself.
--
-- The view's query changes in place (ALTER … MODIFY QUERY: no insert misses it, unlike a drop
-- and re-create), and the stored sessions get their sources from the stored events. The backfill
-- re-derives every column, as 008 did: the states are idempotent (sets of hashes, min/max,
-- argMin/argMax by timestamp), so sessions merge to what they were plus their entry_source.
-- Events stored before 040 have no referrer_source; queries fall back to the referrer's host.

ALTER TABLE sessions ADD COLUMN IF NOT EXISTS
    entry_source AggregateFunction(argMinIf, String, DateTime64(3, 'UTC'), UInt8) AFTER entry_url;

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
    argMinIfState(referrer_source, timestamp, type = 'page_view') AS entry_source,
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
    argMinIfState(referrer_source, timestamp, type = 'page_view') AS entry_source,
    any(environment) AS environment,
    any(release) AS release,
    any(device) AS device,
    any(browser) AS browser,
    any(country) AS country
FROM events FINAL
GROUP BY project_id, session_id;
