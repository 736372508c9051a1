import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, inject, it } from "vitest";
import { connectDatabases } from "../src/db/databases.js";
import { waitForReplica } from "../src/db/replication.js";
import { createApp } from "../src/http/app.js";
import { logger, primaryPool, replicaPool } from "./support/db.js";

const replicaUrl = inject("replicaUrl");
if (!replicaUrl) console.log(`[replica] skipped on ${inject("target")}: no TEST_DATABASE_REPLICA_URL`);

describe.runIf(replicaUrl)("streaming replica", () => {
  it("serves a row written on the primary, read-only and in recovery", async () => {
    const primary = primaryPool();
    const replica = replicaPool();
    if (!replica) throw new Error("unreachable");
    const lead = await primary.query<{ id: string }>(
      "INSERT INTO leads (company_name, source_platform) VALUES ('Replicated GmbH', 'yelp') RETURNING id",
    );
    await waitForReplica(primary, replica);
    const r = await replica.query(
      "SELECT company_name, pg_is_in_recovery() AS standby FROM leads WHERE id = $1",
      [lead.rows[0]?.id],
    );
    expect(r.rows).toEqual([{ company_name: "Replicated GmbH", standby: true }]);
    await expect(replica.query("INSERT INTO leads (company_name) VALUES ('x')")).rejects.toThrow(/read-only/);
  });
});

function listen(app: ReturnType<typeof createApp>): Promise<Server> {
  return new Promise((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
}

describe("health endpoints", async () => {
  const db = connectDatabases(
    { primaryUrl: inject("primaryUrl"), replicaUrl },
    { max: 2, connectTimeoutMs: 5_000, logger },
  );
  const server = await listen(createApp({ db, logger }));
  const base = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await db.close();
  });

  it("GET /healthz says the process is alive", async () => {
    const res = await fetch(`${base()}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("GET /readyz reports the primary and the replica's lag", async () => {
    const res = await fetch(`${base()}/readyz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      status: string;
      readsFrom: string;
      primary: { reachable: boolean };
      replica: { configured: boolean; lagBytes?: unknown; lagSeconds?: unknown };
      replicas: unknown[];
      readSource: unknown;
    };
    expect(body.primary.reachable).toBe(true);
    if (replicaUrl) {
      expect(body.status).toBe("ok");
      expect(body.readsFrom).toBe("replica");
      expect(body.replica).toMatchObject({ configured: true, reachable: true, inRecovery: true });
      expect(typeof body.replica.lagBytes).toBe("number");
      expect(typeof body.replica.lagSeconds).toBe("number");
      // Every replica is listed by name and host:port, never with its credentials.
      const host = new URL(replicaUrl).host;
      expect(body.replicas).toEqual([{ replica: "replica-1", host, usable: true, status: body.replica }]);
      expect(body.readSource).toEqual({ database: "replica", replica: "replica-1", host });
    } else {
      expect(body.replica.configured).toBe(false);
      expect(body.replicas).toEqual([]);
      expect(body.readsFrom).toBe("primary");
      expect(body.readSource).toEqual({ database: "primary", reason: "no-replica" });
    }
  });

  it("GET /readyz is 503 when the primary is unreachable, and says so without a stack trace", async () => {
    const broken = connectDatabases(
      { primaryUrl: "postgres://nobody:secret@127.0.0.1:1/none", replicaUrl: undefined },
      { max: 1, connectTimeoutMs: 1_000, logger },
    );
    const s = await listen(createApp({ db: broken, logger }));
    try {
      const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/readyz`);
      expect(res.status).toBe(503);
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ status: "unavailable", primary: { reachable: false } });
      expect(text).not.toContain("secret");
    } finally {
      await new Promise((r) => s.close(r));
      await broken.close();
    }
  });

  it("answers unknown routes with problem+json 404", async () => {
    const res = await fetch(`${base()}/nope`);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(await res.json()).toMatchObject({ status: 404, title: "Not Found" });
  });
});
