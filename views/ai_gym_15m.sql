-- AI-GYM per task type × model × 15-minute UTC bucket: ai_gym_daily's sums and counts, finer (issue 14 target 2).
-- A leaderboard period starts and ends inside a day: its partial first and last days are read from these buckets,
-- and only the rows of the partial buckets at its two ends from ai_gym_performance, instead of every row of both
-- partial days (at 10M rows a year, tens of thousands a request). Declared as ai_gym_daily.sql is; an AI-GYM row
-- marks its bucket.
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
