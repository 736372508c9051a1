/**
 * The API under load, in a process of its own so that the load generator does not share its event loop.
 * Started by bench/run.ts with BENCH_DATABASE_URL; prints `{"port": N}` once listening; stops on SIGTERM.
 */

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { AnalyticsCache } from "../src/analytics/analytics-cache.js";
import { listenForRefreshes } from "../src/analytics/refresh-listener.js";
import { connectDatabases } from "../src/db/databases.js";
import { createApp } from "../src/http/app.js";
import { handleClientErrors } from "../src/http/client-errors.js";
import { startFoldLoop } from "../src/jobs/fold-loop.js";
import { createLogger } from "../src/logger.js";
import { DEFAULT_WRITE_GROUPS } from "../src/rest/write-groups.js";

const url = process.env.BENCH_DATABASE_URL;
if (!url) throw new Error("BENCH_DATABASE_URL is required");
// To stderr, which the bench shows (its stdout is read for the port only).
const logger = createLogger(
  (process.env.BENCH_LOG_LEVEL as "warn" | "error" | "fatal" | undefined) ?? "warn",
  "bench-server",
  pino.destination(2),
);
const db = connectDatabases(
  { primaryUrl: url, replicaUrl: undefined },
  {
    max: Number(process.env.BENCH_POOL_MAX ?? 10),
    connectTimeoutMs: 10_000,
    logger,
  },
);
const analyticsCache = new AnalyticsCache({
  maxEntries: Number(process.env.ANALYTICS_CACHE_ENTRIES ?? 1000),
  asOfTtlMs: Number(process.env.ANALYTICS_AS_OF_TTL_MS ?? 1000),
});
// As main.ts: a refresh or fold anywhere ends the asOf memo at once.
const listener = listenForRefreshes(url, () => analyticsCache.forgetAsOf(), logger);
const app = createApp({
  analyticsCache,
  db,
  logger,
  rateLimitPerMinute: 100_000_000,
  writeGroups: {
    maxRequests: Number(process.env.WRITE_GROUP_MAX_REQUESTS ?? DEFAULT_WRITE_GROUPS.maxRequests),
    maxInFlight: Number(process.env.WRITE_GROUP_MAX_IN_FLIGHT ?? DEFAULT_WRITE_GROUPS.maxInFlight),
  },
});
// The fold loop, as main.ts runs it, when asked for (the freshness bench): ROLLUP_FOLD_INTERVAL_MS > 0.
const foldIntervalMs = Number(process.env.ROLLUP_FOLD_INTERVAL_MS ?? 0);
const fold =
  foldIntervalMs > 0 ? startFoldLoop({ primaryUrl: url, intervalMs: foldIntervalMs, logger }) : undefined;
const server = await new Promise<Server>((resolve) => {
  const s = handleClientErrors(app.listen(0, "127.0.0.1", () => resolve(s)));
});
process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
process.on("SIGTERM", () => {
  server.close(
    () =>
      void (fold?.stop() ?? Promise.resolve())
        .then(() => listener.close())
        .then(() => db.close())
        .then(() => process.exit(0)),
  );
});
