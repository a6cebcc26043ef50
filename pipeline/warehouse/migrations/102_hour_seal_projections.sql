-- Each hour's latest seal from a projection: every read of sealed hours first looks up which hours
-- are sealed and by which seal (rows/sealed_hours_of, rows/sealed_session_hours:
-- SELECT hour, max(sealed_at) ... GROUP BY hour), and without a projection that lookup reads the
-- table's hour and sealed_at columns whole for the range. On 100M events over 30 days
-- (docs/benchmarks.md, 2026-12-08): web_vitals_route_hour's lookup (20.4M rows a month, sorted by vital
-- before hour, so a range prunes little) took 45-79 ms at 7 d and 115-183 ms at 30 d, resource_hour's
-- (18.8M) 30 and 85 ms, time_on_page_hour's 20 and 57, the sessions' 25 and 41; from the projection
-- (one row per project and hour in each part) 11-17 ms at either range. The tables here hold at least
-- a million rows a month at that size; audience_hour, traffic_hour, click_hour and error_groups_hour
-- hold 2k-450k and read their lookups in a few ms without one.
-- ReplacingMergeTree drops a projection on merge unless told to rebuild it
-- (deduplicate_merge_projection_mode), as 101's web_vitals_route_day seals projection is. Nothing
-- deletes rows from these tables but their TTL, which merges apply (the projection is rebuilt then).

ALTER TABLE web_vitals_route_hour MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE web_vitals_route_hour ADD PROJECTION IF NOT EXISTS seals (SELECT project_id, hour, max(sealed_at) GROUP BY project_id, hour);
ALTER TABLE web_vitals_route_hour MATERIALIZE PROJECTION seals;

ALTER TABLE resource_hour MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE resource_hour ADD PROJECTION IF NOT EXISTS seals (SELECT project_id, hour, max(sealed_at) GROUP BY project_id, hour);
ALTER TABLE resource_hour MATERIALIZE PROJECTION seals;

ALTER TABLE time_on_page_hour MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE time_on_page_hour ADD PROJECTION IF NOT EXISTS seals (SELECT project_id, hour, max(sealed_at) GROUP BY project_id, hour);
ALTER TABLE time_on_page_hour MATERIALIZE PROJECTION seals;

ALTER TABLE sessions MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE sessions ADD PROJECTION IF NOT EXISTS seals (SELECT project_id, hour, max(sealed_at) GROUP BY project_id, hour);
ALTER TABLE sessions MATERIALIZE PROJECTION seals;

ALTER TABLE web_vitals_hour MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE web_vitals_hour ADD PROJECTION IF NOT EXISTS seals (SELECT project_id, hour, max(sealed_at) GROUP BY project_id, hour);
ALTER TABLE web_vitals_hour MATERIALIZE PROJECTION seals;

ALTER TABLE navigation_hour MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE navigation_hour ADD PROJECTION IF NOT EXISTS seals (SELECT project_id, hour, max(sealed_at) GROUP BY project_id, hour);
ALTER TABLE navigation_hour MATERIALIZE PROJECTION seals;

ALTER TABLE vital_target_hour MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE vital_target_hour ADD PROJECTION IF NOT EXISTS seals (SELECT project_id, hour, max(sealed_at) GROUP BY project_id, hour);
ALTER TABLE vital_target_hour MATERIALIZE PROJECTION seals;

ALTER TABLE api_calls_hour MODIFY SETTING deduplicate_merge_projection_mode = 'rebuild';
ALTER TABLE api_calls_hour ADD PROJECTION IF NOT EXISTS seals (SELECT project_id, hour, max(sealed_at) GROUP BY project_id, hour);
ALTER TABLE api_calls_hour MATERIALIZE PROJECTION seals;
