-- What a backend's error says besides its exception (issue 14, item 12): the SDK's platform
-- (javascript, python, node, …), Sentry's level, the logger, the server's name and the
-- transaction (route or task) it happened in. The chain of exceptions stays in `data`
-- (`exceptions`), shown by the Errors page.
--
-- The processor fills them for errors (rows.py). Every other event, Vigil's own SDK's and
-- every row stored before this migration is the browser's: platform 'javascript', and an
-- error's level 'error' (Sentry's default), or the level its `data` kept.
ALTER TABLE events ADD COLUMN IF NOT EXISTS platform LowCardinality(String) DEFAULT 'javascript';
ALTER TABLE events ADD COLUMN IF NOT EXISTS level LowCardinality(String)
    DEFAULT if(type = 'error', if(JSONExtractString(data, 'level') = '', 'error', JSONExtractString(data, 'level')), '');
ALTER TABLE events ADD COLUMN IF NOT EXISTS logger String DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS server_name LowCardinality(String) DEFAULT '';
ALTER TABLE events ADD COLUMN IF NOT EXISTS transaction String DEFAULT '' CODEC(ZSTD(1));
