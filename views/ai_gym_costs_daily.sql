-- AI-GYM cost histogram per task type × model × UTC day: how many rows cost each exact amount. cost is
-- NUMERIC(10,4), so the histogram is lossless and cost p50/p95 over any set of days are exact (percentile_cont over
-- the rows those days hold).
-- Declared as campaign_kpis_15m.sql is; an AI-GYM row marks its day.
CALL rollup_define(
    name => 'ai_gym_costs_daily',
    columns => 'task_type VARCHAR(50) NOT NULL, model_name VARCHAR(50) NOT NULL, day DATE NOT NULL,
                cost NUMERIC(10,4) NOT NULL, n INTEGER NOT NULL',
    primary_key => 'task_type, day, model_name, cost',
    bucket => 'day',
    marks => '{ai_gym_performance.created_at}',
    aggregate => $$
SELECT task_type, model_name, created_at::date, cost, count(*)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND cost IS NOT NULL
   AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date, cost
$$);
