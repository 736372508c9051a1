-- AI-GYM duration histogram per task type × model × UTC day: how many rows took each whole number of seconds.
-- duration_seconds is an integer, so the histogram is lossless and p50/p95 over any set of days are exact
-- (percentile_cont over the rows those days hold).
-- Parts as in campaign_kpis_15m.sql: _between(lo, hi), _closed (before the horizon), _open (from it), and the view.
CREATE FUNCTION ai_gym_durations_daily_between(lo timestamp, hi timestamp)
RETURNS TABLE (task_type varchar, model_name varchar, day date, duration_seconds integer, n integer)
LANGUAGE sql STABLE SET search_path = public AS $$
SELECT task_type, model_name, created_at::date, duration_seconds, count(*)::int
  FROM ai_gym_performance
 WHERE task_type IS NOT NULL AND model_name IS NOT NULL AND duration_seconds IS NOT NULL
   AND created_at >= lo AND created_at < hi
 GROUP BY task_type, model_name, created_at::date, duration_seconds
$$;
CREATE TABLE ai_gym_durations_daily_closed (
    task_type VARCHAR(50) NOT NULL,
    model_name VARCHAR(50) NOT NULL,
    day DATE NOT NULL,
    duration_seconds INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (task_type, day, model_name, duration_seconds)
);
CREATE INDEX ai_gym_durations_daily_closed_day_idx ON ai_gym_durations_daily_closed (day);
CREATE MATERIALIZED VIEW ai_gym_durations_daily_open AS
SELECT f.task_type::varchar(50) AS task_type, f.model_name::varchar(50) AS model_name, f.day, f.duration_seconds,
       f.n
  FROM rollup_horizon h CROSS JOIN LATERAL ai_gym_durations_daily_between(h.horizon, 'infinity') AS f;
CREATE UNIQUE INDEX ai_gym_durations_daily_open_key
    ON ai_gym_durations_daily_open (task_type, day, model_name, duration_seconds);
CREATE VIEW ai_gym_durations_daily AS
SELECT * FROM ai_gym_durations_daily_closed
UNION ALL
SELECT * FROM ai_gym_durations_daily_open;
