import type pg from "pg";

/**
 * AI-GYM model leaderboard (spec §3.3 sample, issue 4 definitions) for one task type over `[now − days, now)`:
 * usage_count = rows; avg_cost = mean(cost); avg_quality = mean(quality_score) over rows that have one;
 * conversion_rate = mean(conversion_metric) over rows that have one; duration percentiles over rows with a duration.
 * Means of no rows are null, never 0.
 *
 * Reads the base table (partition-pruned on created_at, indexed on task_type + model_name), so answers are exact
 * and current. Issue 4's daily materialized view is meant to take over the full days of long periods.
 */
export type ModelLeaderboardRow = {
  model_name: string;
  usage_count: number;
  avg_cost: number | null;
  avg_quality: number | null;
  conversion_rate: number | null;
  p50_duration_seconds: number | null;
  p95_duration_seconds: number | null;
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

export async function getModelLeaderboard(
  db: pg.Pool,
  q: { taskType: string; days: number; now: Date; orderBy: LeaderboardOrder },
): Promise<ModelLeaderboardRow[]> {
  const from = new Date(q.now.getTime() - q.days * 86_400_000);
  const { rows } = await db.query<ModelLeaderboardRow>(
    `SELECT model_name,
            count(*)::int AS usage_count,
            avg(cost)::float8 AS avg_cost,
            avg(quality_score)::float8 AS avg_quality,
            avg(conversion_metric)::float8 AS conversion_rate,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_seconds)::float8 AS p50_duration_seconds,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_seconds)::float8 AS p95_duration_seconds,
            sum(cost)::float8 AS total_cost
       FROM ai_gym_performance
      WHERE task_type = $1 AND created_at >= $2 AND created_at < $3 AND model_name IS NOT NULL
      GROUP BY model_name
      ORDER BY ${ORDER_SQL[q.orderBy]}, model_name`,
    [q.taskType, from.toISOString(), q.now.toISOString()],
  );
  return rows;
}
