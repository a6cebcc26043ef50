-- Error groups as sealed hours: plain counts and people, recomputed from the raw events once an hour
-- is closed, instead of sets of event-id hashes filled on every insert (issue 16, as 090/091).
--
-- error_groups_minute (003/008: per minute, fingerprint and every dimension) and error_groups
-- (050/052: per fingerprint and day) were the last insert-time views keeping a set of 64-bit
-- event-id hashes per key so that a replay could not count twice. `events` already collapses
-- replays and client resends (ReplacingMergeTree by event_id, read with FINAL), so, as 090/091 do:
-- - events.error_culprit: an error's culprit — its top in-app frame (else its top frame) as the
--   processor stored it (symbolicated when a source map was uploaded), "function (file:line)", the
--   file without scheme, host and query; an API error's "METHOD /path" and a failed resource's path
--   when there are no frames — computed once at insert (050's expression), so the seal and the raw
--   reads take the same value. Parts stored before compute it when read.
-- - error_groups_hour: ReplacingMergeTree(sealed_at), one row per (project, hour, fingerprint,
--   environment, release) and seal: the events (a plain count), the visitors and signed-in users
--   who had the error (sets of people, never of events), the hour's first event (time, id and
--   message) and last event (time, id and culprit), so that a group's message is its first event's
--   and its culprit its latest event's over any hours (argMin/argMax by (time, event id), as 052).
--   The releases a group appeared in are its rows' release keys. Every sealed (project, hour) has
--   one marker row (fingerprint 0, no events) so an hour without errors is sealed too.
-- - error_groups_hour_seal: the refreshable view that every minute recomputes, from events FINAL,
--   each closed hour (ended 65+ minutes ago) touched (audience_hour_touched, 073) since its latest
--   seal and last touched more than 60 s before this seal; all rows of one seal carry its sealed_at.
-- Readers take a sealed hour's rows of its latest seal only while that seal is newer than the hour's
-- latest insert (pipeline/queries/sql/rows/sealed_hours_of.sql) and every other part of a range —
-- the live hour, hours not sealed yet, the minutes at its edges, route/device/browser/country
-- filters — from events FINAL (pipeline/queries/sql/rows/error_rows.sql, error_history.sql).

DROP VIEW IF EXISTS error_groups_minute_mv;
DROP TABLE IF EXISTS error_groups_minute;
DROP VIEW IF EXISTS error_groups_mv;
DROP TABLE IF EXISTS error_groups;

ALTER TABLE events ADD COLUMN IF NOT EXISTS error_culprit String DEFAULT if(type != 'error', '', arrayMap(
    top -> multiIf(
        top != '',
        concat(if(JSONExtractString(top, 'function') = '', '', concat(JSONExtractString(top, 'function'), ' (')),
               if(position(JSONExtractString(top, 'filename'), '://') > 0, path(JSONExtractString(top, 'filename')),
                  JSONExtractString(top, 'filename')),
               ':', toString(JSONExtractUInt(top, 'lineno')), if(JSONExtractString(top, 'function') = '', '', ')')),
        http_url != '', concat(if(http_method = '', '', concat(toString(http_method), ' ')), path(http_url)),
        ''),
    [if(arrayExists(frame -> JSONExtractBool(frame, 'in_app'), JSONExtractArrayRaw(data, 'frames')),
        arrayFirst(frame -> JSONExtractBool(frame, 'in_app'), JSONExtractArrayRaw(data, 'frames')),
        JSONExtractArrayRaw(data, 'frames')[1])])[1]) CODEC(ZSTD(1));

CREATE TABLE IF NOT EXISTS error_groups_hour
(
    project_id  UInt32,
    hour        DateTime('UTC'),
    fingerprint UInt64,
    environment LowCardinality(String),
    release     LowCardinality(String),
    kind        LowCardinality(String),
    error_type  String,
    events      UInt64,
    visitors    Array(UInt64),
    users       Array(UInt64),
    first_seen  DateTime64(3, 'UTC'),
    first_event String,
    message     String,
    last_seen   DateTime64(3, 'UTC'),
    last_event  String,
    culprit     String,
    sealed_at   DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(sealed_at)
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, fingerprint, environment, release);

