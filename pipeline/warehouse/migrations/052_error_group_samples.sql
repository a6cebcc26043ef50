-- error_groups (050) again, with samples that do not depend on which rows a merge met first:
-- message is the group's first event's (argMin by (timestamp, event_id)) and culprit the
-- latest event's (argMax): once a release's source maps are uploaded, a group's culprit
-- follows its newest, symbolicated frames. 050's any() picked whichever row came first, so a
-- backfill and the view could disagree about the same events. Rebuilt and backfilled as 008
-- rebuilt the rollups; everything else as in 050.

DROP VIEW IF EXISTS error_groups_mv;
DROP TABLE IF EXISTS error_groups;

CREATE TABLE IF NOT EXISTS error_groups
(
    project_id  UInt32,
    fingerprint UInt64,
    day         Date,
    kind        SimpleAggregateFunction(any, LowCardinality(String)),
    error_type  SimpleAggregateFunction(any, String),
    message     AggregateFunction(argMin, String, Tuple(DateTime64(3, 'UTC'), String)),
    culprit     AggregateFunction(argMax, String, Tuple(DateTime64(3, 'UTC'), String)),
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
    any(error_kind) AS kind, any(error_type) AS error_type,
    argMinState(error_message, (timestamp, event_id)) AS message,
    argMaxState(multiIf(
        top_frame != '',
        concat(if(frame_function = '', '', concat(frame_function, ' (')), frame_path, ':',
               toString(JSONExtractUInt(top_frame, 'lineno')), if(frame_function = '', '', ')')),
        http_url != '', concat(if(http_method = '', '', concat(toString(http_method), ' ')), path(http_url)),
        ''), (timestamp, event_id)) AS culprit,
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
    any(error_kind) AS kind, any(error_type) AS error_type,
    argMinState(error_message, (timestamp, event_id)) AS message,
    argMaxState(multiIf(
        top_frame != '',
        concat(if(frame_function = '', '', concat(frame_function, ' (')), frame_path, ':',
               toString(JSONExtractUInt(top_frame, 'lineno')), if(frame_function = '', '', ')')),
        http_url != '', concat(if(http_method = '', '', concat(toString(http_method), ' ')), path(http_url)),
        ''), (timestamp, event_id)) AS culprit,
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
