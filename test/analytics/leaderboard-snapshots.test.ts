import { describe, expect, it } from "vitest";
import { AnalyticsCache } from "../../src/analytics/analytics-cache.js";
import {
  getModelLeaderboard,
  type ModelLeaderboardRow,
  SNAPSHOT_PERIOD_DAYS,
} from "../../src/analytics/get-model-leaderboard.js";
import { getViewsAsOf } from "../../src/analytics/get-views-as-of.js";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { migrate } from "../../src/db/migrate.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { logger, scratchDatabase } from "../support/db.js";
import { oracleLeaderboard } from "../support/kpi-oracle.js";

// A database of its own (the tests rewrite stored leaderboards), and no answer cache: every call reads the database.
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });
await seedDemoData(pool, { leads: 120, seed: 5, spanDays: 120 });
const noCache = AnalyticsCache.disabled();

const taskTypes = async () =>
  (
    await pool.query<{ task_type: string }>(
      "SELECT DISTINCT task_type FROM ai_gym_performance WHERE model_name IS NOT NULL ORDER BY 1",
    )
  ).rows.map((r) => r.task_type);

/** The leaderboard's numbers next to the base-table oracle's, model by model. */
async function expectEqualsOracle(
  rows: ModelLeaderboardRow[],
  taskType: string,
  days: number,
  asOf: Date,
): Promise<number> {
  const want = await oracleLeaderboard(pool, taskType, days, asOf);
  const got = [...rows].sort((a, b) => a.model_name.localeCompare(b.model_name));
  expect(got.map((r) => r.model_name)).toEqual(want.map((w) => w.model_name));
  want.forEach((w, i) => {
    const g = got[i] as ModelLeaderboardRow;
    for (const [k, v] of Object.entries(w)) {
      const value = g[k as keyof ModelLeaderboardRow];
      if (v === null || typeof v === "string")
        expect(value, `${taskType} ${days}d ${w.model_name} ${k}`).toBe(v);
      else expect(value, `${taskType} ${days}d ${w.model_name} ${k}`).toBeCloseTo(v as number, 9);
    }
  });
  return want.length;
}

