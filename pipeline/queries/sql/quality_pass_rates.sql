-- Data quality checks per time bucket, suite and expectation (030_quality.sql).
SELECT
    toDateTime64(toStartOfInterval(run_at, toIntervalMinute({bucket_minutes:UInt32})), 3, 'UTC') AS bucket,
    toString(suite) AS suite, toString(expectation) AS expectation,
    count() AS checks, countIf(success) AS passed, passed / checks AS pass_rate,
    sum(unexpected_count) AS unexpected, sum(element_count) AS elements
FROM quality_results
WHERE run_at >= {start:DateTime64(3, 'UTC')} AND run_at < {end:DateTime64(3, 'UTC')}
GROUP BY bucket, suite, expectation
ORDER BY bucket, suite, expectation
