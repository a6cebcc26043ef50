-- Web Vitals rollups rate by the processor's rating, not by thresholds restated in SQL.
--
-- 003, 007 and 008 computed each measurement's rating in the views with multiIf(transform(…))
-- over a copy of the thresholds, and that copy disagreed with the SDK's for TTI (2.5 s / 5 s
-- against Lighthouse's 3.8 s / 7.3 s). contract/vitals.json is now the one source: the
-- processor stores pipeline.vitals.rate(name, value) in events.vital_rating for every
-- web_vital, the SDK's or a Sentry SDK's (pipeline/processor/rows.py), and the views group by
-- that column. Same target tables, same columns, same keys.
--
-- Rows already in web_vitals_minute and web_vitals_hour stay as they are, but for TTI's: every
-- other vital's bands are the ones 008's SQL used, so its rows already carry the contract's
-- rating. TTI's rows (rated 2.5 s / 5 s there) are rebuilt from events.vital_rating, which for
-- every TTI stored so far is the Vigil SDK's own rating, Lighthouse's 3.8 s / 7.3 s since the
-- SDK's first version (Sentry SDKs send no TTI); a TTI a hand-written client sent without a
-- rating keeps its samples under an empty rating. Events are not re-rated. The rebuild is safe
-- beside a running processor: the views are replaced first, and the rollups count sets of
-- event-id hashes, so an event counted by a view and by the rebuild is counted once.

DROP VIEW IF EXISTS web_vitals_minute_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_minute_mv TO web_vitals_minute AS
SELECT
    project_id, vital_name, toStartOfMinute(timestamp) AS minute, environment, release, path, device, browser, country, connection_type,
    vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, minute, environment, release, path, device, browser, country, connection_type, rating, bucket;

DROP VIEW IF EXISTS web_vitals_hour_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS web_vitals_hour_mv TO web_vitals_hour AS
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release,
    vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events
WHERE type = 'web_vital'
GROUP BY project_id, vital_name, hour, environment, release, rating, bucket;

DELETE FROM web_vitals_minute WHERE vital_name = 'TTI';

INSERT INTO web_vitals_minute
SELECT
    project_id, vital_name, toStartOfMinute(timestamp) AS minute, environment, release, path, device, browser, country, connection_type,
    vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events FINAL
WHERE type = 'web_vital' AND vital_name = 'TTI'
GROUP BY project_id, vital_name, minute, environment, release, path, device, browser, country, connection_type, rating, bucket;

DELETE FROM web_vitals_hour WHERE vital_name = 'TTI';

INSERT INTO web_vitals_hour
SELECT
    project_id, vital_name, toStartOfHour(timestamp) AS hour, environment, release,
    vital_rating AS rating,
    if(vital_value > 0, toInt16(ceil(log(vital_value) / log(101 / 99))), toInt16(-32768)) AS bucket,
    groupUniqArray(cityHash64(event_id)) AS samples, min(vital_value) AS low, max(vital_value) AS high
FROM events FINAL
WHERE type = 'web_vital' AND vital_name = 'TTI'
GROUP BY project_id, vital_name, hour, environment, release, rating, bucket;
