-- Source maps, uploaded by `vigil sourcemaps upload` and read by every processor replica's
-- symbolicate step: the warehouse is the store they all share, so no file system or object
-- store has to be mounted beside the processors.
--
-- One row per (project, release, url): url is the minified file's URL as frames report it,
-- either absolute (https://cdn.example.com/js/app.min.js) or host-less with Sentry's "~"
-- (~/static/js/app.min.js matches that path on any host). map is the source map's JSON and
-- minified the minified file itself, when it was uploaded beside the map (the step needs it
-- to name original functions); both compressed with ZSTD. An upload of the same key is a new
-- version of the row; the latest wins (read with FINAL).
CREATE TABLE IF NOT EXISTS sourcemaps
(
    project_id  UInt32,
    release     String,
    url         String,
    map         String CODEC(ZSTD(3)),
    minified    String CODEC(ZSTD(3)),
    map_bytes   UInt64,
    sha256      String,
    uploaded_at DateTime64(3, 'UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (project_id, release, url);
