/**
 * npm run bench [-- --duration SECONDS] [--connections N] [--read-connections N] [--email-sends N]
 *                  [--no-writes] [--no-reads] [--update-baselines] [--strict]
 *                  [--only TEXT]   (only the write and read rows whose name contains TEXT)
 *               npm run bench -- --crash [--iterations N]   (the crash loop alone, bench/crash-loop.ts; default 200)
 *               npm run bench -- --bulk-only [--bulk-rows N] [--bulk-leads N] [--bulk-rounds N]
 *                  (the bulk-ingest rows alone, bench/bulk.ts; --no-bulk skips them in a full run)
 *               npm run bench -- --freshness [--email-sends N] [--duration S] [--writes-per-second N]
 *                 (the freshness row alone, bench/freshness.ts, on a dataset of ≥ N email_sends)
 *
 * Writes: single-event and batch write throughput of the REST API next to a bare `pg` INSERT baseline measured in
 * the same run, on this machine. Reads: a dataset of ≥ --email-sends email_sends (default 1M) is seeded, the views
 * are refreshed (timed, at half and at full size), then the GraphQL leaderboard and overview (and their REST
 * twins) run next to a bare `node:http` + `pg` server executing the same SQL; last, freshness under a steady ingest
 * (default 500 writes/s): time from a write's 2xx to the first analytics answer that counts it, vs the 5 s target. The server, the load generator (autocannon) and PostgreSQL share the machine's cores, so the
 * numbers are a floor for a deployment where they do not. Results are compared with bench/baselines.json as shares of
 * their run's baseline row (so the machine's speed cancels out); with --strict a drop of more than 25 % exits
 * non-zero, and so does a missed target of issue 14: a single-event write below 75 % of the bare INSERT (target 4),
 * the uncached GraphQL reads' throughput, p99 and CPU per request (targets 1 and 2), bulk ingest and freshness.
 *
 * Database: BENCH_DATABASE_URL (a scratch database is created on that server and dropped afterwards), else an
 * embedded primary + replica under .bench-data/ that is removed afterwards.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { connectDatabases } from "../src/db/databases.js";
import { type EmbeddedCluster, startEmbeddedCluster } from "../src/db/embedded/cluster.js";
import { migrate } from "../src/db/migrate.js";
import { ensurePartitions } from "../src/db/partitions.js";
import { createPool } from "../src/db/pool.js";
import { createApiKey } from "../src/domain/api-keys.js";
import { createLogger } from "../src/logger.js";
import { freePort, withDatabase } from "../test/support/urls.js";
import { type BulkResult, bulkWorkloads, reportBulk } from "./bulk.js";
import { runCrashLoop } from "./crash-loop.js";
import { FRESHNESS_TARGET_MS, type FreshnessResult, freshnessBench } from "./freshness.js";
import { cpuSeconds, missedReadTargets, readWorkloads, seedForReads, startChild } from "./read.js";
import { workloads } from "./workloads.js";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    connections: { type: "string", default: "16" },
    "update-baselines": { type: "boolean", default: false },
    strict: { type: "boolean", default: false },
    "read-connections": { type: "string", default: "32" },
    "email-sends": { type: "string", default: "1000000" },
    "no-writes": { type: "boolean", default: false },
    "no-reads": { type: "boolean", default: false },
    crash: { type: "boolean", default: false },
    "bulk-only": { type: "boolean", default: false },
    "no-bulk": { type: "boolean", default: false },
    "bulk-rows": { type: "string", default: "200000" },
    "bulk-leads": { type: "string", default: "50000" },
    "bulk-rounds": { type: "string", default: "2" },
    freshness: { type: "boolean", default: false },
    "writes-per-second": { type: "string", default: "500" },
    iterations: { type: "string", default: "200" },
    only: { type: "string" },
  },
});
const readConnections = Number(values["read-connections"]);
const duration = Number(values.duration);
const connections = Number(values.connections);
const POOL_MAX = 10;
const BASELINES = new URL("./baselines.json", import.meta.url);

export type Result = {
  name: string;
  requestsPerSecond: number;
  rowsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** CPU time (user + system) the server process spent per request during the load, when it was measured. */
  serverCpuUsPerRequest?: number;
};

