-- refusals_minute: every request and event the collector refused, counted per minute by
-- project, transport and reason — what Sentry calls outcomes. Refused input never reaches
-- Kafka, so the DLQ (dead_letters) cannot hold it; each collector worker counts its refusals
-- in memory and inserts the counts here every VIGIL_REFUSALS_FLUSH seconds and at shutdown
-- (pipeline/collector/refusals.py).
--
--   project_id  the project id of the URL (/api/<id>/…), also one that does not exist
--               (unknown_project); 0 = the path names none, or more distinct ids than a
--               worker keeps apart in one flush
--   transport   events | unified | pixel | websocket | sentry_envelope | sentry_store | other
--   reason      the answer's closed reason (pipeline/collector/problems.py, pipeline.contract)
--   unit        'request' (the whole request was refused: 4xx/5xx) or 'event' (one event
--               refused inside a batch whose other events may have been accepted)
--
-- SummingMergeTree adds up the rows of one key in background merges, so queries sum()
-- (several workers, several flushes per minute). An insert that failed (ClickHouse away) is
-- retried as the same block with the same insert_deduplication_token, and the
-- deduplication window makes a retry of an insert that did land in fact a no-op: counts are
-- neither lost to a short outage nor doubled by its retries.
--   refusals by reason: SELECT reason, sum(refusals) FROM refusals_minute WHERE minute >= … GROUP BY reason
CREATE TABLE IF NOT EXISTS refusals_minute
(
    minute      DateTime('UTC'),
    project_id  UInt64,
    transport   LowCardinality(String),
    reason      LowCardinality(String),
    unit        LowCardinality(String),
    refusals    UInt64
)
ENGINE = SummingMergeTree(refusals)
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, project_id, transport, reason, unit)
SETTINGS non_replicated_deduplication_window = 10000;
