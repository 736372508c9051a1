-- AI-GYM cost histogram per task type × model × UTC day: how many rows cost each exact amount. cost is
-- NUMERIC(10,4), so the histogram is lossless and cost p50/p95 over any set of days are exact (percentile_cont over
-- the rows those days hold).
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi), _closed (before the horizon), _open (from it), and the view.
CREATE FUNCTION ai_gym_costs_daily_between(lo timestamp, hi timestamp)
RETURNS TABLE (task_type varchar, model_name varchar, day date, cost numeric, n integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT task_type, model_name, created_at::date, cost, count(*)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND cost IS NOT NULL
   AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date, cost
$$;
CREATE TABLE ai_gym_costs_daily_closed (
    task_type VARCHAR(50) NOT NULL,
    model_name VARCHAR(50) NOT NULL,
    day DATE NOT NULL,
    cost NUMERIC(10,4) NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (task_type, day, model_name, cost)
);
CREATE INDEX ai_gym_costs_daily_closed_day_idx ON ai_gym_costs_daily_closed (day);
CREATE MATERIALIZED VIEW ai_gym_costs_daily_open AS
SELECT f.task_type::varchar(50) AS task_type, f.model_name::varchar(50) AS model_name, f.day,
       f.cost::numeric(10,4) AS cost, f.n
  FROM rollup_horizon h CROSS JOIN LATERAL ai_gym_costs_daily_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX ai_gym_costs_daily_open_key ON ai_gym_costs_daily_open (task_type, day, model_name, cost);
CREATE VIEW ai_gym_costs_daily AS
SELECT * FROM ai_gym_costs_daily_closed
UNION ALL
SELECT * FROM ai_gym_costs_daily_open;
