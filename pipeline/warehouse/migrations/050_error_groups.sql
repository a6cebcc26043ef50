-- Error groups: one row per (project, fingerprint, day), kept by a materialized view over the
-- events, so "what is this group?" — its type, a message, the culprit frame, when it was first
-- and last seen, how many events and people, in which releases — is one small read instead
-- of a scan of the raw events or of a group's every minute in error_groups_minute.
--
-- Idempotent under replays as the rollups of 008: counts are sets of cityHash64(event_id)
-- (and of visitor and user ids) kept as SimpleAggregateFunction(groupUniqArrayArray), so an
-- event delivered twice is stored once when the rows of a key merge, and a count is
-- length(array). The day in the key bounds each array to a day's events of one group (a
-- group's all-time set in one row would grow without end and be rewritten by every merge);
-- an event's day never changes on a replay, so summing lengths over days stays exact.
--
-- culprit: the top in-app frame (else the top frame) of the event's frames as the processor
-- stored them — symbolicated when a source map was uploaded (steps.symbolicate) — as
-- "function (file:line)", the file without scheme, host and query; an API error's
-- "METHOD /path" and a failed resource's path when there are no frames.
-- The status lives in error_group_states (005): join on (project_id, fingerprint).

CREATE TABLE IF NOT EXISTS error_groups
(
    project_id  UInt32,
    fingerprint UInt64,
    day         Date,
    kind        SimpleAggregateFunction(any, LowCardinality(String)),
    error_type  SimpleAggregateFunction(any, String),
    message     SimpleAggregateFunction(any, String),
    culprit     SimpleAggregateFunction(any, String),
    first_seen  SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen   SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    events      SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    visitors    SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    users       SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64)),
    releases    SimpleAggregateFunction(groupUniqArrayArray, Array(String))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (project_id, fingerprint, day);

CREATE MATERIALIZED VIEW IF NOT EXISTS error_groups_mv TO error_groups AS
SELECT
    project_id, fingerprint, toDate(timestamp) AS day,
    any(error_kind) AS kind, any(error_type) AS error_type, any(error_message) AS message,
    any(multiIf(
        top_frame != '',
        concat(if(frame_function = '', '', concat(frame_function, ' (')), frame_path, ':',
               toString(JSONExtractUInt(top_frame, 'lineno')), if(frame_function = '', '', ')')),
        http_url != '', concat(if(http_method = '', '', concat(toString(http_method), ' ')), path(http_url)),
        '')) AS culprit,
    min(timestamp) AS first_seen, max(timestamp) AS last_seen,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArrayIf(cityHash64(user_id), user_id != '') AS users,
    groupUniqArrayIf(toString(release), release != '') AS releases
FROM
(
    SELECT *,
        JSONExtractArrayRaw(data, 'frames') AS frames,
        arrayFirst(frame -> JSONExtractBool(frame, 'in_app'), frames) AS in_app_frame,
        if(in_app_frame != '', in_app_frame, frames[1]) AS top_frame,
        JSONExtractString(top_frame, 'function') AS frame_function,
        JSONExtractString(top_frame, 'filename') AS frame_file,
        if(position(frame_file, '://') > 0, path(frame_file), frame_file) AS frame_path
    FROM events
    WHERE type = 'error'
)
GROUP BY project_id, fingerprint, day;

INSERT INTO error_groups
SELECT
    project_id, fingerprint, toDate(timestamp) AS day,
    any(error_kind) AS kind, any(error_type) AS error_type, any(error_message) AS message,
    any(multiIf(
        top_frame != '',
        concat(if(frame_function = '', '', concat(frame_function, ' (')), frame_path, ':',
               toString(JSONExtractUInt(top_frame, 'lineno')), if(frame_function = '', '', ')')),
        http_url != '', concat(if(http_method = '', '', concat(toString(http_method), ' ')), path(http_url)),
        '')) AS culprit,
    min(timestamp) AS first_seen, max(timestamp) AS last_seen,
    groupUniqArray(cityHash64(event_id)) AS events,
    groupUniqArray(cityHash64(visitor_id)) AS visitors,
    groupUniqArrayIf(cityHash64(user_id), user_id != '') AS users,
    groupUniqArrayIf(toString(release), release != '') AS releases
FROM
(
    SELECT *,
        JSONExtractArrayRaw(data, 'frames') AS frames,
        arrayFirst(frame -> JSONExtractBool(frame, 'in_app'), frames) AS in_app_frame,
        if(in_app_frame != '', in_app_frame, frames[1]) AS top_frame,
        JSONExtractString(top_frame, 'function') AS frame_function,
        JSONExtractString(top_frame, 'filename') AS frame_file,
        if(position(frame_file, '://') > 0, path(frame_file), frame_file) AS frame_path
    FROM events FINAL
    WHERE type = 'error'
)
GROUP BY project_id, fingerprint, day;
