-- Up Migration
-- GET /api/v2/audit-log (issue 12 item 8) pages the audit log in id order, optionally filtered by resource type
-- (and id) and by exact action: `WHERE … AND id > $cursor ORDER BY id LIMIT n`.
-- - Unfiltered: the primary key.
-- - resource_type + resource_id: audit_log_resource_idx (0005) finds the few rows of one resource; sorting them is
--   cheap.
-- - resource_type alone: audit_log_resource_idx would return every row of that type (every lead ever ingested) to
--   sort it for one page; (resource_type, id) walks the page straight from the cursor.
-- - action: there was no index on action; (action, id) does the same for `action=`.
-- Each audit row now updates two more indexes; audit rows are written once per write, so the cost is per request.
-- Locks: each CREATE INDEX scans audit_log once under a SHARE lock, which blocks every insert into audit_log — and
-- so every write request — for the duration of the build. On a large audit_log build them by hand first:
--   CREATE INDEX CONCURRENTLY audit_log_resource_type_id_idx ON audit_log (resource_type, id);
--   CREATE INDEX CONCURRENTLY audit_log_action_id_idx ON audit_log (action, id);
-- and this migration's IF NOT EXISTS skips them. A CONCURRENTLY build that failed leaves an INVALID index of that
-- name (pg_index.indisvalid = false) which IF NOT EXISTS would also skip: drop it and build it again before running
-- the migration.
CREATE INDEX IF NOT EXISTS audit_log_resource_type_id_idx ON audit_log (resource_type, id);
CREATE INDEX IF NOT EXISTS audit_log_action_id_idx ON audit_log (action, id);

-- Down Migration
DROP INDEX IF EXISTS audit_log_action_id_idx;
DROP INDEX IF EXISTS audit_log_resource_type_id_idx;
