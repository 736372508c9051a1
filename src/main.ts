/**
 * npm start: the reachgraph server.
 * With no DATABASE_URL it first starts the embedded PostgreSQL primary + EMBEDDED_REPLICAS streaming replicas (default
 * 1) under ./.data; then it
 * applies migrations, keeps monthly partitions ahead, seeds demo data on the very first embedded start, and serves
 * HTTP. SIGINT/SIGTERM/SIGHUP stop the job scheduler, the HTTP server, the pools, the replicas and the primary, in that
 * order — once, however many copies of the signal arrive (see SIGNAL_BURST_MS).
 */
import type { Server } from "node:http";
import type { Runner } from "graphile-worker";
import { AnalyticsCache } from "./analytics/analytics-cache.js";
import { listenForRefreshes, type RefreshListener } from "./analytics/refresh-listener.js";
import { refreshViews } from "./analytics/refresh-views.js";
import { getSecrets } from "./compliance/secrets.js";
import { ConfigError, loadConfig } from "./config.js";
import { connectDatabases, type Databases } from "./db/databases.js";
import { type EmbeddedCluster, startEmbeddedCluster } from "./db/embedded/cluster.js";
import { killAllPgProcessesSync, stopAllPgProcesses } from "./db/embedded/pg-process.js";
import { migrate } from "./db/migrate.js";
import { ensurePartitions } from "./db/partitions.js";
import { waitForReplica } from "./db/replication.js";
import { anyApiKeyExists, createApiKey } from "./domain/api-keys.js";
import { createApp } from "./http/app.js";
import { handleClientErrors } from "./http/client-errors.js";
import { type FoldLoop, startFoldLoop } from "./jobs/fold-loop.js";
import { startScheduler } from "./jobs/scheduler.js";
import { createLogger, redactUrl } from "./logger.js";
import { FIRST_START_SEED } from "./seed/catalog.js";
import { seedDemoData } from "./seed/seed-demo-data.js";

/** The first-start demo dataset uses its own seed so `npm run db:seed` (seed 42) can add the larger one beside it. */
const SHUTDOWN_GRACE_MS = 25_000;
/**
 * Signals closer together than this are one stop request. Ctrl-C signals the terminal's whole process group, so node
 * gets SIGINT itself and may get it again relayed by npm, within milliseconds (the npm scripts run `node --import
 * tsx`, so no tsx parent relays it a third time); only a signal well after that is a second request ("stop now").
 */
const SIGNAL_BURST_MS = 1_500;

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
  // Keys are loaded (or, for the embedded default, generated) now, so a bad or missing key stops the start here
  // rather than failing the first write that encrypts a contact field.
  getSecrets();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const logger = createLogger(config.logLevel);

let cluster: EmbeddedCluster | undefined;
let db: Databases | undefined;
let server: Server | undefined;
let scheduler: Runner | undefined;
let refreshListener: RefreshListener | undefined;
let fold: FoldLoop | undefined;
/** Aborted by the first stop request; start-up checks it between its steps. */
const startup = new AbortController();
let starting: Promise<void> = Promise.resolve();
let stopRequestedAt: number | undefined;
let exitCode = 0;

/** The first request starts the one orderly shutdown; later ones only raise the exit code. */
function requestStop(reason: string, code: number): void {
  exitCode = Math.max(exitCode, code);
  if (stopRequestedAt !== undefined) return;
  stopRequestedAt = Date.now();
  void shutdown(reason);
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopRequestedAt !== undefined && Date.now() - stopRequestedAt >= SIGNAL_BURST_MS) {
    logger.warn({ signal }, "second stop request: stopping the database servers immediately and exiting");
    forceExit();
  }
  requestStop(signal, 0);
}

/** Exits now, but never leaves a PostgreSQL server behind: immediate shutdown (SIGQUIT), waited for briefly. */
function forceExit(): never {
  killAllPgProcessesSync("SIGQUIT");
  process.exit(1);
}

