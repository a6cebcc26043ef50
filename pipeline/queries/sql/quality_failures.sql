-- The latest failing expectations, newest first.
SELECT run_at, toString(source) AS source, toString(suite) AS suite, suite_version, toString(expectation) AS expectation,
       toString(expectation_type) AS expectation_type, toString(column) AS column, row_condition,
       element_count, unexpected_count, unexpected_percent, observed_value, unexpected_sample, exception
FROM quality_results
WHERE NOT success AND run_at >= {start:DateTime64(3, 'UTC')} AND run_at < {end:DateTime64(3, 'UTC')}
ORDER BY run_at DESC, suite, expectation
LIMIT {limit:UInt64}
