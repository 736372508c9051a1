/**
 * The read bench's baseline: a bare `node:http` server with a `pg` pool running the very same SQL as the API's
 * analytics (the functions of src/analytics are thin wrappers over one pg query each) and writing the JSON — no
 * express, no auth, no GraphQL. Started by bench/run.ts with BENCH_DATABASE_URL; prints `{"port": N}`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { AnalyticsCache } from "../src/analytics/analytics-cache.js";
import { getCampaignKpis } from "../src/analytics/get-campaign-kpis.js";
import { getModelLeaderboard } from "../src/analytics/get-model-leaderboard.js";
import { getOverview } from "../src/analytics/get-overview.js";
import { getViewsAsOf } from "../src/analytics/get-views-as-of.js";
import { resolveCalendarPeriod } from "../src/analytics/period.js";
import { createPool } from "../src/db/pool.js";
import { createLogger } from "../src/logger.js";

const url = process.env.BENCH_DATABASE_URL;
if (!url) throw new Error("BENCH_DATABASE_URL is required");
const logger = createLogger("warn", "bench-bare");
const pool = createPool(url, {
  name: "bench-bare",
  max: Number(process.env.BENCH_POOL_MAX ?? 10),
  connectTimeoutMs: 10_000,
  logger,
});

// The baseline runs the SQL on every request: no asOf cache.
const cache = AnalyticsCache.disabled();

const server = http.createServer((req, res) => {
  const answer = async () => {
    const asOf = await getViewsAsOf(pool);
    // /leaderboard: 30 days, a stored period; /leaderboard?days=45: a period computed from the rollups;
    // &percentiles=0: without the duration and cost percentiles (what a query that selects none needs).
    if (req.url?.startsWith("/leaderboard")) {
      const params = new URL(req.url, "http://bench").searchParams;
      return getModelLeaderboard(
        pool,
        {
          taskType: "website_analysis",
          days: Number(params.get("days") ?? 30),
          asOf,
          orderBy: "avg_quality",
          percentiles: params.get("percentiles") !== "0",
        },
        cache,
      );
    }
    // /campaign?id=: one campaign's KPIs over the last 30 days, per day (GraphQL Campaign.performance).
    if (req.url?.startsWith("/campaign")) {
      const id = new URL(req.url, "http://bench").searchParams.get("id") ?? "";
      const period = resolveCalendarPeriod({ days: 30, timezone: "UTC" }, asOf);
      const kpis = await getCampaignKpis(pool, {
        period,
        granularity: "day",
        byCampaign: true,
        campaignIds: [id],
      });
      return { asOf, period, kpis: kpis.get(id) };
    }
    return getOverview(pool, { days: 30, timezone: "UTC", granularity: "day" }, { cache, asOf });
  };
  answer().then(
    (body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    },
    (err: Error) => {
      res.writeHead(500);
      res.end(err.message);
    },
  );
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.on("SIGTERM", () => server.close(() => void pool.end().then(() => process.exit(0))));
