import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { startEmbeddedCluster } from "../../src/db/embedded/cluster.js";
import { migrate } from "../../src/db/migrate.js";
import { waitForReplica } from "../../src/db/replication.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { startApi } from "../support/api.js";
import { logger } from "../support/db.js";
import { freePort } from "../support/urls.js";

// A primary + streaming replica of this file's own, so the replica can be paused and stopped without touching the
// run's shared servers.
const cluster = await startEmbeddedCluster({
  dataDir: path.resolve(".test-data", `fallback-${randomBytes(4).toString("hex")}`),
  primaryPort: await freePort(),
  replicaPort: await freePort(),
  logger,
});
afterAll(() => cluster.stop());
await migrate(cluster.primaryUrl, { logger });
const api = await startApi({
  databaseUrl: cluster.primaryUrl,
  replicaUrl: cluster.replicaUrl,
  replicaMaxLagSeconds: 2,
});
await seedDemoData(api.db.primary, { leads: 120, seed: 5, spanDays: 60 });
await refreshViews(api.db.primary, "test");
if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);

const DASHBOARD = `{ overview(period: "30d") { asOf outreach { funnel { sent delivered replied } rates { replyRate } } }
  modelLeaderboard(taskType: "website_analysis") { asOf entries { modelName usageCount } } }`;

describe("GraphQL reads the replica, and keeps answering when it cannot", () => {
  it("reads the replica while it is healthy, and says so", async () => {
    const res = await api.graphql(DASHBOARD);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.extensions.readSource).toEqual({
      database: "replica",
      replica: "replica-1",
      host: new URL(cluster.replicaUrl ?? "").host,
    });
    expect(res.body.data.overview.outreach.funnel.sent).toBeGreaterThan(0);
    expect(res.headers.get("content-type")).toMatch(/application\/json/);
  });

  it("keeps answering while a refresh runs, and asOf moves forward after it", async () => {
    const before = (await api.graphql(DASHBOARD)).body.data.overview.asOf;
    const refresh = refreshViews(api.db.primary, "test");
    const during = await Promise.all(Array.from({ length: 20 }, () => api.graphql(DASHBOARD)));
    for (const r of during) {
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
    }
    const done = await refresh;
    if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
    const after = (await api.graphql(DASHBOARD)).body.data.overview.asOf;
    expect(after).toBe(done.as_of.toISOString());
    expect(new Date(after).getTime()).toBeGreaterThan(new Date(before).getTime());
  });

  it("falls back to the primary while the replica lags more than the threshold", async () => {
    const replica = api.db.replica;
    if (!replica) throw new Error("this file starts its own replica");
    await replica.query("SELECT pg_wal_replay_pause()");
    try {
      await api.db.primary.query("INSERT INTO campaigns (name) VALUES ('lag probe')");
      await new Promise((r) => setTimeout(r, 3_100));
      api.db.readRouter.recheck();
      const res = await api.graphql(DASHBOARD);
      expect(res.body.errors).toBeUndefined();
      expect(res.body.extensions.readSource).toMatchObject({
        database: "primary",
        reason: "replica-lagging",
      });
      const ready = await api.request("GET", "/readyz");
      expect(ready.body).toMatchObject({ status: "degraded", readsFrom: "primary" });
    } finally {
      await replica.query("SELECT pg_wal_replay_resume()");
    }
    await waitForReplica(api.db.primary, replica);
    api.db.readRouter.recheck();
    expect((await api.graphql(DASHBOARD)).body.extensions.readSource).toMatchObject({
      database: "replica",
      replica: "replica-1",
    });
  });

  it("answers from the primary, flagged, when the replica is stopped; /readyz says degraded", async () => {
    await cluster.stopReplica();
    api.db.readRouter.recheck();
    const res = await api.graphql(DASHBOARD);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.extensions.readSource).toEqual({
      database: "primary",
      reason: "replica-unreachable",
      replicas: [
        {
          replica: "replica-1",
          host: new URL(cluster.replicaUrl ?? "").host,
          usable: false,
          reason: "replica-unreachable",
        },
      ],
    });
    expect(res.body.data.overview.outreach.funnel.sent).toBeGreaterThan(0);
    const rest = await api.request("GET", "/api/v2/analytics/overview?period=7d", {
      key: await api.keyWith("analytics:read"),
    });
    expect(rest.status).toBe(200);
    expect(rest.headers.get("x-read-source")).toBe("primary");
    const ready = await api.request("GET", "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: "degraded",
      readsFrom: "primary",
      readSource: { database: "primary", reason: "replica-unreachable" },
    });
  });
});
