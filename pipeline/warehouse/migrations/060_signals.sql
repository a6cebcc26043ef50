-- Streaming signals (`vigil signals`, pipeline/signals/): one row per project and minute of
-- event time, written when the minute's window closes — the same numbers as the message on
-- the Kafka topic vigil.signals that `vigil alerts` reacts to (docs/signals.md).
--
-- A window can be written more than once: the signals app is at-least-once (a crash between
-- its ClickHouse write and its Kafka commit replays the window), so the table is a
-- ReplacingMergeTree keyed by (project_id, minute) and read with FINAL; the replay computes
-- the same numbers from the same events, and the row written last is kept.
--
-- p75_* are exact 75th percentiles (linear interpolation between order statistics, numpy's
-- and polars' default) of the minute's samples of each Web Vital, NULL when nobody measured
-- it; samples_* say how many there were. api_failure_rate is NULL in a minute without API
-- calls. Rates are fractions 0–1.
CREATE TABLE IF NOT EXISTS signals_minute
(
    project_id       UInt32,
    minute           DateTime('UTC'),
    events           UInt64,
    errors           UInt64,
    error_rate       Float64,
    api_calls        UInt64,
    api_failures     UInt64,
    api_failure_rate Nullable(Float64),
    p75_lcp          Nullable(Float64),
    p75_inp          Nullable(Float64),
    p75_cls          Nullable(Float64),
    p75_fcp          Nullable(Float64),
    p75_ttfb         Nullable(Float64),
    samples_lcp      UInt64,
    samples_inp      UInt64,
    samples_cls      UInt64,
    samples_fcp      UInt64,
    samples_ttfb     UInt64,
    emitted_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(emitted_at)
PARTITION BY toYYYYMM(minute)
ORDER BY (project_id, minute);
