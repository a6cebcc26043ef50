-- Raw events, one row per accepted event, typed after contract/schema/v1/event.schema.json.
-- ReplacingMergeTree keyed on event_id inside the sorting key: a replayed event (processor
-- crash, broker retry, SDK resend) collapses into one row; queries read with FINAL so results
-- never show a duplicate, even before the background merge.
CREATE TABLE IF NOT EXISTS events
(
    project_id      UInt32,
    type            LowCardinality(String),
    timestamp       DateTime64(3, 'UTC'),
    event_id        String,
    received_at     DateTime64(3, 'UTC'),
    session_id      String,
    visitor_id      String,
    user_id         String,
    release         LowCardinality(String),
    environment     LowCardinality(String),
    url             String CODEC(ZSTD(1)),
    path            String,
    referrer        String CODEC(ZSTD(1)),
    title           String CODEC(ZSTD(1)),
    browser         LowCardinality(String),
    browser_version LowCardinality(String),
    os              LowCardinality(String),
    os_version      LowCardinality(String),
    device          LowCardinality(String),
    client_ip       String,
    user_agent      String CODEC(ZSTD(1)),
    sdk_name        LowCardinality(String),
    sdk_version     LowCardinality(String),
    tags            Map(LowCardinality(String), String),
    -- web_vital
    vital_name      LowCardinality(String),
    vital_value     Float64,
    vital_rating    LowCardinality(String),
    -- error
    error_kind      LowCardinality(String),
    error_type      String,
    error_message   String CODEC(ZSTD(1)),
    -- api_call, error(kind=api), resource, time_on_page: the one duration each carries
    duration_ms     Float64,
    http_method     LowCardinality(String),
    http_url        String CODEC(ZSTD(1)),
    http_status     UInt16,
    -- click / form_submit / custom: what was acted on or named
    target          String,
    name            String,
    -- the event's type-specific payload, verbatim, for drill-down
    data            String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, type, timestamp, event_id);

-- Projects: numeric id (Sentry-style DSNs need one), public ingest key, allowed origins.
-- Changes are new versions of the row; the latest version wins.
CREATE TABLE IF NOT EXISTS projects
(
    id              UInt32,
    name            String,
    key             String,
    origins         Array(String),
    created_at      DateTime64(3, 'UTC'),
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY id;
