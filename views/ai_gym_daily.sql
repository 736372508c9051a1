-- AI-GYM per task type × model × UTC day: sums and counts from which any period's means follow exactly (a mean of
-- a value is its sum over the rows that have it divided by their count).
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi), _closed (before the horizon), _open (from it), and the view.
CREATE FUNCTION ai_gym_daily_between(lo timestamp, hi timestamp)
RETURNS TABLE (task_type varchar, model_name varchar, day date, usage_count integer, cost_sum numeric,
               cost_count integer, quality_sum bigint, quality_count integer, conversion_sum numeric,
               conversion_count integer, duration_count integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT task_type, model_name, created_at::date, count(*)::int, sum(cost), count(cost)::int,
       sum(quality_score)::bigint, count(quality_score)::int, sum(conversion_metric), count(conversion_metric)::int,
       count(duration_seconds)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date
$$;
CREATE TABLE ai_gym_daily_closed (
    task_type VARCHAR(50) NOT NULL,
    model_name VARCHAR(50) NOT NULL,
    day DATE NOT NULL,
    usage_count INTEGER NOT NULL,
    cost_sum NUMERIC,
    cost_count INTEGER NOT NULL,
    quality_sum BIGINT,
    quality_count INTEGER NOT NULL,
    conversion_sum NUMERIC,
    conversion_count INTEGER NOT NULL,
    duration_count INTEGER NOT NULL,
    PRIMARY KEY (task_type, day, model_name)
);
CREATE INDEX ai_gym_daily_closed_day_idx ON ai_gym_daily_closed (day);
CREATE MATERIALIZED VIEW ai_gym_daily_open AS
SELECT f.task_type::varchar(50) AS task_type, f.model_name::varchar(50) AS model_name, f.day, f.usage_count,
       f.cost_sum, f.cost_count, f.quality_sum, f.quality_count, f.conversion_sum, f.conversion_count,
       f.duration_count
  FROM rollup_horizon h CROSS JOIN LATERAL ai_gym_daily_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX ai_gym_daily_open_key ON ai_gym_daily_open (task_type, day, model_name);
CREATE VIEW ai_gym_daily AS
SELECT * FROM ai_gym_daily_closed
UNION ALL
SELECT * FROM ai_gym_daily_open;