const logger = createLogger("warn", "bench");

async function database(): Promise<{ url: string; stop: () => Promise<void> }> {
  const name = `reachgraph_bench_${randomBytes(4).toString("hex")}`;
  let cluster: EmbeddedCluster | undefined;
  let server = process.env.BENCH_DATABASE_URL;
  if (!server) {
    cluster = await startEmbeddedCluster({
      dataDir: path.resolve(".bench-data", randomBytes(4).toString("hex")),
      primaryPort: await freePort(),
      replicaPort: await freePort(),
      logger,
    });
    server = cluster.primaryUrl;
  }
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(server, name);
  await migrate(url, { logger });
  return {
    url,
    stop: async () => {
      if (cluster) {
        await cluster.stop();
        await rm(cluster.dataDir, { recursive: true, force: true });
        return;
      }
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** `connections` closed loops of one INSERT each through a pool the size of the server's, for `duration` s. */
async function barePgBaseline(url: string): Promise<Result> {
  const pool = createPool(url, { name: "bench-baseline", max: POOL_MAX, connectTimeoutMs: 10_000, logger });
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + duration * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await pool.query(
            `INSERT INTO leads (company_name, website, domain, source_platform, consent_source, consent_timestamp)
             VALUES ($1, $2, $3, 'bench', 'public_business_listing', NOW())`,
            ["Bench Co", "https://bench.example", `${randomUUID()}.example`],
          );
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  await pool.end();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    name: "bare pg INSERT INTO leads (baseline)",
    requestsPerSecond: latencies.length / duration,
    rowsPerSecond: latencies.length / duration,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    errors,
  };
}

async function main(): Promise<void> {
  const db = await database();
  const databases = connectDatabases(
    { primaryUrl: db.url, replicaUrl: undefined },
    {
      max: POOL_MAX,
      connectTimeoutMs: 10_000,
      logger,
    },
  );
  await ensurePartitions(databases.primary, 1, 3);
  const env = { BENCH_DATABASE_URL: db.url, BENCH_POOL_MAX: String(POOL_MAX) };
  // BENCH_PROFILE=1: both API servers write V8 CPU profiles to .bench-data/prof (one file per process).
  const profile = process.env.BENCH_PROFILE ? ["--cpu-prof", "--cpu-prof-dir=.bench-data/prof"] : [];
  const server = await startChild("bench/server.ts", env, profile);
  const base = server.base;
  const key = (await createApiKey(databases.primary, { name: "bench", scopes: ["admin"] })).key;
  const results: Result[] = [];
  let reads: Result[] = [];
  let bulk: BulkResult[] = [];
  const bulkOptions = {
    rows: Number(values["bulk-rows"]),
    leads: Number(values["bulk-leads"]),
    rounds: Number(values["bulk-rounds"]),
  };
  const bulkOnly = values["bulk-only"];
  let fresh: FreshnessResult | undefined;
  const freshnessOnly = values.freshness;
  let refreshes: Awaited<ReturnType<typeof seedForReads>>["refreshes"] = [];
  try {
    if (!values["no-bulk"] && !freshnessOnly) {
      bulk = await bulkWorkloads({ base, key, db: databases.primary, ...bulkOptions });
    }
    const writes = !values["no-writes"] && !bulkOnly && !freshnessOnly;
    if (writes) results.push(await barePgBaseline(db.url));
    const only = values.only?.toLowerCase();
    for (const w of writes ? workloads.filter((w) => !only || w.name.toLowerCase().includes(only)) : []) {
      const prepared = await w.prepare({ base, key, db: databases.primary });
      const cpuBefore = cpuSeconds(server.pid);
      const r = await autocannon({
        url: base,
        connections,
        duration,
        requests: [
          w.method === "GET"
            ? { method: "GET", path: typeof prepared.path === "string" ? prepared.path : w.path }
            : {
                method: "POST",
                path: typeof prepared.path === "string" ? prepared.path : w.path,
                headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
                setupRequest: (req) => ({
                  ...req,
                  ...(typeof prepared.path === "function" ? { path: prepared.path() } : {}),
                  body: JSON.stringify(prepared.body()),
                }),
              },
        ],
      });
      const cpuAfter = cpuSeconds(server.pid);
      results.push({
        name: w.name,
        requestsPerSecond: r.requests.average,
        rowsPerSecond: r.requests.average * w.rowsPerRequest,
        p50Ms: r.latency.p50,
        p99Ms: r.latency.p99,
        errors: r.errors + r.non2xx,
        ...(cpuBefore !== undefined && cpuAfter !== undefined && r.requests.total > 0
          ? { serverCpuUsPerRequest: ((cpuAfter - cpuBefore) * 1e6) / r.requests.total }
          : {}),
      });
    }
    if (!values["no-reads"] && !bulkOnly) {
      console.log(
        `seeding ≥ ${Number(values["email-sends"]).toLocaleString()} email_sends for the read bench…`,
      );
      refreshes = (await seedForReads(databases.primary, Number(values["email-sends"]))).refreshes;
    }
    if (!values["no-reads"] && !bulkOnly && !freshnessOnly) {
      const bare = await startChild("bench/bare-read-server.ts", env);
      const noCache = await startChild("bench/server.ts", { ...env, ANALYTICS_CACHE_ENTRIES: "0" }, profile);
      try {
        reads = await readWorkloads({
          apiBase: base,
          apiNoCacheBase: noCache.base,
          bareBase: bare.base,
          pids: { api: server.pid, apiNoCache: noCache.pid, bare: bare.pid },
          key,
          connections: readConnections,
          duration,
          db: databases.primary,
          only: values.only,
        });
      } finally {
        await bare.stop();
        await noCache.stop();
      }
    }
    if (!values["no-reads"] && !bulkOnly) {
      // The app as main.ts runs it: folding the open window every ROLLUP_FOLD_INTERVAL_MS (default 1 s).
      const folding = await startChild("bench/server.ts", {
        ...env,
        ROLLUP_FOLD_INTERVAL_MS: process.env.ROLLUP_FOLD_INTERVAL_MS ?? "1000",
        // Overload shows as 503s in the table's errors; one log line each would drown the report.
        BENCH_LOG_LEVEL: "fatal",
      });
      try {
        fresh = await freshnessBench({
          base: folding.base,
          key,
          db: databases.primary,
          durationS: Math.max(duration, 20),
          writesPerSecond: Number(values["writes-per-second"]),
        });
      } finally {
        await folding.stop();
      }
    }
  } finally {
    await server.stop();
    await databases.close();
    await db.stop();
  }
  if (bulk.length && reportBulk(bulk, bulkOptions).length && values.strict) process.exitCode = 1;
  if (results.length) {
    report(
      results,
      `writes: ${connections} connections × ${duration} s, pool ${POOL_MAX}, group commit of concurrent requests`,
    );
    if (missedWriteTargets(results).length && values.strict) process.exitCode = 1;
  }
  if (reads.length) {
    report(
      reads,
      `reads: ${readConnections} connections × ${duration} s, pool ${POOL_MAX}, no replica (both sides read the primary)`,
    );
    if (missedReadTargets(reads).length && values.strict) process.exitCode = 1;
    console.log("\nrollup refresh (closed days recounted + open window changes folded, one transaction):");
    for (const { emailSends, kind, refresh } of refreshes)
      console.log(
        `  ${kind.padEnd(8)} at ${emailSends.toLocaleString().padStart(10)} email_sends: ${String(refresh.duration_ms).padStart(6)} ms, ` +
          refresh.views
            .map(
              (v) =>
                `${v.view_name} ${v.duration_ms} ms (${v.row_count.toLocaleString()} rows, ` +
                `${v.closed_ranges.length} closed range(s))`,
            )
            .join(", ") +
          `, leaderboard snapshots ${refresh.leaderboard_snapshots.duration_ms} ms ` +
          `(${refresh.leaderboard_snapshots.row_count.toLocaleString()} rows)`,
      );
  }
  if (fresh) {
    console.log(
      `\nreachgraph bench — freshness: ${fresh.ingestPerSecond.toFixed(0)} writes/s acknowledged (leads, AI-GYM ` +
        `records, open pixels; open loop), fold every ${process.env.ROLLUP_FOLD_INTERVAL_MS ?? "1000"} ms, ` +
        `${fresh.probes} probes (an email queued, 202 → first GraphQL campaign performance counting it)\n`,
    );
    console.log(
      `${"workload".padEnd(70)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)} ${"errors".padStart(7)} ${"target".padStart(8)}`,
    );
    const met = fresh.p99Ms <= FRESHNESS_TARGET_MS;
    console.log(
      `${fresh.name.padEnd(70)} ${fresh.p50Ms.toFixed(0).padStart(8)} ${fresh.p99Ms.toFixed(0).padStart(8)} ${fresh.maxMs.toFixed(0).padStart(8)} ${String(fresh.errors).padStart(7)} ${(met ? "met" : "MISSED").padStart(8)}`,
    );
    if (!met) {
      console.log(
        `\nFRESHNESS: p99 ${fresh.p99Ms.toFixed(0)} ms is over the ${FRESHNESS_TARGET_MS} ms target.`,
      );
      if (values.strict) process.exitCode = 1;
    }
  }
  const bulkRows: Result[] = bulk.map((b) => ({
    name: b.name,
    requestsPerSecond: b.rowsPerSecond,
    rowsPerSecond: b.rowsPerSecond,
    p50Ms: 0,
    p99Ms: 0,
    errors: 0,
  }));
  saveBaselines([...results, ...reads, ...bulkRows, ...(fresh ? [fresh] : [])]);
}

let regressed = false;
let savedBaselines: Record<string, Result> | undefined;

function report(results: Result[], title: string): void {
  if (!savedBaselines) {
    try {
      savedBaselines = JSON.parse(readFileSync(BASELINES, "utf8")) as Record<string, Result>;
    } catch {
      savedBaselines = {}; // no baselines yet
    }
  }
  const baselines = savedBaselines;
  const baseline = results[0]?.requestsPerSecond ?? 0;
  const savedBaseline = results[0] ? baselines[results[0].name]?.requestsPerSecond : undefined;
  console.log(`\nreachgraph bench — ${title}\n`);
  console.log(
    `${"workload".padEnd(46)} ${"req/s".padStart(8)} ${"rows/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"errors".padStart(7)} ${"cpu µs".padStart(7)} ${"vs base".padStart(7)} ${"vs saved".padStart(9)}`,
  );
  for (const r of results) {
    const saved = baselines[r.name];
    // The share of the same run's baseline, next to the saved run's share: the machine's speed cancels out.
    const change =
      saved && savedBaseline && baseline
        ? (r.requestsPerSecond / baseline / (saved.requestsPerSecond / savedBaseline) - 1) * 100
        : undefined;
    if (change !== undefined && change < -25) regressed = true;
    console.log(
      `${r.name.padEnd(46)} ${r.requestsPerSecond.toFixed(0).padStart(8)} ${r.rowsPerSecond.toFixed(0).padStart(8)} ${r.p50Ms.toFixed(1).padStart(8)} ${r.p99Ms.toFixed(1).padStart(8)} ${String(r.errors).padStart(7)} ${(r.serverCpuUsPerRequest === undefined ? "-" : r.serverCpuUsPerRequest.toFixed(0)).padStart(7)} ${`${((r.requestsPerSecond / baseline) * 100).toFixed(0)}%`.padStart(7)} ${(change === undefined ? "new" : `${change >= 0 ? "+" : ""}${change.toFixed(0)}%`).padStart(9)}`,
    );
  }
}

/** Issue 14 target 4: acknowledged single-event writes at ≥ 75 % of the same run's bare INSERT. Prints the misses. */
function missedWriteTargets(results: Result[]): string[] {
  const baseline = results[0]?.requestsPerSecond ?? 0;
  const missed = workloads
    .filter((w) => w.target !== undefined)
    .flatMap((w) => {
      const r = results.find((x) => x.name === w.name);
      const share = r && baseline ? r.requestsPerSecond / baseline : undefined;
      return share !== undefined && share < (w.target ?? 0)
        ? [
            `${w.name}: ${(share * 100).toFixed(0)} % of the bare INSERT, target ${((w.target ?? 0) * 100).toFixed(0)} %`,
          ]
        : [];
    });
  if (missed.length)
    console.log(
      `\nWRITE TARGET missed (single-event writes ≥ 75 % of bare pg INSERT):\n  ${missed.join("\n  ")}`,
    );
  else console.log("\nwrite target met: every single-event write ≥ 75 % of the bare pg INSERT");
  return missed;
}

function saveBaselines(results: Result[]): void {
  if (values["update-baselines"]) {
    writeFileSync(
      BASELINES,
      `${JSON.stringify({ ...savedBaselines, ...Object.fromEntries(results.map((r) => [r.name, r])) }, null, 2)}\n`,
    );
    console.log("\nbaselines updated: bench/baselines.json");
  }
  if (regressed) {
    console.log("\nREGRESSION: a workload is more than 25 % slower than its saved baseline.");
    if (values.strict) process.exitCode = 1;
  }
}

/**
 * The crash loop (bench/crash-loop.ts) at length: how many writes were acknowledged, lost (must be 0) and
 * duplicated (must be 0), how long a restart takes and how long an unknown outcome takes to resolve.
 */
async function crash(): Promise<void> {
  const dataDir = path.resolve(".bench-data", `crash-${randomBytes(4).toString("hex")}`);
  const iterations = Number(values.iterations);
  const started = performance.now();
  try {
    const r = await runCrashLoop({ iterations, dataDir, log: (line) => console.log(`  ${line}`) });
    const rows: [string, string | number][] = [
      ["iterations", r.iterations],
      ["of which PostgreSQL immediate stops", r.postgresImmediateStops],
      ["requests", r.requests],
      ["acknowledged writes", r.acknowledged],
      ["lost (must be 0)", r.lost],
      ["duplicated (must be 0)", r.duplicated],
      ["without audit row / event", `${r.missingAudit} / ${r.missingEvent}`],
      ["unknown outcomes replayed", r.unknownOutcomes],
      ["  of which had committed (replayed from the store)", r.replayedFromStore],
      ["replays answered 409 (key still held)", r.blockedReplays],
      ["restart ms p50 / max", `${r.restartMs.p50} / ${r.restartMs.max}`],
      ["unknown outcome resolved ms p50 / max", `${r.resolveMs.p50} / ${r.resolveMs.max}`],
      ["leaderboard usage = AI-GYM rows", `${r.leaderboardUsage} = ${r.aiGymRows}`],
      ["wall time s", Math.round((performance.now() - started) / 1000)],
    ];
    console.log("\ncrash loop");
    for (const [name, value] of rows) console.log(`  ${name.padEnd(52)} ${value}`);
    if (r.lost || r.duplicated || r.missingAudit || r.missingEvent || r.leaderboardUsage !== r.aiGymRows) {
      process.exitCode = 1;
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (values.crash) await crash();
else await main();
