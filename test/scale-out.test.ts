/**
 * Scale-out on PostgreSQL's own replication (issue 14 target 5): one embedded primary with EMBEDDED_REPLICAS=2
 * streaming replicas of this file's own.
 * - The read router, in-process: reads alternate between the healthy replicas; a replica past the lag limit is left
 *   out on its own (the other keeps serving, the primary is not needed).
 * - 2 × 2: two app processes (`node --import tsx src/main.ts`, as `npm start` runs it) with DATABASE_URL and
 *   DATABASE_REPLICA_URLS, under GraphQL read load on both; one replica is stopped mid-load. No request fails
 *   (a request caught on the stopping replica is retried once elsewhere and says so in `retriedFrom`), and /readyz
 *   and `extensions.readSource` on both instances name the stopped replica unusable and the other one serving.
 *
 * It needs no shared database, so it runs on the embedded leg only: on the TEST_DATABASE_URL leg it would start the
 * very same embedded cluster again and prove nothing more (the system server has no replicas of its own here).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { refreshViews } from "../src/analytics/refresh-views.js";
import { connectDatabases, type Databases } from "../src/db/databases.js";
import { type EmbeddedCluster, startEmbeddedCluster } from "../src/db/embedded/cluster.js";
import { migrate } from "../src/db/migrate.js";
import type { ReadSource } from "../src/db/read-router.js";
import { waitForReplica } from "../src/db/replication.js";
import { createApiKey } from "../src/domain/api-keys.js";
import { seedDemoData } from "../src/seed/seed-demo-data.js";
import { postgresOf } from "./embedded/npm-start.js";
import { logger } from "./support/db.js";
import { freePort } from "./support/urls.js";

const external = inject("target").includes("external");
if (external)
  console.log("[scale-out] skipped on the external leg: it runs its own embedded cluster (see header)");

const repoRoot = path.resolve(import.meta.dirname, "..");
const DASHBOARD = `{ overview(period: "30d") { asOf outreach { funnel { sent delivered replied } } }
  modelLeaderboard(taskType: "website_analysis") { asOf entries { modelName usageCount } } }`;

let cluster: EmbeddedCluster | undefined;
let db: Databases | undefined;
const apps: ChildProcess[] = [];

/** SIGTERM to each app's process group, waiting until they have exited. */
async function stopApps(): Promise<void> {
  for (const app of apps) {
    if (app.pid && app.exitCode === null) process.kill(-app.pid, "SIGTERM");
  }
  await Promise.all(
    apps.map((app) =>
      app.exitCode === null ? new Promise((resolve) => app.once("exit", resolve)) : Promise.resolve(),
    ),
  );
}

afterAll(async () => {
  await stopApps();
  await db?.close();
  if (cluster) {
    await cluster.stop();
    expect(postgresOf(cluster.dataDir)).toEqual([]);
    await rm(cluster.dataDir, { recursive: true, force: true });
  }
});

