import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { waitForReplica } from "../../src/db/replication.js";
import { expectDocumented, startApi } from "../support/api.js";

const api = await startApi();
const key = await api.keyWith("analytics:read");
const DAY = 86_400_000;

type Row = {
  model: string;
  at: Date;
  cost: number;
  quality: number | null;
  conversion: number | null;
  duration: number;
};

/** percentile_cont: linear interpolation between the two nearest ranks. */
function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return (sorted[lo] ?? 0) + ((sorted[hi] ?? 0) - (sorted[lo] ?? 0)) * (rank - lo);
}
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

describe("GET /api/v2/analytics/models", () => {
  it("answers the spec's sample shape with numbers equal to an independent computation over the rows", async () => {
    // The rows straddle whole UTC days and the period's partial first day, which is read from the base table.
    const NOW = new Date(Date.now() - 3_600_000);
    const taskType = `lb_${randomBytes(4).toString("hex")}`;
    const rows: Row[] = [];
    const models = ["model-a", "model-b", "model-c"];
    for (let i = 0; i < 60; i++) {
      rows.push({
        model: models[i % 3] ?? "model-a",
        // Spread over 10 days before NOW, plus a few outside the 7-day window on both sides.
        at: new Date(NOW.getTime() - (i % 12) * DAY + (i % 5) * 3_600_000 - (i === 7 ? -DAY : 0)),
        cost: Number((0.01 * (i + 1)).toFixed(4)),
        quality: i % 4 === 0 ? null : 60 + (i % 40),
        conversion: i % 3 === 1 ? null : (i % 7) / 10,
        duration: 5 + ((i * 7) % 50),
      });
    }
    await api.db.primary.query(
      `INSERT INTO ai_gym_performance (task_type, model_name, created_at, cost, quality_score, conversion_metric, duration_seconds)
       SELECT $1, m, at, c, q, cv, d
         FROM unnest($2::text[], $3::timestamp[], $4::numeric[], $5::int[], $6::numeric[], $7::int[]) AS u(m, at, c, q, cv, d)`,
      [
        taskType,
        rows.map((r) => r.model),
        rows.map((r) => r.at.toISOString()),
        rows.map((r) => r.cost),
        rows.map((r) => r.quality),
        rows.map((r) => r.conversion),
        rows.map((r) => r.duration),
      ],
    );
    const before = await api.request("GET", `/api/v2/analytics/models?task_type=${taskType}&period=7d`, {
      key,
    });
    const usage = (data: { usage_count: number }[]) => data.reduce((n, d) => n + d.usage_count, 0);
    // Before a refresh only the period's partial first day (read from the base table) has the rows.
    expect(usage(before.body.data)).toBeLessThan(rows.length / 2);

    const refresh = await api.request("POST", "/api/v2/analytics/refreshes");
    expect(refresh.status).toBe(200);
    expectDocumented(refresh, "POST", "/api/v2/analytics/refreshes");
    const refreshedAt = new Date(refresh.body.as_of);
    expect(refreshedAt.getTime()).toBeGreaterThan(new Date(before.body.meta.as_of).getTime());
    if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);

    const res = await api.request("GET", `/api/v2/analytics/models?task_type=${taskType}&period=7d`, { key });
    expect(res.status).toBe(200);
    expectDocumented(res, "GET", "/api/v2/analytics/models");
    // Other test files refresh this shared database too: the answer is as of this refresh or a later one.
    const asOf = new Date(res.body.meta.as_of);
    expect(asOf.getTime()).toBeGreaterThanOrEqual(refreshedAt.getTime());
    expect(res.body.meta).toMatchObject({
      as_of: asOf.toISOString(),
      task_type: taskType,
      period: { from: new Date(asOf.getTime() - 7 * DAY).toISOString(), to: asOf.toISOString(), days: 7 },
    });

    const inWindow = rows.filter((r) => r.at.getTime() >= asOf.getTime() - 7 * DAY && r.at < asOf);
    const expected = models
      .map((model) => {
        const mine = inWindow.filter((r) => r.model === model);
        return {
          model_name: model,
          usage_count: mine.length,
          avg_cost: mean(mine.map((r) => r.cost)),
          avg_quality: mean(mine.flatMap((r) => (r.quality === null ? [] : [r.quality]))),
          conversion_rate: mean(mine.flatMap((r) => (r.conversion === null ? [] : [r.conversion]))),
          p50_duration_seconds: percentile(
            mine.map((r) => r.duration),
            0.5,
          ),
          p95_duration_seconds: percentile(
            mine.map((r) => r.duration),
            0.95,
          ),
          p50_cost: percentile(
            mine.map((r) => r.cost),
            0.5,
          ),
          p95_cost: percentile(
            mine.map((r) => r.cost),
            0.95,
          ),
          total_cost: mine.reduce((a, r) => a + r.cost, 0),
        };
      })
      .filter((m) => m.usage_count > 0)
      .sort((a, b) => (b.avg_quality ?? -1) - (a.avg_quality ?? -1));

    expect(res.body.data.map((d: { model_name: string }) => d.model_name)).toEqual(
      expected.map((e) => e.model_name),
    );
    for (const [i, e] of expected.entries()) {
      const got = res.body.data[i];
      expect(got.usage_count).toBe(e.usage_count);
      for (const k of [
        "avg_cost",
        "avg_quality",
        "conversion_rate",
        "p50_duration_seconds",
        "p95_duration_seconds",
        "p50_cost",
        "p95_cost",
        "total_cost",
      ] as const) {
        const want = e[k];
        if (want === null) expect(got[k], `${e.model_name}.${k} (no rows have it)`).toBeNull();
        else expect(got[k], `${e.model_name}.${k}`).toBeCloseTo(want, 9);
      }
    }
  });

  it("answers an empty leaderboard for a task type with no rows, and refuses bad parameters with 422", async () => {
    const empty = await api.request("GET", "/api/v2/analytics/models?task_type=nothing_here_yet", { key });
    expect(empty.status).toBe(200);
    expect(empty.body.data).toEqual([]);
    for (const q of ["task_type=x&period=30", "period=30d", "task_type=x&order_by=price", "task_type=X Y"]) {
      const res = await api.request("GET", `/api/v2/analytics/models?${q}`, { key });
      expect(res.status, q).toBe(422);
    }
  });
});
