import type pg from "pg";
import { prepared } from "../db/prepared.js";
import type { AnalyticsCache } from "./analytics-cache.js";

/**
 * AI-GYM model leaderboard (spec §3.3 sample, README "KPI definitions") for one task type over the rolling period
 * `[asOf − N days, asOf)`: usage_count = rows; avg_cost = mean(cost); avg_quality = mean(quality_score) and
 * conversion_rate = mean(conversion_metric), each over the rows that have the value; duration and cost p50/p95 =
 * percentile_cont over the rows that have the value. Means of no rows are null, never 0.
 *
 * The whole UTC days in between come from the daily views (sums, counts and duration and cost histograms); the partial
 * first day and asOf's own day from the 15-minute sums (ai_gym_15m) and, for their partial buckets at the period's
 * two ends, and for the percentiles, from the base table (indexed on task_type, created_at), cut at the period's
 * ends. So every number equals the same aggregate over the base rows.
 *
 * The period ends at asOf, so the answer changes only when a refresh moves it: each refresh stores the leaderboards
 * of SNAPSHOT_PERIOD_DAYS for every task type (storeLeaderboardSnapshots, same SQL, the refresh's snapshot), and a
 * read of such a period is one primary-key range read of them. Other periods are computed on request.
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

/** The periods (days) whose leaderboards every refresh stores for every task type (migration 0014). */
export const SNAPSHOT_PERIOD_DAYS: readonly number[] = [1, 7, 30, 90];

/** The leaderboard's columns, in ModelLeaderboardRow's order: what the live query and the snapshots return. */
const COLUMNS = `model_name, usage_count, avg_cost, avg_quality, conversion_rate, conversion_samples, conversions,
  quality_samples, p50_duration_seconds, p95_duration_seconds, p50_cost, p95_cost, total_cost`;
/** The same columns of `model_leaderboard_snapshots s`. */
const STORED_COLUMNS = COLUMNS.replaceAll(/(\w+)/g, "s.$1");

/**
 * The leaderboard of one task type. A stored period is one indexed read of its snapshot; any other period is computed
 * from the daily views plus the partial days' rows. `percentiles: false` (a GraphQL query that selects no
 * percentile) skips ranking every duration and cost of the period: those four columns are then null.
 */
export function getModelLeaderboard(
  db: pg.Pool,
  q: { taskType: string; days: number; asOf: Date; orderBy: LeaderboardOrder; percentiles?: boolean },
  cache: AnalyticsCache,
): Promise<ModelLeaderboardRow[]> {
  const percentiles = q.percentiles ?? true;
  const key = `leaderboard|${q.taskType}|${q.days}|${q.orderBy}|${percentiles ? "p" : "-"}`;
  return cache.byAsOf(db, q.asOf, key, async () => {
    if (SNAPSHOT_PERIOD_DAYS.includes(q.days)) {
      const stored = await readSnapshot(db, q);
      if (stored) return stored;
    }
    const period = periodParams(q.days, q.asOf);
    const { rows } = await db.query<ModelLeaderboardRow>(
      prepared(
        `SELECT ${COLUMNS} FROM (${leaderboardSql("task_type = $5", { percentiles })}) AS l
        ORDER BY ${ORDER_SQL[q.orderBy]}, model_name`,
        [...period, q.taskType],
      ),
    );
    return rows;
  });
}

/**
 * The leaderboard the refresh that made `asOf` stored for this period, or undefined when it stored none (a period
 * it does not store, a refresh before migration 0014, or asOf two refreshes old).
 */
async function readSnapshot(
  db: pg.Pool,
  q: { taskType: string; days: number; asOf: Date; orderBy: LeaderboardOrder },
): Promise<ModelLeaderboardRow[] | undefined> {
  // One row with a null model_name: stored, with no model for this task type.
  const { rows } = await db.query<ModelLeaderboardRow & { model_name: string | null }>(
    prepared(
      `SELECT ${STORED_COLUMNS}
       FROM model_leaderboard_snapshot_periods p
       LEFT JOIN model_leaderboard_snapshots s ON s.as_of = p.as_of AND s.days = p.days AND s.task_type = $3
      WHERE p.as_of = $1 AND p.days = $2
      ORDER BY ${ORDER_SQL[q.orderBy]}, model_name`,
      [q.asOf.toISOString(), q.days, q.taskType],
    ),
  );
  if (rows.length === 0) return undefined;
  return rows.filter((r): r is ModelLeaderboardRow => r.model_name !== null);
}

