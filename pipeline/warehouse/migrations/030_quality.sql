-- Data quality (pipeline/quality/, expectations/*.json): one row per expectation per checked
-- batch, and the dead-letter topic made queryable.

-- quality_results: what the Great Expectations suites said about each checked batch.
-- source = 'processor' (the processor's background worker, on samples of flushed batches)
-- or 'report' (`vigil quality report` over recent data). All rows of one check share run_id
-- and run_at. expectation = the suite's stable meta.name for it (charts key on
-- suite + expectation); unexpected_sample holds up to 10 offending values as JSON and
-- observed_value the aggregate an expectation saw (JSON, 'null' if none).
--   pass rate over time:   countIf(success) / count() GROUP BY suite, expectation, toStartOfHour(run_at)
--   latest failing examples: WHERE NOT success ORDER BY run_at DESC
CREATE TABLE IF NOT EXISTS quality_results
(
    run_id             UUID,
    run_at             DateTime64(3, 'UTC'),
    source             LowCardinality(String),
    suite              LowCardinality(String),
    suite_version      UInt32,
    expectation        LowCardinality(String),
    expectation_type   LowCardinality(String),
    column             LowCardinality(String),
    row_condition      String,
    success            Bool,
    batch_rows         UInt64,
    element_count      UInt64,
    unexpected_count   UInt64,
    unexpected_percent Float64,
    observed_value     String,
    unexpected_sample  String CODEC(ZSTD(1)),
    exception          String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(run_at)
ORDER BY (suite, expectation, run_at);

-- dead_letters: the vigil.events.dlq topic, consumed by `vigil process` (a second stream in
-- the same Quix application). One row per dropped message; a drop recorded twice (the
-- processor is at-least-once) has the same source (topic, partition, offset) and reason, so
-- ReplacingMergeTree + FINAL counts it once. Records without a source use the DLQ message's
-- own coordinates. `record` is the DLQ record as JSON (≤ 512 KiB) for drill-down.
--   volume by reason: SELECT reason, count() FROM dead_letters FINAL WHERE failed_at >= … GROUP BY reason
CREATE TABLE IF NOT EXISTS dead_letters
(
    failed_at          DateTime64(3, 'UTC'),
    reason             LowCardinality(String),
    step               LowCardinality(String),
    path               String,
    message            String,
    project_id         UInt32,
    event_type         LowCardinality(String),
    event_id           String,
    source_topic       LowCardinality(String),
    source_partition   UInt32,
    source_offset      UInt64,
    record             String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
ORDER BY (source_topic, source_partition, source_offset, reason);
