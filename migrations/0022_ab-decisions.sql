-- Up Migration
-- A/B tests that decide themselves (issue 13 part 5): each test declares the metric it is decided on, its α, the
-- minimum sample every variant needs before any decision and the mSPRT mixing variance τ²; the `ab_evaluate` job
-- (src/jobs/scheduler.ts → src/domain/ab-evaluation.ts) keeps the last evaluation's evidence here, stops variants
-- that lost and records the winner.
--
-- Locks: ADD COLUMN with constant defaults on ab_tests (a small table) is a catalog-only change under a brief
-- ACCESS EXCLUSIVE lock. The backfill marks tests that were already decided by hand; it only touches rows still at
-- the defaults, so re-running after a rollback is safe.
ALTER TABLE ab_tests
    ADD COLUMN metric VARCHAR(30) NOT NULL DEFAULT 'reply_rate'
        CHECK (metric IN ('reply_rate', 'positive_reply_rate', 'meeting_rate')),
    ADD COLUMN alpha DOUBLE PRECISION NOT NULL DEFAULT 0.05 CHECK (alpha > 0 AND alpha <= 0.2),
    ADD COLUMN min_sample_per_variant INTEGER NOT NULL DEFAULT 200 CHECK (min_sample_per_variant >= 10),
    ADD COLUMN mixing_variance DOUBLE PRECISION NOT NULL DEFAULT 0.0025
        CHECK (mixing_variance > 0 AND mixing_variance <= 1),
    -- collecting: some variant is below the minimum sample; testing: every variant has it, no decision yet;
    -- decided: a winner is recorded (decided_by says by whom).
    ADD COLUMN decision_state VARCHAR(20) NOT NULL DEFAULT 'collecting'
        CHECK (decision_state IN ('collecting', 'testing', 'decided')),
    ADD COLUMN decided_by VARCHAR(20) CHECK (decided_by IN ('manual', 'sequential_test')),
    -- Variants that lost against the control: they get no new exposures (assignment re-hashes their leads).
    ADD COLUMN stopped_variants VARCHAR(50)[] NOT NULL DEFAULT '{}',
    -- The last evaluation: per comparison the counts, effect, always-valid p-value (running minimum over looks)
    -- and interval (running intersection); see AbEvidence in src/domain/ab-evaluation.ts.
    ADD COLUMN evidence JSONB,
    ADD COLUMN evaluated_at TIMESTAMP;

UPDATE ab_tests
   SET decision_state = 'decided', decided_by = 'manual'
 WHERE winning_variant IS NOT NULL AND decided_by IS NULL;

-- The job reads the active tests every run.
CREATE INDEX ab_tests_status_idx ON ab_tests (status);

-- Down Migration
DROP INDEX ab_tests_status_idx;
ALTER TABLE ab_tests
    DROP COLUMN evaluated_at,
    DROP COLUMN evidence,
    DROP COLUMN stopped_variants,
    DROP COLUMN decided_by,
    DROP COLUMN decision_state,
    DROP COLUMN mixing_variance,
    DROP COLUMN min_sample_per_variant,
    DROP COLUMN alpha,
    DROP COLUMN metric;
