-- AI-GYM per task type × model × UTC day: sums and counts from which any period's means follow exactly (a mean of
-- a value is its sum over the rows that have it divided by their count).
CREATE MATERIALIZED VIEW ai_gym_daily AS
SELECT task_type,
       model_name,
       created_at::date AS day,
       count(*)::int AS usage_count,
       sum(cost) AS cost_sum,
       count(cost)::int AS cost_count,
       sum(quality_score)::bigint AS quality_sum,
       count(quality_score)::int AS quality_count,
       sum(conversion_metric) AS conversion_sum,
       count(conversion_metric)::int AS conversion_count,
       count(duration_seconds)::int AS duration_count
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL
 GROUP BY task_type, model_name, created_at::date;
CREATE UNIQUE INDEX ai_gym_daily_key ON ai_gym_daily (task_type, day, model_name);
