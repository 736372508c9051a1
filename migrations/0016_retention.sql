-- Up Migration
-- Data retention (issue 12 item 2, spec §8; policy in src/compliance/retention-policy.ts, README "Retention
-- policy"). The purge drops whole monthly partitions of email_sends, whose rows the closed rollups counted: from
-- then on the closed rollups are the only record of those days, and a recount (a dirty mark, a TRUNCATE's
-- '-infinity' mark) would rewrite them from base rows that are gone — zeros. So the rollups get a seal:
--
-- - rollup_horizon.sealed_before: closed buckets before it are never rewritten. A refresh discards the dirty marks
--   of sealed days and recounts a '-infinity' mark from sealed_before, not from the beginning of time. Retention
--   moves it up (only up, never past the horizon) in the same refresh transaction that first recounts the pending
--   marks, and drops a partition only once every day its rows are counted on is sealed (views/README.md).
-- - view_refreshes.trigger 'retention': the refresh a retention run does.
-- - Partial indexes on the rows retention still has to strip (messages with addresses or text, AI-GYM rows with
--   hashes), so the daily run reads only those instead of scanning the whole history every day. They stay small:
--   rows leave them once stripped.
--
-- Locks: the rollup_horizon column is a catalog change (one row). The view_refreshes CHECK is re-validated over that
-- small table (pruned to 30 days). Each CREATE INDEX scans its table under a SHARE lock, which blocks writes to
-- conversation_messages / ai_gym_performance for the build. On large tables build them by hand first (for the
-- partitioned ai_gym_performance: CREATE INDEX CONCURRENTLY on each partition, then CREATE INDEX … ON ONLY the
-- parent and ALTER INDEX … ATTACH PARTITION each) and this migration's IF NOT EXISTS skips them. Re-runnable: the
-- transaction is all or nothing.
ALTER TABLE rollup_horizon ADD COLUMN sealed_before TIMESTAMP NOT NULL DEFAULT '-infinity';
-- Like horizon and mark_below, set only by the refresh (the default above fills the one row).
ALTER TABLE rollup_horizon ALTER COLUMN sealed_before DROP DEFAULT;
ALTER TABLE rollup_horizon ADD CONSTRAINT rollup_horizon_sealed_before_horizon CHECK (sealed_before <= horizon);

ALTER TABLE view_refreshes DROP CONSTRAINT view_refreshes_trigger_check;
ALTER TABLE view_refreshes ADD CONSTRAINT view_refreshes_trigger_check
    CHECK (trigger IN ('migration', 'startup', 'schedule', 'admin', 'test', 'retention'));

CREATE INDEX IF NOT EXISTS conversation_messages_unstripped_sent_at_idx ON conversation_messages (sent_at)
    WHERE from_email IS NOT NULL OR to_email IS NOT NULL OR subject IS NOT NULL OR body IS NOT NULL
       OR gmail_message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS ai_gym_performance_hashed_created_at_idx ON ai_gym_performance (created_at)
    WHERE prompt_hash IS NOT NULL OR response_hash IS NOT NULL;

-- Down Migration
-- Reverting forgets the seal: a later recount of sealed days whose partitions were dropped would zero them.
DROP INDEX IF EXISTS ai_gym_performance_hashed_created_at_idx;
DROP INDEX IF EXISTS conversation_messages_unstripped_sent_at_idx;
-- Fails while refresh rows with trigger 'retention' exist (the 30-day log); delete them first to revert.
ALTER TABLE view_refreshes DROP CONSTRAINT view_refreshes_trigger_check;
ALTER TABLE view_refreshes ADD CONSTRAINT view_refreshes_trigger_check
    CHECK (trigger IN ('migration', 'startup', 'schedule', 'admin', 'test'));
ALTER TABLE rollup_horizon DROP CONSTRAINT rollup_horizon_sealed_before_horizon;
ALTER TABLE rollup_horizon DROP COLUMN sealed_before;