async function shutdown(reason: string): Promise<void> {
  logger.info({ reason }, "shutting down");
  const force = setTimeout(() => {
    logger.error("shutdown took too long: stopping the database servers immediately and exiting");
    forceExit();
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  // A stop during start-up lets start-up return at its next step, so that what it has started is stopped below.
  startup.abort();
  await starting.catch(() => {});
  await fold?.stop().catch((err) => logger.warn({ err }, "stopping the fold loop failed"));
  await scheduler?.stop().catch((err) => logger.warn({ err }, "stopping the job scheduler failed"));
  if (server) {
    const s = server;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeIdleConnections();
    });
  }
  await refreshListener?.close();
  await db?.close().catch((err) => logger.warn({ err }, "closing database pools failed"));
  await cluster?.stop().catch((err) => logger.warn({ err }, "stopping the embedded cluster failed"));
  // Servers of a start-up that failed half-way (the cluster start stops its own, this is the backstop).
  await stopAllPgProcesses().catch((err) => logger.warn({ err }, "stopping PostgreSQL failed"));
  logger.info({ exitCode }, "stopped");
  process.exit(exitCode);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, onSignal);
process.on("uncaughtException", (err) => {
  logger.fatal({ err }, "uncaught exception");
  requestStop("uncaught exception", 1);
});
process.on("unhandledRejection", (reason) => {
  logger.fatal({ err: reason }, "unhandled promise rejection");
  requestStop("unhandled promise rejection", 1);
});

/** Settles with `work`, or with undefined as soon as a stop is requested. */
function unlessStopped<T>(work: Promise<T>): Promise<T | undefined> {
  return Promise.race([
    work,
    new Promise<undefined>((resolve) =>
      startup.signal.addEventListener("abort", () => resolve(undefined), { once: true }),
    ),
  ]);
}

