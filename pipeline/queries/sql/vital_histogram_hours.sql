-- One Web Vital's (or every one's) log-bucketed histogram per rating, grouped by the group
-- parameter: a column of rows/vitals (vital_name, path, device, browser, country, release,
-- connection_type, environment), picked by the calling function from a fixed list. For a range that
-- holds no whole day (tiers.holds_whole_day): vital_histogram reads the same rows with the days'
-- lookups, which cost ~40 ms and find nothing there.
SELECT
    toString({group:Identifier}) AS key,
    bucket,
    toString(rating) AS rating,
    sum(samples) AS samples,
    min(low) AS low,
    max(high) AS high
FROM
(
    -- include: rows/vitals
)
GROUP BY key, bucket, rating