/**
 * Stores, in the refresh's transaction and snapshot, the leaderboards of SNAPSHOT_PERIOD_DAYS ending at `asOf` for
 * every task type, and drops those of refreshes before the previous one (a reader that looked up the previous asOf
 * still finds its own). Returns the rows stored.
 */
export async function storeLeaderboardSnapshots(client: pg.ClientBase, asOf: Date): Promise<number> {
  await client.query(
    `DELETE FROM model_leaderboard_snapshot_periods
      WHERE as_of < (SELECT max(as_of) FROM model_leaderboard_snapshot_periods)`,
  );
  let stored = 0;
  for (const days of SNAPSHOT_PERIOD_DAYS) {
    await client.query(
      "INSERT INTO model_leaderboard_snapshot_periods (as_of, days) VALUES ($1, $2) ON CONFLICT DO NOTHING",
      [asOf.toISOString(), days],
    );
    const inserted = await client.query(
      `INSERT INTO model_leaderboard_snapshots (as_of, days, task_type, ${COLUMNS})
       SELECT $5, $6, task_type, ${COLUMNS} FROM (${leaderboardSql("TRUE")}) AS l
       ON CONFLICT DO NOTHING`,
      [...periodParams(days, asOf), asOf.toISOString(), days],
    );
    stored += inserted.rowCount ?? 0;
  }
  return stored;
}

/** $1..$4 of leaderboardSql: the first and last whole UTC day, the period's start and its end (asOf). */
function periodParams(days: number, asOf: Date): [string, string, string, string] {
  const period = leaderboardPeriod(days, asOf);
  // Whole UTC days [firstDay, lastDay) come from the views; [from, firstDay) and [lastDay, asOf) from the table.
  const firstDay = new Date(Math.ceil(period.from.getTime() / DAY_MS) * DAY_MS);
  const lastDay = new Date(Math.max(firstDay.getTime(), Math.floor(asOf.getTime() / DAY_MS) * DAY_MS));
  return [
    firstDay.toISOString().slice(0, 10),
    lastDay.toISOString().slice(0, 10),
    period.from.toISOString(),
    asOf.toISOString(),
  ];
}

/**
 * The first whole 15-minute bucket of the period and the start of its last, partial one: the first and last days'
 * buckets from the one to the other come from ai_gym_15m (the whole days between from ai_gym_daily), and only the
 * rows before the first and from the last from the base table.
 */
const FIRST_BUCKET =
  "date_bin('15 minutes', $3::timestamp + interval '15 minutes' - interval '1 microsecond', TIMESTAMP '2000-01-01')";
const LAST_BUCKET = "date_bin('15 minutes', $4::timestamp, TIMESTAMP '2000-01-01')";

/**
 * The leaderboard per task type × model of the task types `taskFilter` admits, over the period of periodParams:
 * sums and counts of its whole UTC days from ai_gym_daily, of the rest of its first and last days from ai_gym_15m,
 * of the rows in its partial first and last 15 minutes from ai_gym_performance.
 */
