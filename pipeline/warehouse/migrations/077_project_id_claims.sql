-- Project ids are claimed here before a project is written (pipeline/projects.py).
--
-- `projects` keeps the latest row per id, so two `vigil project create` reading max(id)+1 at
-- once both wrote the same id and the later silently replaced the earlier. ClickHouse has no
-- transactions; instead every creator inserts a claim (id, its own random token) and reads the
-- claims of that id back: the id is its own only if its claim is the only one. A plain
-- MergeTree keeps every claim, and each claim is inserted with the deduplication token
-- 'project-id-<id>', so within the window below a second claim of one id is dropped by the
-- server itself: exactly one creator finds its token, the others move on to the next id.
CREATE TABLE IF NOT EXISTS project_id_claims
(
    id          UInt32,
    claim       String,
    claimed_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY id
SETTINGS non_replicated_deduplication_window = 10000;