async function main(): Promise<void> {
  const started = performance.now();
  let urls: { primaryUrl: string; replicaUrls: readonly string[] };
  if (config.database.primaryUrl) {
    urls = { primaryUrl: config.database.primaryUrl, replicaUrls: config.database.replicaUrls };
    if (urls.replicaUrls.length === 0)
      logger.warn("DATABASE_REPLICA_URLS is not set: analytics reads go to the primary");
  } else {
    cluster = await startEmbeddedCluster({ ...config.embedded, logger, signal: startup.signal });
    urls = cluster;
    logger.info(
      {
        ms: Math.round(performance.now() - started),
        created: cluster.created,
        dataDir: cluster.dataDir,
        replicas: cluster.replicaUrls.length,
      },
      "embedded PostgreSQL primary and streaming replicas are up",
    );
  }
  if (startup.signal.aborted) return;

  await migrate(urls.primaryUrl, { logger });
  db = connectDatabases(urls, {
    max: config.database.poolMax,
    maxWaiting: config.database.poolMaxWaiting,
    connectTimeoutMs: config.database.connectTimeoutMs,
    logger,
    replicaMaxLagSeconds: config.replicaMaxLagSeconds,
  });
  const database = db;
  if (startup.signal.aborted) return;

  // Partitions must exist before the first write; afterwards the job scheduler keeps them ahead.
  const created = await ensurePartitions(database.primary, 1, config.partitions.monthsAhead);
  if (created > 0) logger.info({ created }, "monthly partitions created");
  scheduler = await startScheduler({
    url: urls.primaryUrl,
    primary: database.primary,
    logger,
    partitionMonthsAhead: config.partitions.monthsAhead,
    viewRefreshIntervalMinutes: config.viewRefreshIntervalMinutes,
    retention: config.retention,
  });
  if (startup.signal.aborted) return;
  let seeded = false;

  if (cluster && !cluster.demoSeeded) {
    const empty = (await database.primary.query("SELECT NOT EXISTS (SELECT 1 FROM leads) AS empty")).rows[0]
      ?.empty;
    if (config.seed.onFirstStart && empty) {
      logger.info({ leads: config.seed.demoLeads }, "first start: seeding a small demo dataset");
      const report = await seedDemoData(database.primary, {
        leads: config.seed.demoLeads,
        seed: FIRST_START_SEED,
      });
      logger.info({ rows: report.totalRows, seconds: Number(report.seconds.toFixed(2)) }, "demo data seeded");
      seeded = true;
    }
    await cluster.markDemoSeeded();
  }
  // The first embedded start creates an admin key and shows it once; later keys come from `npm run keys`.
  let bootstrapKey: string | undefined;
  if (cluster && !(await anyApiKeyExists(database.primary))) {
    bootstrapKey = (
      await createApiKey(
        database.primary,
        { name: "bootstrap admin", scopes: ["admin"] },
        { type: "system", id: "bootstrap" },
      )
    ).key;
  }
  // Fresh demo data is shown at once; otherwise the views are refreshed in the background now and on schedule.
  if (seeded) await refreshViews(database.primary, "startup");
  else await scheduler.addJob("refresh_views", {}, { jobKey: "refresh_views" });
  // The open window's changes are folded every ROLLUP_FOLD_INTERVAL_MS (one instance at a time: an advisory lock).
  if (config.rollupFoldIntervalMs > 0)
    fold = startFoldLoop({ primaryUrl: urls.primaryUrl, intervalMs: config.rollupFoldIntervalMs, logger });
  // One look at the A/B tests in the background now, so freshly seeded (or long-idle) tests do not wait for the
  // next quarter hour of the ab_evaluate cron.
  await scheduler.addJob("ab_evaluate", {}, { jobKey: "ab_evaluate" });
  for (const replica of database.replicas) {
    if (startup.signal.aborted) break;
    await unlessStopped(waitForReplica(database.primary, replica.pool, 30_000)).catch((err) =>
      logger.warn({ replica: replica.name, err: { message: (err as Error).message } }, "replica is behind"),
    );
  }
  if (startup.signal.aborted) return;

  // The read side's one cache; a refresh committed by any instance (or the scheduler here) ends its asOf memo.
  const analyticsCache = new AnalyticsCache({
    maxEntries: config.analyticsCacheEntries,
    asOfTtlMs: config.analyticsAsOfTtlMs,
  });
  refreshListener = listenForRefreshes(urls.primaryUrl, () => analyticsCache.forgetAsOf(), logger);
  const app = createApp({
    db: database,
    logger,
    rateLimitPerMinute: config.rateLimitPerMinute,
    graphql: config.graphql,
    analyticsCache,
    writeGroups: config.writeGroups,
  });
  server = await new Promise<Server>((resolve, reject) => {
    const s = handleClientErrors(app.listen(config.http.port, config.http.host, () => resolve(s)));
    s.once("error", reject);
  });
  const base = `http://${config.http.host === "0.0.0.0" ? "127.0.0.1" : config.http.host}:${config.http.port}`;
  logger.info(
    {
      url: base,
      primary: redactUrl(urls.primaryUrl),
      replicas: urls.replicaUrls.map(redactUrl),
      startupMs: Math.round(performance.now() - started),
    },
    "reachgraph is listening",
  );
  const banner = [
    `  reachgraph is up in ${Math.round(performance.now() - started)} ms`,
    `  health     ${base}/healthz`,
    `  readiness  ${base}/readyz`,
    `  REST docs  ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
    `  GraphQL    ${base}/graphql   (GraphiQL in a browser; needs an analytics:read key)`,
    `  primary    ${redactUrl(urls.primaryUrl)}`,
    ...(urls.replicaUrls.length > 0
      ? urls.replicaUrls.map((url, i) => `  replica-${i + 1}  ${redactUrl(url)}`)
      : ["  replica    (none: reads use the primary)"]),
    ...(cluster ? [`  data       ${cluster.dataDir}   (password in cluster.json there)`] : []),
    ...(bootstrapKey
      ? [
          "",
          "  Admin API key (shown once; only its hash is stored — more with `npm run keys -- create`):",
          `    ${bootstrapKey}`,
          "",
        ]
      : []),
    "  Ctrl-C stops everything.",
  ];
  process.stdout.write(`\n${banner.join("\n")}\n\n`);
}

starting = main();
starting.catch((err) => {
  // Start-up cut short by a stop request fails in whatever step it was in; that is not a start-up failure.
  if (startup.signal.aborted) return;
  if (err instanceof Error && (err as NodeJS.ErrnoException).code === "EADDRINUSE") {
    logger.fatal(`port ${config.http.port} is in use: set PORT to another port`);
  } else {
    logger.fatal({ err }, "start-up failed");
  }
  requestStop("start-up failed", 1);
});