describe("stored model leaderboards", () => {
  it("a refresh stores every task type's leaderboard for each stored period, equal to the base tables", async () => {
    const refresh = await refreshViews(pool, "test");
    expect(refresh.leaderboard_snapshots.period_days).toEqual([...SNAPSHOT_PERIOD_DAYS]);
    expect(refresh.leaderboard_snapshots.row_count).toBeGreaterThan(0);
    const { rows: periods } = await pool.query<{ days: number }>(
      "SELECT days FROM model_leaderboard_snapshot_periods WHERE as_of = $1 ORDER BY days",
      [refresh.as_of.toISOString()],
    );
    expect(periods.map((p) => p.days)).toEqual([...SNAPSHOT_PERIOD_DAYS]);
    const types = await taskTypes();
    expect(types.length).toBeGreaterThan(1);
    let compared = 0;
    for (const taskType of types)
      for (const days of [7, 30, 90]) {
        const { rows } = await pool.query<ModelLeaderboardRow>(
          `SELECT * FROM model_leaderboard_snapshots WHERE as_of = $1 AND days = $2 AND task_type = $3`,
          [refresh.as_of.toISOString(), days, taskType],
        );
        compared += await expectEqualsOracle(rows, taskType, days, refresh.as_of);
      }
    expect(compared, "models compared").toBeGreaterThan(10);
  });

  it("a read of a stored period is the stored leaderboard, in the order asked for", async () => {
    const asOf = await getViewsAsOf(pool);
    await pool.query(
      `UPDATE model_leaderboard_snapshots SET usage_count = 1000000 + usage_count
        WHERE as_of = $1 AND days = 30 AND task_type = 'website_analysis'`,
      [asOf.toISOString()],
    );
    const q = { taskType: "website_analysis", days: 30, asOf };
    const byUsage = await getModelLeaderboard(pool, { ...q, orderBy: "usage_count" }, noCache);
    expect(byUsage.length).toBeGreaterThan(0);
    for (const r of byUsage) expect(r.usage_count).toBeGreaterThan(1_000_000);
    const counts = byUsage.map((r) => r.usage_count);
    expect(counts).toEqual([...counts].sort((a, b) => b - a));
    const byCost = await getModelLeaderboard(pool, { ...q, orderBy: "avg_cost" }, noCache);
    const costs = byCost.map((r) => r.avg_cost ?? Number.POSITIVE_INFINITY);
    expect(costs).toEqual([...costs].sort((a, b) => a - b));
    // A task type with no rows was stored too: an empty leaderboard, not a computed one.
    expect(
      await getModelLeaderboard(pool, { ...q, taskType: "no_such_task", orderBy: "avg_quality" }, noCache),
    ).toEqual([]);
  });

  it("a period that is not stored, or an asOf whose leaderboards are gone, is computed from the views", async () => {
    const first = await getViewsAsOf(pool);
    const [taskType] = await taskTypes();
    if (!taskType) throw new Error("seed: no AI-GYM rows");
    // 45 days is not stored: computed, and equal to the base tables.
    expect(SNAPSHOT_PERIOD_DAYS).not.toContain(45);
    const models = await expectEqualsOracle(
      await getModelLeaderboard(pool, { taskType, days: 45, asOf: first, orderBy: "avg_quality" }, noCache),
      taskType,
      45,
      first,
    );
    expect(models).toBeGreaterThan(0);
    // Each refresh keeps its own and the previous refresh's leaderboards.
    await refreshViews(pool, "test");
    await refreshViews(pool, "test");
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(DISTINCT as_of)::int AS n FROM model_leaderboard_snapshot_periods",
    );
    expect(rows[0]?.n).toBe(2);
    const { rows: gone } = await pool.query(
      "SELECT 1 FROM model_leaderboard_snapshot_periods WHERE as_of = $1",
      [first.toISOString()],
    );
    expect(gone).toEqual([]);
    await expectEqualsOracle(
      await getModelLeaderboard(pool, { taskType, days: 30, asOf: first, orderBy: "avg_quality" }, noCache),
      taskType,
      30,
      first,
    );
  });

  it("a computed period counts the rows of its first and last days: whole 15-minute buckets and the partial ends", async () => {
    const [taskType] = await taskTypes();
    if (!taskType) throw new Error("seed: no AI-GYM rows");
    // Rows all through today up to a few seconds ago (the seed ends where today starts), and around the start of
    // a 45- and a 2-day period: whole buckets (ai_gym_15m) and the partial buckets at the ends (the base table).
    await pool.query(
      `INSERT INTO ai_gym_performance (task_type, model_name, cost, duration_seconds, quality_score, conversion_metric,
                                       created_at)
       SELECT $1, 'edge-model-' || (i % 3), (i % 7) * 0.0125, 1 + i % 40, i % 101, (i % 2)::numeric,
              now() - make_interval(secs => o + i * 37)
         FROM generate_series(0, 400) AS i, (VALUES (2), (45 * 86400 - 600), (2 * 86400 - 600)) AS b(o)
        WHERE o + i * 37 < CASE WHEN o = 2 THEN 86400 ELSE o + 1200 END`,
      [taskType],
    );
    const asOf = (await refreshViews(pool, "test")).as_of;
    for (const days of [45, 2])
      for (const percentiles of [true, false]) {
        const rows = await getModelLeaderboard(
          pool,
          { taskType, days, asOf, orderBy: "usage_count", percentiles },
          noCache,
        );
        expect(rows.map((r) => r.model_name)).toEqual(
          expect.arrayContaining(["edge-model-0", "edge-model-2"]),
        );
        if (percentiles) await expectEqualsOracle(rows, taskType, days, asOf);
        else {
          const want = await oracleLeaderboard(pool, taskType, days, asOf);
          expect(rows.map((r) => [r.model_name, r.usage_count, r.total_cost]).sort()).toEqual(
            want.map((w) => [w.model_name, w.usage_count, w.total_cost]).sort(),
          );
        }
      }
  });
});