-- the closed hours stored so far, sealed now (their inserts are older than any in flight)
INSERT INTO error_groups_hour
SELECT
    project_id, toStartOfHour(timestamp) AS hour, fingerprint, environment, release,
    any(error_kind) AS kind, any(error_type) AS error_type, count() AS events,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArrayIf(cityHash64(user_id), user_id != '') AS users,
    min(timestamp) AS first_seen, argMin(event_id, (timestamp, event_id)) AS first_event,
    argMin(error_message, (timestamp, event_id)) AS message,
    max(timestamp) AS last_seen, argMax(event_id, (timestamp, event_id)) AS last_event,
    argMax(error_culprit, (timestamp, event_id)) AS culprit,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'error' AND toStartOfHour(timestamp) <= now() - toIntervalMinute(65)
GROUP BY project_id, hour, fingerprint, environment, release
UNION ALL
SELECT project_id, hour, toUInt64(0), '', '', '', '', 0, [], [], toDateTime64(0, 3, 'UTC'), '', '',
       toDateTime64(0, 3, 'UTC'), '', '', now64(3, 'UTC') - toIntervalSecond(60)
FROM audience_hour_touched
WHERE hour <= now() - toIntervalMinute(65)
GROUP BY project_id, hour
SETTINGS do_not_merge_across_partitions_select_final = 1;

CREATE MATERIALIZED VIEW IF NOT EXISTS error_groups_hour_seal
REFRESH EVERY 1 MINUTE APPEND TO error_groups_hour AS
WITH stale AS
(
    SELECT touched.project_id AS project_id, touched.hour AS hour
    FROM (
        SELECT project_id, hour, max(touched_at) AS touched_at
        FROM audience_hour_touched
        WHERE hour <= now() - toIntervalMinute(65)
        GROUP BY project_id, hour
    ) AS touched
    LEFT JOIN (
        SELECT project_id, hour, max(sealed_at) AS sealed_at
        FROM error_groups_hour
        GROUP BY project_id, hour
    ) AS sealed ON sealed.project_id = touched.project_id AND sealed.hour = touched.hour
    WHERE touched.touched_at >= ifNull(sealed.sealed_at, toDateTime64(0, 3, 'UTC'))  -- never sealed: join default or NULL
      AND touched.touched_at < now64(3, 'UTC') - toIntervalSecond(60)
)
SELECT
    project_id, toStartOfHour(timestamp) AS hour, fingerprint, environment, release,
    any(error_kind) AS kind, any(error_type) AS error_type, count() AS events,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArrayIf(cityHash64(user_id), user_id != '') AS users,
    min(timestamp) AS first_seen, argMin(event_id, (timestamp, event_id)) AS first_event,
    argMin(error_message, (timestamp, event_id)) AS message,
    max(timestamp) AS last_seen, argMax(event_id, (timestamp, event_id)) AS last_event,
    argMax(error_culprit, (timestamp, event_id)) AS culprit,
    now64(3, 'UTC') - toIntervalSecond(60) AS sealed_at
FROM events FINAL
WHERE type = 'error' AND (project_id, toStartOfHour(timestamp)) IN (SELECT project_id, hour FROM stale)
GROUP BY project_id, hour, fingerprint, environment, release
UNION ALL
SELECT project_id, hour, toUInt64(0), '', '', '', '', 0, [], [], toDateTime64(0, 3, 'UTC'), '', '',
       toDateTime64(0, 3, 'UTC'), '', '', now64(3, 'UTC') - toIntervalSecond(60)
FROM stale
SETTINGS do_not_merge_across_partitions_select_final = 1;
