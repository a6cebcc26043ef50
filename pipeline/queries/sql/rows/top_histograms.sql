-- The log-bucketed histograms of the keys with the most samples (as many as the limit parameter
-- says; ties: by key), from the rows `histogram` (key, bucket, samples, low, high) that the
-- statement names in its WITH clause: one row per key and bucket, for pipeline.queries.histograms
-- to read the percentiles from.
SELECT key, bucket, n AS samples, lowest AS low, highest AS high
FROM
(
    SELECT key, bucket, n, lowest, highest, dense_rank() OVER (ORDER BY total DESC, key) AS place
    FROM
    (
        SELECT key, bucket, sum(samples) AS n, min(low) AS lowest, max(high) AS highest,
               sum(sum(samples)) OVER (PARTITION BY key) AS total
        FROM histogram
        GROUP BY key, bucket
    )
)
WHERE place <= {limit:UInt32}
