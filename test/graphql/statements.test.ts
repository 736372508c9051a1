import pg from "pg";
import { describe, expect, it } from "vitest";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { migrate } from "../../src/db/migrate.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";

// Every statement the app sends goes through pg's Client#query (the pg pools and Prisma's pg adapter alike).
const issued: string[] = [];
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const text = typeof args[0] === "string" ? args[0] : (args[0] as { text?: string } | undefined)?.text;
  if (text) issued.push(text);
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;

const { url, pool } = await scratchDatabase();
await migrate(url, { logger });
await seedDemoData(pool, { leads: 150, seed: 3, spanDays: 60 });
await refreshViews(pool, "test");
// Caches off: this measures what the queries cost when they run.
const api = await startApi({ databaseUrl: url, analyticsCacheEntries: 0 });

const dashboard = (first: number) => `{
  overview(period: "30d", granularity: WEEK) { asOf outreach { funnel { sent } } outreachSeries { start kpis { funnel { sent } } } }
  campaigns(first: ${first}) { totalCount
    totals(period: "30d") { totals { funnel { sent } } }
    nodes { id name
      performance(period: "30d") { asOf totals { funnel { sent replied } rates { replyRate } revenue { amount } } series { start } }
      abTests { id status campaign { id name } results { asOf variants { variant replyRate significance { pValue } } } } } }
  modelLeaderboard(taskType: "website_analysis") { entries { modelName usageCount } } }`;

async function statementsFor(q: string): Promise<string[]> {
  issued.length = 0;
  const res = await api.graphql(q);
  expect(res.body.errors).toBeUndefined();
  return [...issued];
}

describe("a nested dashboard query costs a bounded number of statements (DataLoader + plugin-prisma)", () => {
  it("issues the same statements for 1 campaign as for all of them", async () => {
    const campaigns =
      (await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM campaigns")).rows[0]?.n ?? 0;
    const tests =
      (await pool.query<{ n: number }>("SELECT count(DISTINCT campaign_id)::int AS n FROM ab_tests")).rows[0]
        ?.n ?? 0;
    expect(campaigns).toBeGreaterThanOrEqual(4);
    expect(tests).toBeGreaterThanOrEqual(2);
    await statementsFor(dashboard(1)); // warm the API-key cache
    const one = await statementsFor(dashboard(1));
    const all = await statementsFor(dashboard(campaigns));
    expect(all.length).toBe(one.length);
    expect(all.length).toBeLessThanOrEqual(16);
  });
});

describe("the leaderboard computes only what is selected", () => {
  const board = (fields: string, extra = "") =>
    `{ modelLeaderboard(taskType: "website_analysis", period: "45d") { entries { ${fields} } } }${extra}`;
  // Only the percentiles read the duration histograms.
  const ranks = (statements: string[]) =>
    statements.filter((s) => s.includes("ai_gym_durations_daily")).length;

  it("ranks durations and costs only when a percentile is asked for (a computed period)", async () => {
    const plain = await statementsFor(board("modelName usageCount avgCostUsd avgQuality conversionRate"));
    expect(ranks(plain)).toBe(0);
    expect(ranks(await statementsFor(board("modelName p95DurationSeconds")))).toBe(1);
    // Through a fragment spread too.
    const viaFragment = await statementsFor(
      board("...P", " fragment P on ModelLeaderboardEntry { modelName p50CostUsd }"),
    );
    expect(ranks(viaFragment)).toBe(1);
  });

  it("gives the same answers either way", async () => {
    const fields = "modelName usageCount avgCostUsd avgQuality conversionRate totalCostUsd";
    const without = await api.graphql(board(fields));
    const withPercentiles = await api.graphql(board(`${fields} p50DurationSeconds p95CostUsd`));
    const entries = withPercentiles.body.data.modelLeaderboard.entries;
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.some((e: { p50DurationSeconds: number | null }) => e.p50DurationSeconds !== null)).toBe(
      true,
    );
    expect(without.body.data.modelLeaderboard.entries).toEqual(
      entries.map(({ p50DurationSeconds, p95CostUsd, ...rest }: Record<string, unknown>) => rest),
    );
  });
});