function leaderboardSql(
  taskFilter: string,
  options: { percentiles: boolean } = { percentiles: true },
): string {
  return `WITH sums AS (
        SELECT task_type, model_name, usage_count, cost_sum, cost_count, quality_sum, quality_count,
               conversion_sum, conversion_count
          FROM ai_gym_daily
         WHERE ${taskFilter} AND day >= $1::date AND day < $2::date
        UNION ALL
        SELECT task_type, model_name, usage_count, cost_sum, cost_count, quality_sum, quality_count,
               conversion_sum, conversion_count
          FROM ai_gym_15m
         WHERE ${taskFilter} AND ((bucket >= ${FIRST_BUCKET} AND bucket < $1::date)
                                  OR (bucket >= $2::date AND bucket < ${LAST_BUCKET}))
        UNION ALL
        SELECT task_type, model_name, 1, cost, (cost IS NOT NULL)::int, quality_score,
               (quality_score IS NOT NULL)::int, conversion_metric, (conversion_metric IS NOT NULL)::int
          FROM ai_gym_performance
         WHERE ${taskFilter} AND model_name IS NOT NULL
           AND ((created_at >= $3 AND created_at < ${FIRST_BUCKET}) OR (created_at >= ${LAST_BUCKET} AND created_at < $4))
     ), totals AS (
        SELECT task_type, model_name,
               sum(usage_count)::int AS usage_count,
               sum(cost_sum) AS cost_sum, sum(cost_count) AS cost_count,
               sum(quality_sum) AS quality_sum, sum(quality_count) AS quality_count,
               sum(conversion_sum) AS conversion_sum, sum(conversion_count) AS conversion_count
          FROM sums GROUP BY task_type, model_name
     ), percentiles AS (${options.percentiles ? percentilesSql(taskFilter) : NO_PERCENTILES})
     SELECT t.task_type,
            t.model_name,
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
       LEFT JOIN percentiles d ON d.task_type = t.task_type AND d.model_name = t.model_name AND d.metric = 'duration'
       LEFT JOIN percentiles c ON c.task_type = t.task_type AND c.model_name = t.model_name AND c.metric = 'cost'`;
}

/** The percentiles CTE when none is asked for: no rows, so the four columns are null and nothing is ranked. */
const NO_PERCENTILES = `SELECT NULL::text AS task_type, NULL::text AS model_name, NULL::text AS metric,
               NULL::float8 AS p50, NULL::float8 AS p95
         WHERE false`;

/**
 * percentile_cont(f) over a histogram (value v, count n, running count cum, total) of one group: the rows sorted by
 * v, the value at position f·(total − 1) interpolated between its two neighbours — what percentile_cont returns over
 * the rows themselves (the same float8 arithmetic), without making a row per count. The k-th row (from 0) holds the
 * smallest v whose running count exceeds k.
 */
function histogramPercentile(f: number): string {
  // float8 like percentile_cont's own position, so both floor to the same row.
  const pos = `(${f}::float8 * (total - 1)::float8)`;
  const at = (k: string) => `min(v) FILTER (WHERE cum > ${k})`;
  return `${at(`floor(${pos})`)} + (${pos} - floor(${pos})) * (${at(`ceil(${pos})`)} - ${at(`floor(${pos})`)})`;
}

/**
 * leaderboardSql's percentiles CTE body: exact duration and cost percentiles from the lossless daily histograms
 * (value, count) plus the partial days' rows, merged per value; the cost follows the distinct values of the period,
 * not its rows.
 */
function percentilesSql(taskFilter: string): string {
  return `
        SELECT task_type, model_name, metric,
               ${histogramPercentile(0.5)} AS p50,
               ${histogramPercentile(0.95)} AS p95
          FROM (SELECT task_type, model_name, metric, v,
                       sum(n) OVER (PARTITION BY task_type, model_name, metric ORDER BY v) AS cum,
                       sum(n) OVER (PARTITION BY task_type, model_name, metric) AS total
                  FROM (SELECT task_type, model_name, metric, v, sum(n) AS n
                          FROM (SELECT task_type, model_name, 'duration' AS metric, duration_seconds::float8 AS v, n
                                  FROM ai_gym_durations_daily
                                 WHERE ${taskFilter} AND day >= $1::date AND day < $2::date
                                UNION ALL
                                SELECT task_type, model_name, 'cost', cost::float8, n
                                  FROM ai_gym_costs_daily
                                 WHERE ${taskFilter} AND day >= $1::date AND day < $2::date
                                UNION ALL
                                SELECT task_type, model_name, m.metric, m.v, 1
                                  FROM ai_gym_performance
                                 CROSS JOIN LATERAL (VALUES ('duration', duration_seconds::float8), ('cost', cost::float8))
                                       AS m(metric, v)
                                 WHERE ${taskFilter} AND model_name IS NOT NULL AND m.v IS NOT NULL
                                   AND ((created_at >= $3 AND created_at < $1::date)
                                        OR (created_at >= $2::date AND created_at < $4))) AS d
                         GROUP BY task_type, model_name, metric, v) AS h) AS c
         -- total is one value per group (its window is the group).
         GROUP BY task_type, model_name, metric, total`;
}
