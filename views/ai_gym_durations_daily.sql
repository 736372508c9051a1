-- AI-GYM duration histogram per task type × model × UTC day: how many rows took each whole number of seconds.
-- duration_seconds is an integer, so the histogram is lossless and p50/p95 over any set of days are exact
-- (percentile_cont over the rows those days hold).
-- Declared as campaign_kpis_15m.sql is; an AI-GYM row marks its day.
CALL rollup_define(
    name => 'ai_gym_durations_daily',
    columns => 'task_type VARCHAR(50) NOT NULL, model_name VARCHAR(50) NOT NULL, day DATE NOT NULL,
                duration_seconds INTEGER NOT NULL, n INTEGER NOT NULL',
    primary_key => 'task_type, day, model_name, duration_seconds',
    bucket => 'day',
    marks => '{ai_gym_performance.created_at}',
    aggregate => $$
SELECT task_type, model_name, created_at::date, duration_seconds, count(*)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND duration_seconds IS NOT NULL
   AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date, duration_seconds
$$);
