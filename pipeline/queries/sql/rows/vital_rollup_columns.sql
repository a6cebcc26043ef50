-- The columns of rows/vitals' rows that a Web Vitals rollup (hourly or daily) has, after its time:
-- the dimensions it lacks read as ''.
vital_name, path, '' AS device, '' AS browser, '' AS country,
toString(release) AS release, '' AS connection_type, toString(environment) AS environment,
rating, bucket, samples, low, high
