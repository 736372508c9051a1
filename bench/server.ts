/**
 * The API under load, in a process of its own so that the load generator does not share its event loop.
 * Started by bench/run.ts with BENCH_DATABASE_URL; prints `{"port": N}` once listening; stops on SIGTERM.
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AnalyticsCache } from "../src/analytics/analytics-cache.js";
import { connectDatabases } from "../src/db/databases.js";
import { createApp } from "../src/http/app.js";
import { handleClientErrors } from "../src/http/client-errors.js";
import { createLogger } from "../src/logger.js";

const url = process.env.BENCH_DATABASE_URL;
if (!url) throw new Error("BENCH_DATABASE_URL is required");
const logger = createLogger("warn", "bench-server");
const db = connectDatabases(
  { primaryUrl: url, replicaUrl: undefined },
  {
    max: Number(process.env.BENCH_POOL_MAX ?? 10),
    connectTimeoutMs: 10_000,
    logger,
  },
);
const app = createApp({
  analyticsCache: new AnalyticsCache({
    maxEntries: Number(process.env.ANALYTICS_CACHE_ENTRIES ?? 1000),
    asOfTtlMs: Number(process.env.ANALYTICS_AS_OF_TTL_MS ?? 1000),
  }),
  db,
  logger,
  rateLimitPerMinute: 100_000_000,
});
const server = await new Promise<Server>((resolve) => {
  const s = handleClientErrors(app.listen(0, "127.0.0.1", () => resolve(s)));
});
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
process.on("SIGTERM", () => {
  server.close(() => void db.close().then(() => process.exit(0)));
});
