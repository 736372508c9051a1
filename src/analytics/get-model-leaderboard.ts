import type pg from "pg";
import { cachedByAsOf } from "./as-of-cache.js";

/**
 * AI-GYM model leaderboard (spec §3.3 sample, README "KPI definitions") for one task type over the rolling period
 * `[asOf − N days, asOf)`: usage_count = rows; avg_cost = mean(cost); avg_quality = mean(quality_score) and
 * conversion_rate = mean(conversion_metric), each over the rows that have the value; duration and cost p50/p95 =
 * percentile_cont over the rows that have the value. Means of no rows are null, never 0.
 *
 * The whole UTC days in between come from the daily views (sums, counts and duration and cost histograms); the partial
 * first day and asOf's own day come from the base table (indexed on task_type, created_at), cut at the period's
 * ends. So every number equals the same aggregate over the base rows.
 */
export type ModelLeaderboardRow = {
  model_name: string;
  usage_count: number;
  avg_cost: number | null;
  avg_quality: number | null;
  conversion_rate: number | null;
  /** Rows with a conversion_metric (the trials behind conversion_rate). */
  conversion_samples: number;
  /** Sum of conversion_metric: conversions when the metric is a 0/1 outcome. */
  conversions: number;
  quality_samples: number;
  p50_duration_seconds: number | null;
  p95_duration_seconds: number | null;
  /** Cost percentiles (USD) over the rows that have a cost. */
  p50_cost: number | null;
  p95_cost: number | null;
  total_cost: number | null;
};

export const LEADERBOARD_ORDER = ["avg_quality", "avg_cost", "conversion_rate", "usage_count"] as const;
export type LeaderboardOrder = (typeof LEADERBOARD_ORDER)[number];

/** ORDER BY clauses by name: the sort column comes from this allow-list, never from input text. */
const ORDER_SQL: Record<LeaderboardOrder, string> = {
  avg_quality: "avg_quality DESC NULLS LAST",
  avg_cost: "avg_cost ASC NULLS LAST",
  conversion_rate: "conversion_rate DESC NULLS LAST",
  usage_count: "usage_count DESC",
};

const DAY_MS = 86_400_000;

export type LeaderboardPeriod = { from: Date; to: Date; days: number };

export function leaderboardPeriod(days: number, asOf: Date): LeaderboardPeriod {
  return { from: new Date(asOf.getTime() - days * DAY_MS), to: asOf, days };
}

/** percentile_cont(p) over a histogram (value v, count n) per model, with PostgreSQL's own interpolation. */
const percentile = (p: number) => `
  min(v) FILTER (WHERE below <= floor(${p} * (total - 1)) AND floor(${p} * (total - 1)) < through)::float8
  + (min(v) FILTER (WHERE below <= ceil(${p} * (total - 1)) AND ceil(${p} * (total - 1)) < through)::float8
     - min(v) FILTER (WHERE below <= floor(${p} * (total - 1)) AND floor(${p} * (total - 1)) < through)::float8)
    * (${p} * (total - 1) - floor(${p} * (total - 1)))`;

export function getModelLeaderboard(
  db: pg.Pool,
  q: { taskType: string; days: number; asOf: Date; orderBy: LeaderboardOrder },
): Promise<ModelLeaderboardRow[]> {
  return cachedByAsOf(db, q.asOf, `leaderboard|${q.taskType}|${q.days}|${q.orderBy}`, () =>
    queryLeaderboard(db, q),
  );
}

