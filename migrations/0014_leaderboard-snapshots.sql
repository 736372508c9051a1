-- Up Migration
-- Leaderboard snapshots (issue 4: the model leaderboard read from a rollup in one indexed lookup). A leaderboard
-- over [as_of − N days, as_of) has exact cost and duration percentiles, so answering it means ranking every cost of
-- the period (the cost histogram holds about one row per AI-GYM row: costs are nearly all distinct). Its period
-- ends at the views' as_of, so the answer changes only when a refresh moves as_of: each refresh computes the
-- leaderboards of the periods dashboards ask for (src/analytics/get-model-leaderboard.ts, SNAPSHOT_PERIOD_DAYS) for
-- every task type, in its own snapshot, and stores them here under its as_of. A read for a stored (as_of, period)
-- is a primary-key range read; any other period is computed from the views as before. Rows of refreshes older than
-- the previous one are deleted by the refresh.

-- Which (as_of, period) a refresh stored, so that a stored leaderboard with no models is told from one never stored.
CREATE TABLE model_leaderboard_snapshot_periods (
    as_of TIMESTAMP NOT NULL,
    days INTEGER NOT NULL,
    PRIMARY KEY (as_of, days)
);

-- One row per task type × model of a stored leaderboard, with the numbers the live query returns.
CREATE TABLE model_leaderboard_snapshots (
    as_of TIMESTAMP NOT NULL,
    days INTEGER NOT NULL,
    task_type VARCHAR(50) NOT NULL,
    model_name VARCHAR(50) NOT NULL,
    usage_count INTEGER NOT NULL,
    avg_cost DOUBLE PRECISION,
    avg_quality DOUBLE PRECISION,
    conversion_rate DOUBLE PRECISION,
    conversion_samples INTEGER NOT NULL,
    conversions DOUBLE PRECISION NOT NULL,
    quality_samples INTEGER NOT NULL,
    p50_duration_seconds DOUBLE PRECISION,
    p95_duration_seconds DOUBLE PRECISION,
    p50_cost DOUBLE PRECISION,
    p95_cost DOUBLE PRECISION,
    total_cost DOUBLE PRECISION,
    PRIMARY KEY (as_of, days, task_type, model_name),
    FOREIGN KEY (as_of, days) REFERENCES model_leaderboard_snapshot_periods (as_of, days) ON DELETE CASCADE
);

-- The closed rollup tables keyed by task type or A/B test first get an index on their day: the stored leaderboards
-- read every task type's days of a period, and a refresh deletes closed days of every key, which without it scan the
-- whole closed history (views/ copies these).
CREATE INDEX ai_gym_daily_closed_day_idx ON ai_gym_daily_closed (day);
CREATE INDEX ai_gym_durations_daily_closed_day_idx ON ai_gym_durations_daily_closed (day);
CREATE INDEX ai_gym_costs_daily_closed_day_idx ON ai_gym_costs_daily_closed (day);
CREATE INDEX ab_variant_daily_closed_day_idx ON ab_variant_daily_closed (day);

-- Down Migration
DROP INDEX ab_variant_daily_closed_day_idx;
DROP INDEX ai_gym_costs_daily_closed_day_idx;
DROP INDEX ai_gym_durations_daily_closed_day_idx;
DROP INDEX ai_gym_daily_closed_day_idx;
DROP TABLE model_leaderboard_snapshots;
DROP TABLE model_leaderboard_snapshot_periods;
