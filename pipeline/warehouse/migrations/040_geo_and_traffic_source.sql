-- Where a visitor is and where the visit came from, filled by the processor's put_geo and
-- put_traffic_source steps (docs/processor.md). `country` is 002's column.
--
-- Each column has a DEFAULT of '' so the processor's inserts (which name their columns) and
-- rows stored before this migration read "unknown" / no tag. Rows stored before it get no
-- referrer source: their `referrer` and `url` columns still hold what it would be derived from.

-- the first subdivision's English name (e.g. Bavaria) and the city's, from the GeoIP database
ALTER TABLE events ADD COLUMN IF NOT EXISTS region LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS city String DEFAULT '';

-- the tagged source (utm_source, source, ref), else the referrer's known name (Google,
-- Twitter, …) or host, else 'Direct / None'; referrer_domain is the referrer's host without www.
ALTER TABLE events ADD COLUMN IF NOT EXISTS referrer_source String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS referrer_domain String DEFAULT '';

-- the page URL's UTM tags, decoded
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_source String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_medium String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_campaign String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_term String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS utm_content String DEFAULT '';