describe.skipIf(external)("scale-out: 1 primary, 2 streaming replicas", () => {
  beforeAll(async () => {
    cluster = await startEmbeddedCluster({
      dataDir: path.join(repoRoot, ".test-data", `scale-out-${randomBytes(4).toString("hex")}`),
      primaryPort: await freePort(),
      replicaPort: await freePort(),
      replicas: 2,
      logger,
    });
    expect(cluster.replicaUrls).toHaveLength(2);
    await migrate(cluster.primaryUrl, { logger });
    db = connectDatabases(
      { primaryUrl: cluster.primaryUrl, replicaUrls: cluster.replicaUrls },
      { max: 4, connectTimeoutMs: 5_000, logger, replicaMaxLagSeconds: 1 },
    );
    await seedDemoData(db.primary, { leads: 80, seed: 14, spanDays: 40 });
    await refreshViews(db.primary, "test");
    for (const r of db.replicas) await waitForReplica(db.primary, r.pool);
  });

  it("streams to both replicas, each from a slot of its own", async () => {
    const d = required(db);
    const slots = await d.primary.query<{ slot_name: string; active: boolean }>(
      "SELECT slot_name, active FROM pg_replication_slots ORDER BY slot_name",
    );
    expect(slots.rows).toEqual([
      { slot_name: "reachgraph_replica", active: true },
      { slot_name: "reachgraph_replica_2", active: true },
    ]);
    for (const r of d.replicas) {
      const { rows } = await r.pool.query<{ standby: boolean }>("SELECT pg_is_in_recovery() AS standby");
      expect(rows).toEqual([{ standby: true }]);
    }
  });

  it("balances reads round-robin over the healthy replicas", async () => {
    const router = required(db).readRouter;
    await commitAndReplicate();
    router.recheck();
    const served = [];
    for (let i = 0; i < 4; i++) served.push(nameOf((await router.target()).source));
    expect(served.sort()).toEqual(["replica-1", "replica-1", "replica-2", "replica-2"]);
  });

  it("leaves out a replica past the lag limit on its own; the other keeps serving", async () => {
    const d = required(db);
    const lagging = required(d.replicas[1]);
    await lagging.pool.query("SELECT pg_wal_replay_pause()");
    try {
      await d.primary.query("INSERT INTO campaigns (name) VALUES ('scale-out lag probe')");
      await new Promise((r) => setTimeout(r, 1_300));
      d.readRouter.recheck();
      const served = new Set<string>();
      for (let i = 0; i < 4; i++) served.add(nameOf((await d.readRouter.target()).source));
      expect([...served]).toEqual(["replica-1"]);
      const { replicas } = await d.readRouter.status();
      expect(replicas.map(({ status: _, ...verdict }) => verdict)).toMatchObject([
        { replica: "replica-1", usable: true },
        { replica: "replica-2", usable: false, reason: "replica-lagging" },
      ]);
    } finally {
      await lagging.pool.query("SELECT pg_wal_replay_resume()");
    }
    await commitAndReplicate();
    d.readRouter.recheck();
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add(nameOf((await d.readRouter.target()).source));
    expect([...served].sort()).toEqual(["replica-1", "replica-2"]);
  });

  it("2 app instances under read load: a replica stopped mid-load fails no request, and both say so", {
    timeout: 90_000,
  }, async () => {
    const c = required(cluster);
    const d = required(db);
    const key = (await createApiKey(d.primary, { name: "scale-out load", scopes: ["analytics:read"] })).key;
    const bases = await Promise.all([startApp(c), startApp(c)]);

    type Sample = { base: string; startedAt: number; status: number; errors: unknown; source: ReadSource };
    const samples: Sample[] = [];
    let loading = true;
    const worker = async (base: string) => {
      while (loading) {
        const startedAt = performance.now();
        const res = await fetch(`${base}/graphql`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body: JSON.stringify({ query: DASHBOARD }),
        });
        const body = (await res.json()) as { errors?: unknown; extensions: { readSource: ReadSource } };
        samples.push({
          base,
          startedAt,
          status: res.status,
          errors: body.errors,
          source: body.extensions.readSource,
        });
      }
    };
    // REST analytics read through the same router (and the same one retry, src/rest/mount.ts).
    const rest: { status: number; readSource: string | null }[] = [];
    const restWorker = async (base: string) => {
      while (loading) {
        const res = await fetch(`${base}/api/v2/analytics/overview?period=7d`, {
          headers: { authorization: `Bearer ${key}` },
        });
        await res.arrayBuffer();
        rest.push({ status: res.status, readSource: res.headers.get("x-read-source") });
      }
    };
    const workers = bases.flatMap((base) => [worker(base), worker(base), worker(base), restWorker(base)]);

    // Load until each instance has read from both replicas, then stop replica 2 under it.
    const servedBy = (base: string) =>
      new Set(samples.filter((s) => s.base === base).map((s) => nameOf(s.source)));
    const deadline = Date.now() + 20_000;
    while (!bases.every((b) => servedBy(b).has("replica-1") && servedBy(b).has("replica-2"))) {
      if (Date.now() > deadline)
        throw new Error(`both replicas did not serve: ${JSON.stringify(samples.at(-1))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await c.stopReplica(2);
    const stoppedAt = performance.now();
    // A check is reused for a second: requests from then on must not be sent to replica 2 at all.
    await new Promise((r) => setTimeout(r, 2_500));
    loading = false;
    await Promise.all(workers);

    const failed = samples.filter((s) => s.status !== 200 || s.errors !== undefined);
    const retried = samples.filter((s) => s.source.retriedFrom !== undefined);
    const settled = samples.filter((s) => s.startedAt > stoppedAt + 1_100);
    console.log(
      `[scale-out] ${samples.length} GraphQL requests on 2 instances (and ${rest.length} REST), ${failed.length} failed, ` +
        `${retried.length} retried once after replica-2 stopped under them, ${settled.length} after the check TTL`,
    );
    expect(failed).toEqual([]);
    expect(rest.length).toBeGreaterThan(0);
    expect(rest.filter((r) => r.status !== 200 || r.readSource !== "replica")).toEqual([]);
    for (const s of retried)
      expect(s.source).toMatchObject({ replica: "replica-1", retriedFrom: "replica-2" });
    expect(settled.length).toBeGreaterThan(0);
    for (const b of bases) expect(settled.some((s) => s.base === b)).toBe(true);
    for (const s of settled) {
      expect(s.source).toEqual({ database: "replica", replica: "replica-1", host: hostOf(c.replicaUrls[0]) });
    }

    for (const base of bases) {
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      const body = (await ready.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        status: "degraded",
        readsFrom: "replica",
        readSource: { database: "replica", replica: "replica-1" },
        replicas: [
          { replica: "replica-1", host: hostOf(c.replicaUrls[0]), usable: true },
          {
            replica: "replica-2",
            host: hostOf(c.replicaUrls[1]),
            usable: false,
            reason: "replica-unreachable",
          },
        ],
      });
    }
  });

  it("EMBEDDED_REPLICAS lowered: the next start removes the extra replica and drops its slot", async () => {
    await stopApps();
    await db?.close();
    db = undefined;
    const before = required(cluster);
    await before.stop();
    cluster = undefined;
    const after = await startEmbeddedCluster({
      dataDir: before.dataDir,
      primaryPort: Number(new URL(before.primaryUrl).port),
      replicaPort: Number(new URL(before.replicaUrls[0] ?? "").port),
      replicas: 1,
      logger,
    });
    cluster = after;
    expect(after.replicaUrls).toEqual([before.replicaUrls[0]]);
    expect(existsSync(path.join(after.dataDir, "replica-2"))).toBe(false);
    const primary = new pg.Client({ connectionString: after.primaryUrl });
    await primary.connect();
    try {
      const slots = await primary.query("SELECT slot_name FROM pg_replication_slots ORDER BY 1");
      expect(slots.rows).toEqual([{ slot_name: "reachgraph_replica" }]);
    } finally {
      await primary.end();
    }
    expect(postgresOf(after.dataDir)).toHaveLength(2);
  });
});

/**
 * A commit both replicas have replayed. With a 1 s lag limit, any WAL written between a check's two queries counts
 * as "behind since the last replayed commit"; a fresh commit keeps that under the limit for the checks that follow.
 */
async function commitAndReplicate(): Promise<void> {
  const d = required(db);
  await d.primary.query("INSERT INTO campaigns (name) VALUES ('scale-out commit probe')");
  for (const r of d.replicas) await waitForReplica(d.primary, r.pool);
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("set up in beforeAll");
  return value;
}

function nameOf(source: ReadSource): string {
  return source.database === "replica" ? source.replica : "primary";
}

function hostOf(url: string | undefined): string {
  return new URL(url ?? "").host;
}

/** One app process on the cluster, as `npm start` runs it (its own process group); resolves with its base URL. */
async function startApp(c: EmbeddedCluster): Promise<string> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.DATABASE_REPLICA_URL;
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: repoRoot,
    detached: true,
    env: {
      ...env,
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_URL: c.primaryUrl,
      DATABASE_REPLICA_URLS: c.replicaUrls.join(","),
      // Every request reads the database (no answer served from a cache), so the load really is on the replicas.
      ANALYTICS_CACHE_ENTRIES: "0",
      LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  apps.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited during start-up:\n${output}`);
    if (Date.now() > deadline) throw new Error(`the app was not ready within 60 s:\n${output}`);
    const ready = await fetch(`${base}/readyz`).catch(() => undefined);
    if (ready?.status === 200 && ((await ready.json()) as { status?: string }).status === "ok") return base;
    await new Promise((r) => setTimeout(r, 100));
  }
}