async function queryLeaderboard(
  db: pg.Pool,
  q: { taskType: string; days: number; asOf: Date; orderBy: LeaderboardOrder },
): Promise<ModelLeaderboardRow[]> {
  const period = leaderboardPeriod(q.days, q.asOf);
  // Whole UTC days [firstDay, lastDay) come from the views; [from, firstDay) and [lastDay, asOf) from the table.
  const firstDay = new Date(Math.ceil(period.from.getTime() / DAY_MS) * DAY_MS);
  const lastDay = new Date(Math.max(firstDay.getTime(), Math.floor(q.asOf.getTime() / DAY_MS) * DAY_MS));
  const { rows } = await db.query<ModelLeaderboardRow>(
    `WITH sums AS (
        SELECT model_name, usage_count, cost_sum, cost_count, quality_sum, quality_count,
               conversion_sum, conversion_count
          FROM ai_gym_daily
         WHERE task_type = $1 AND day >= $2::date AND day < $3::date
        UNION ALL
        SELECT model_name, 1, cost, (cost IS NOT NULL)::int, quality_score, (quality_score IS NOT NULL)::int,
               conversion_metric, (conversion_metric IS NOT NULL)::int
          FROM ai_gym_performance
         WHERE task_type = $1 AND model_name IS NOT NULL AND ((created_at >= $4 AND created_at < $2::date) OR (created_at >= $3::date AND created_at < $5))
     ), totals AS (
        SELECT model_name,
               sum(usage_count)::int AS usage_count,
               sum(cost_sum) AS cost_sum, sum(cost_count) AS cost_count,
               sum(quality_sum) AS quality_sum, sum(quality_count) AS quality_count,
               sum(conversion_sum) AS conversion_sum, sum(conversion_count) AS conversion_count
          FROM sums GROUP BY model_name
     ), histogram AS (
        -- Lossless histograms of duration and cost: percentiles over any set of rows are exact.
        SELECT model_name, metric, v, sum(n) AS n
          FROM (SELECT model_name, 'duration' AS metric, duration_seconds::numeric AS v, n
                  FROM ai_gym_durations_daily
                 WHERE task_type = $1 AND day >= $2::date AND day < $3::date
                UNION ALL
                SELECT model_name, 'cost', cost, n
                  FROM ai_gym_costs_daily
                 WHERE task_type = $1 AND day >= $2::date AND day < $3::date
                UNION ALL
                SELECT model_name, m.metric, m.v, 1
                  FROM ai_gym_performance
                 CROSS JOIN LATERAL (VALUES ('duration', duration_seconds::numeric), ('cost', cost)) AS m(metric, v)
                 WHERE task_type = $1 AND model_name IS NOT NULL AND m.v IS NOT NULL
                   AND ((created_at >= $4 AND created_at < $2::date) OR (created_at >= $3::date AND created_at < $5))) AS d
         GROUP BY model_name, metric, v
     ), ranked AS (
        SELECT model_name, metric, v,
               (sum(n) OVER w - n)::float8 AS below,
               (sum(n) OVER w)::float8 AS through,
               (sum(n) OVER (PARTITION BY model_name, metric))::float8 AS total
          FROM histogram
        WINDOW w AS (PARTITION BY model_name, metric ORDER BY v)
     ), percentiles AS (
        SELECT model_name, metric, ${percentile(0.5)} AS p50, ${percentile(0.95)} AS p95
          FROM ranked GROUP BY model_name, metric, total
     )
     SELECT t.model_name,
            t.usage_count,
            (t.cost_sum / NULLIF(t.cost_count, 0))::float8 AS avg_cost,
            (t.quality_sum / NULLIF(t.quality_count, 0))::float8 AS avg_quality,
            (t.conversion_sum / NULLIF(t.conversion_count, 0))::float8 AS conversion_rate,
            t.conversion_count::int AS conversion_samples,
            COALESCE(t.conversion_sum, 0)::float8 AS conversions,
            t.quality_count::int AS quality_samples,
            d.p50 AS p50_duration_seconds,
            d.p95 AS p95_duration_seconds,
            c.p50 AS p50_cost,
            c.p95 AS p95_cost,
            t.cost_sum::float8 AS total_cost
       FROM totals t
       LEFT JOIN percentiles d ON d.model_name = t.model_name AND d.metric = 'duration'
       LEFT JOIN percentiles c ON c.model_name = t.model_name AND c.metric = 'cost'
      ORDER BY ${ORDER_SQL[q.orderBy]}, t.model_name`,
    [
      q.taskType,
      firstDay.toISOString().slice(0, 10),
      lastDay.toISOString().slice(0, 10),
      period.from.toISOString(),
      q.asOf.toISOString(),
    ],
  );
  return rows;
}
