-- AI-GYM per task type × model × UTC day: sums and counts from which any period's means follow exactly (a mean of
-- a value is its sum over the rows that have it divided by their count).
-- Declared as campaign_kpis_15m.sql is; an AI-GYM row marks its day.
CALL rollup_define(
    name => 'ai_gym_daily',
    columns => 'task_type VARCHAR(50) NOT NULL, model_name VARCHAR(50) NOT NULL, day DATE NOT NULL,
                usage_count INTEGER NOT NULL, cost_sum NUMERIC, cost_count INTEGER NOT NULL, quality_sum BIGINT,
                quality_count INTEGER NOT NULL, conversion_sum NUMERIC, conversion_count INTEGER NOT NULL,
                duration_count INTEGER NOT NULL',
    primary_key => 'task_type, day, model_name',
    bucket => 'day',
    marks => '{ai_gym_performance.created_at}',
    aggregate => $$
SELECT task_type, model_name, created_at::date, count(*)::int, sum(cost), count(cost)::int,
       sum(quality_score)::bigint, count(quality_score)::int, sum(conversion_metric), count(conversion_metric)::int,
       count(duration_seconds)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date
$$);
