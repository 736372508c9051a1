-- Up Migration
-- AI-GYM per task type × model × 15-minute bucket (issue 14 target 2): a leaderboard over a period that refreshes do
-- not store read every row of its partial first and last days from ai_gym_performance (at the bench's 1.4M rows, 360
-- requests/s for a 45-day leaderboard with no percentile); it now reads those days' 15-minute buckets, and only the
-- rows of the two partial buckets at its ends. Declared as the others are (views/ai_gym_15m.sql).

CALL rollup_define(
    name => 'ai_gym_15m',
    columns => 'task_type VARCHAR(50) NOT NULL, model_name VARCHAR(50) NOT NULL, bucket TIMESTAMP NOT NULL,
                usage_count INTEGER NOT NULL, cost_sum NUMERIC, cost_count INTEGER NOT NULL, quality_sum BIGINT,
                quality_count INTEGER NOT NULL, conversion_sum NUMERIC, conversion_count INTEGER NOT NULL',
    primary_key => 'task_type, bucket, model_name',
    bucket => 'bucket',
    bucket_seconds => 900,
    marks => '{ai_gym_performance.created_at}',
    aggregate => $$
SELECT task_type, model_name, date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01'), count(*)::int, sum(cost),
       count(cost)::int, sum(quality_score)::bigint, count(quality_score)::int, sum(conversion_metric),
       count(conversion_metric)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, date_bin('15 minutes', created_at, TIMESTAMP '2000-01-01')
$$);

-- Filled as it was created: that is its first refresh (later ones, and folds, record it with the others).
INSERT INTO view_refreshes (view_name, as_of, duration_ms, row_count, trigger)
SELECT 'ai_gym_15m', date_trunc('milliseconds', NOW()), 0,
       (SELECT count(*) FROM ai_gym_15m_closed) + (SELECT count(*) FROM ai_gym_15m_open), 'migration';

-- Down Migration
DELETE FROM view_refreshes WHERE view_name = 'ai_gym_15m';
DROP VIEW ai_gym_15m;
DROP TABLE ai_gym_15m_open;
DROP TABLE ai_gym_15m_closed;
DROP FUNCTION ai_gym_15m_between(timestamp, timestamp);
DELETE FROM rollup_open_changes WHERE rollup = 'ai_gym_15m';
DELETE FROM rollup_dirty_days WHERE rollup = 'ai_gym_15m';
DELETE FROM rollup_marks WHERE rollup = 'ai_gym_15m';
DELETE FROM rollups WHERE rollup = 'ai_gym_15m';
