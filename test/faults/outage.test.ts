import { randomBytes, randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type EmbeddedCluster, startEmbeddedCluster } from "../../src/db/embedded/cluster.js";
import { migrate } from "../../src/db/migrate.js";
import { type ApiResponse, startApi } from "../support/api.js";
import { logger } from "../support/db.js";
import { leadInput } from "../support/factories.js";
import { freePort } from "../support/urls.js";

/**
 * The primary stopped and started again under load, with the app left running: while it is down every write is
 * a prompt 503 problem+json with Retry-After (never a hang, never a crash) and /readyz says why; when it is back
 * the same process serves writes again, and every acknowledged write is there once.
 */
describe("a primary outage under load", async () => {
  const options = {
    dataDir: path.join(os.tmpdir(), `reachgraph-outage-${randomBytes(4).toString("hex")}`),
    primaryPort: await freePort(),
    replicaPort: await freePort(),
    logger,
  };
  let cluster: EmbeddedCluster = await startEmbeddedCluster(options);
  afterAll(async () => {
    await cluster.stop();
    await rm(cluster.dataDir, { recursive: true, force: true });
  });
  await migrate(cluster.primaryUrl, { logger });
  const api = await startApi({ databaseUrl: cluster.primaryUrl });

  it("answers 503 while the primary is down and recovers without a restart", async () => {
    const acknowledged = new Map<string, string>();
    const during: ApiResponse[] = [];
    let phase: "up" | "down" | "back" = "up";
    let running = true;
    const writers = Array.from({ length: 8 }, async () => {
      while (running) {
        const marker = randomUUID();
        const res = await api.request("POST", "/api/v2/leads", {
          body: { leads: [leadInput({ company_name: `outage ${marker}` })] },
          headers: { "idempotency-key": marker },
        });
        if (res.status === 200) acknowledged.set(marker, res.body.data[0].id);
        else if (phase === "down") during.push(res);
        else expect([200, 503]).toContain(res.status);
        await new Promise((r) => setTimeout(r, 10));
      }
    });

    await new Promise((r) => setTimeout(r, 300));
    phase = "down";
    await cluster.stop();
    await new Promise((r) => setTimeout(r, 500));
    const ready = await api.request("GET", "/readyz", { key: null });
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ status: "unavailable", primary: { reachable: false } });
    expect(ready.body.primary.error).toMatch(/ECONNREFUSED|terminat|connect/);
    const downAt = during.length;

    cluster = await startEmbeddedCluster(options);
    phase = "back";
    const backAt = acknowledged.size;
    const deadline = Date.now() + 30_000;
    while (acknowledged.size < backAt + 20 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    running = false;
    await Promise.all(writers);

    expect(downAt).toBeGreaterThan(0);
    for (const res of during) {
      expect(res.status).toBe(503);
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.headers.get("retry-after")).toBe("1");
    }
    expect(acknowledged.size).toBeGreaterThanOrEqual(backAt + 20);
    expect((await api.request("GET", "/readyz", { key: null })).status).toBe(200);

    const { rows } = await api.db.primary.query<{ company_name: string; n: number }>(
      "SELECT company_name, count(*)::int AS n FROM leads WHERE company_name LIKE 'outage %' GROUP BY 1",
    );
    const stored = new Map(rows.map((r) => [r.company_name.slice("outage ".length), r.n]));
    for (const marker of acknowledged.keys()) expect(stored.get(marker)).toBe(1);
  });
});
