-- The dimensions the dashboards filter and group by that 001 does not store yet.
--
-- Each column has a DEFAULT, so the processor's inserts (which name their columns) keep
-- working before it learns about them, and rows stored before this migration read the
-- default. When the processor fills a column itself, the value it sends wins.

-- The visitor's country (ISO 3166-1 alpha-2) from a GeoIP lookup of the client IP; the
-- processor has no GeoIP step yet, so it is empty, which the dashboards show as "unknown".
ALTER TABLE events ADD COLUMN IF NOT EXISTS country LowCardinality(String) DEFAULT '';

-- The browser's effective connection type (navigator.connection.effectiveType: slow-2g, 2g,
-- 3g, 4g), if the SDK sent it as data.connection_type; empty = unknown.
ALTER TABLE events ADD COLUMN IF NOT EXISTS connection_type LowCardinality(String)
    DEFAULT JSONExtractString(data, 'connection_type');

-- Which error group an error belongs to. Until the processor computes real fingerprints
-- (from symbolicated in-app frames), the group is the SDK's own data.fingerprint if it sent
-- one, else (kind, type, message with its numbers masked) — the same grouping the alert
-- rules use, so `lower(hex(fingerprint))` is their error-group id. 0 for other event types.
ALTER TABLE events ADD COLUMN IF NOT EXISTS fingerprint UInt64 DEFAULT multiIf(
    type != 'error', toUInt64(0),
    JSONLength(data, 'fingerprint') > 0, cityHash64(JSONExtract(data, 'fingerprint', 'Array(String)')),
    cityHash64(toString(error_kind), error_type, replaceRegexpAll(error_message, '[0-9]+', '<n>')));

-- Drill-downs look up one error group or one session among all events of a time range.
ALTER TABLE events ADD INDEX IF NOT EXISTS events_fingerprint fingerprint TYPE bloom_filter GRANULARITY 4;
ALTER TABLE events ADD INDEX IF NOT EXISTS events_session session_id TYPE bloom_filter GRANULARITY 4;
