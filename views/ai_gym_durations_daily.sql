-- AI-GYM duration histogram per task type × model × UTC day: how many rows took each whole number of seconds.
-- duration_seconds is an integer, so the histogram is lossless and p50/p95 over any set of days are exact
-- (percentile_cont over the rows those days hold).
CREATE MATERIALIZED VIEW ai_gym_durations_daily AS
SELECT task_type,
       model_name,
       created_at::date AS day,
       duration_seconds,
       count(*)::int AS n
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND duration_seconds IS NOT NULL
 GROUP BY task_type, model_name, created_at::date, duration_seconds;
CREATE UNIQUE INDEX ai_gym_durations_daily_key ON ai_gym_durations_daily (task_type, day, model_name, duration_seconds);
