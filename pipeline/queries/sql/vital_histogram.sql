-- One Web Vital's (or every one's) log-bucketed histogram per rating, grouped by the group
-- parameter: a column of rows/vitals_by_day (vital_name, path, device, browser, country, release,
-- connection_type, environment), picked by the calling function from a fixed list. The day and hour
-- lookups (rows/sealed_days) are defined once, here: each copy would run again.
WITH
    -- include: rows/sealed_days
SELECT
    toString({group:Identifier}) AS key,
    bucket,
    toString(rating) AS rating,
    sum(samples) AS samples,
    min(low) AS low,
    max(high) AS high
FROM
(
    -- include: rows/vitals_by_day
)
GROUP BY key, bucket, rating
