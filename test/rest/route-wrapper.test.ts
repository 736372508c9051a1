import { createHash, randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import express from "express";
import pg from "pg";
import { pino } from "pino";
import { describe, expect, inject, it } from "vitest";
import { z } from "zod";
import { AnalyticsCache } from "../../src/analytics/analytics-cache.js";
import { connectDatabases, createPrismaClient } from "../../src/db/databases.js";
import { ReadRouter } from "../../src/db/read-router.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import { ConflictError, UnprocessableError } from "../../src/domain/errors.js";
import type { UnitOfWork } from "../../src/domain/unit-of-work.js";
import { EventValidator } from "../../src/events/schemas.js";
import { createApp } from "../../src/http/app.js";
import { errorHandler } from "../../src/http/problem.js";
import { ApiKeyAuthenticator } from "../../src/rest/auth.js";
import { claimIdempotencyKey } from "../../src/rest/idempotency.js";
import { mountRoutes } from "../../src/rest/mount.js";
import { defineRoute } from "../../src/rest/route.js";
import { WriteGroups } from "../../src/rest/write-groups.js";
import { expectIdempotentReplay, startApi } from "../support/api.js";
import { logger, primaryPool } from "../support/db.js";
import { leadInput } from "../support/factories.js";

const api = await startApi();

async function leadsNamed(name: string): Promise<number> {
  const { rows } = await api.db.primary.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM leads WHERE company_name = $1",
    [name],
  );
  return rows[0]?.n ?? -1;
}

describe("the route wrapper on routes built for this test", async () => {
  const pool = primaryPool();
  let calls = 0;
  const Body = z.strictObject({ name: z.string() });
  const Ok = z.object({ ok: z.boolean() });
  const insertLead = (tx: { query: (sql: string, values: unknown[]) => Promise<unknown> }, name: string) =>
    tx.query("INSERT INTO leads (company_name) VALUES ($1)", [name]);
  /** A POST /t/<name> route taking `{ name }`; `handler` is the behaviour under test. */
  const testRoute = (name: string, handler: (name: string, uow: UnitOfWork) => Promise<void>) =>
    defineRoute({
      method: "post",
      path: `/t/${name}`,
      operationId: name,
      summary: name,
      tags: [],
      scope: "ingest",
      body: Body,
      response: { status: 200, description: "", schema: Ok },
      handler: async ({ body }, uow) => {
        await handler(body.name, uow);
        return { ok: true };
      },
    });
  /** Writes a lead and audits it, then fails with `err`: the write must not survive. */
  const writeThenThrow = (name: string, err: () => Error) =>
    testRoute(name, async (leadName, uow) => {
      calls++;
      await insertLead(uow.tx, leadName);
      uow.audit({ action: `test.${name}`, resourceType: "lead", resourceId: null });
      throw err();
    });
  const routes = [
    testRoute("no-audit", async (name, uow) => {
      await insertLead(uow.tx, name);
    }),
    writeThenThrow("conflict", () => new ConflictError("not today")),
    writeThenThrow(
      "invalid",
      () =>
        new UnprocessableError("no such thing", [{ location: "body", path: "/name", message: "unknown" }]),
    ),
    writeThenThrow("crash", () => new Error("secret internals at /srv/reachgraph/db.ts:42")),
    testRoute("pg-error", async (name, uow) => {
      // An invalid jsonpath: PostgreSQL's message quotes the input (code 42601, not a client-error mapping).
      await uow.tx.query("SELECT $1::jsonpath", [`$.email ? (@ == "${name}"`]);
    }),
  ];
  const app = express();
  const router = express.Router();
  mountRoutes(router, routes, {
    primary: pool,
    readRouter: new ReadRouter({ pool, prisma: createPrismaClient(pool) }, [], 30),
    analyticsCache: AnalyticsCache.disabled(),
    logger,
    authenticator: new ApiKeyAuthenticator(pool, logger),
    events: new EventValidator(),
    clock: () => new Date(),
    defaultRateLimitPerMinute: 1000,
    writeGroups: new WriteGroups(),
  });
  app.use(router);
  const errorLines: string[] = [];
  const errorLog = pino(
    { level: "error" },
    new Writable({
      write(chunk, _enc, done) {
        errorLines.push(String(chunk));
        done();
      },
    }),
  );
  app.use(errorHandler(errorLog));
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const key = (await createApiKey(pool, { name: "wrapper test", scopes: ["ingest"] })).key;
  const post = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  };

  it("refuses a write that recorded no audit entry, and rolls it back", async () => {
    const name = `no-audit ${randomUUID()}`;
    const res = await post("/t/no-audit", { name });
    expect(res.status).toBe(500);
    expect(await leadsNamed(name)).toBe(0);
    server.unref();
  });

  it("rolls back a write whose handler finds the request invalid, and replays that answer for the same key", async () => {
    const name = `invalid ${randomUUID()}`;
    const key = randomUUID();
    calls = 0;
    const first = await post("/t/invalid", { name }, { "idempotency-key": key });
    expect(first.status).toBe(422);
    expect(JSON.parse(first.text).errors).toEqual([{ location: "body", path: "/name", message: "unknown" }]);
    const again = await post("/t/invalid", { name }, { "idempotency-key": key });
    expect(again.status).toBe(422);
    expect(again.text).toBe(first.text);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(calls).toBe(1);
    expect(await leadsNamed(name)).toBe(0);
  });

  it("rolls back a conflict and releases the key: a conflict depends on the moment, so a retry runs again", async () => {
    const name = `conflict ${randomUUID()}`;
    const key = randomUUID();
    calls = 0;
    const first = await post("/t/conflict", { name }, { "idempotency-key": key });
    expect(first.status).toBe(409);
    expect(JSON.parse(first.text).type).toBe("https://reachgraph.dev/problems/conflict");
    const again = await post("/t/conflict", { name }, { "idempotency-key": key });
    expect(again.status).toBe(409);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
    expect(calls).toBe(2);
    expect(await leadsNamed(name)).toBe(0);
  });

  it("logs a database error by code and location, never by its message (which quotes the request's data)", async () => {
    const res = await post("/t/pg-error", { name: "jane.secret@private.example" });
    expect(res.status).toBe(500);
    const log = errorLines.join("");
    expect(log).toContain('"code":"42601"');
    expect(log).not.toContain("jane.secret");
    expect(res.text).not.toContain("jane.secret");
  });

  it("answers an unexpected error with a bare 500 and a request id, and releases the idempotency key", async () => {
    const name = `crash ${randomUUID()}`;
    const key = randomUUID();
    calls = 0;
    const res = await post("/t/crash", { name }, { "idempotency-key": key, "x-request-id": "req-crash-1" });
    expect(res.status).toBe(500);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.text).not.toMatch(/secret|\/srv|\.ts/);
    expect(JSON.parse(res.text)).toMatchObject({
      type: "https://reachgraph.dev/problems/internal",
      status: 500,
    });
    await post("/t/crash", { name }, { "idempotency-key": key });
    expect(calls).toBe(2);
    expect(await leadsNamed(name)).toBe(0);
    await new Promise((resolve) => server.close(resolve));
  });
});

describe("Idempotency-Key on a real endpoint", () => {
  it("replays the first response byte for byte and writes once", async () => {
    const first = await expectIdempotentReplay(api, "/api/v2/leads", { leads: [leadInput()] }, 200);
    const audits = await api.db.primary.query("SELECT 1 FROM audit_log WHERE resource_id = $1", [
      first.body.data[0].id,
    ]);
    expect(audits.rowCount).toBe(1);
  });

  it("refuses the same key with a different body (422) and while the first request is in flight (409)", async () => {
    const key = randomUUID();
    await api.request("POST", "/api/v2/leads", {
      body: { leads: [leadInput()] },
      headers: { "idempotency-key": key },
    });
    const reused = await api.request("POST", "/api/v2/leads", {
      body: { leads: [leadInput()] },
      headers: { "idempotency-key": key },
    });
    expect(reused.status).toBe(422);
    expect(reused.body.type).toBe("https://reachgraph.dev/problems/idempotency-key-reused");
  });

  /** The admin key's id and the fingerprint the wrapper computes for `body` posted to /api/v2/leads. */
  async function keyedRequest(key: string, body: unknown) {
    const { rows } = await api.db.primary.query<{ id: string }>(
      "SELECT id FROM api_keys WHERE key_hash = $1",
      [createHash("sha256").update(api.adminKey).digest("hex")],
    );
    const raw = Buffer.from(JSON.stringify(body));
    return {
      apiKeyId: String(rows[0]?.id),
      key,
      method: "POST",
      path: "/api/v2/leads",
      fingerprint: createHash("sha256").update("POST /api/v2/leads\n").update(raw).digest("hex"),
      now: new Date(),
    };
  }

  it("answers 409 while the key's transaction is alive, and runs a retry at once when that transaction died", async () => {
    const key = randomUUID();
    const body = { leads: [leadInput()] };
    // Another request's transaction holding the key: a client that claimed it and has not committed.
    const owner = new pg.Client({ connectionString: inject("primaryUrl") });
    owner.on("error", () => {});
    await owner.connect();
    await owner.query("BEGIN");
    expect((await claimIdempotencyKey(owner, await keyedRequest(key, body))).kind).toBe("claimed");
    const ownerPid = (await owner.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]?.pid;

    const busy = await api.request("POST", "/api/v2/leads", { body, headers: { "idempotency-key": key } });
    expect(busy.status).toBe(409);
    expect(busy.body.type).toBe("https://reachgraph.dev/problems/idempotency-request-in-progress");
    expect(busy.headers.get("retry-after")).toBe("1");

    // The owner's process is killed mid-request: its connection (and so its transaction) ends.
    await api.db.primary.query("SELECT pg_terminate_backend($1)", [ownerPid]);
    await owner.end().catch(() => {});
    // pg_terminate_backend only signals; wait until that backend is gone (and its lock with it).
    while (
      (await api.db.primary.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [ownerPid])).rowCount
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const retried = await api.request("POST", "/api/v2/leads", { body, headers: { "idempotency-key": key } });
    expect(retried.status).toBe(200);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    const replayed = await api.request("POST", "/api/v2/leads", {
      body,
      headers: { "idempotency-key": key },
    });
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.text).toBe(retried.text);
  });

  it("does not block on an 'in_flight' row an older version left behind", async () => {
    const key = randomUUID();
    const body = { leads: [leadInput()] };
    const req = await keyedRequest(key, body);
    await api.db.primary.query(
      `INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_method, request_path, request_hash, expires_at)
       VALUES ($1, $2, 'POST', '/api/v2/leads', $3, NOW() + interval '1 day')`,
      [req.apiKeyId, key, req.fingerprint],
    );
    const res = await api.request("POST", "/api/v2/leads", { body, headers: { "idempotency-key": key } });
    expect(res.status).toBe(200);
    const { rows } = await api.db.primary.query(
      "SELECT status FROM idempotency_keys WHERE api_key_id = $1 AND idempotency_key = $2",
      [req.apiKeyId, key],
    );
    expect(rows).toEqual([{ status: "completed" }]);
  });

  it("rejects a malformed key with 400", async () => {
    const res = await api.request("POST", "/api/v2/leads", {
      body: { leads: [leadInput()] },
      headers: { "idempotency-key": "has spaces in it" },
    });
    expect(res.status).toBe(400);
    expect(res.body.type).toBe("https://reachgraph.dev/problems/invalid-idempotency-key");
  });
});

describe("rate limits per API key", async () => {
  const limited = await startApi({ rateLimitPerMinute: 3 });
  it("sends RateLimit-* headers and answers 429 with Retry-After once the key's budget is spent", async () => {
    const key = await limited.keyWith("ingest");
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof limited.request>> | undefined;
    for (let i = 0; i < 4; i++) {
      last = await limited.request("GET", "/api/v2/leads?limit=1", { key });
      statuses.push(last.status);
      if (i === 0) {
        expect(last.headers.get("ratelimit-limit")).toBe("3");
        expect(last.headers.get("ratelimit-remaining")).toBe("2");
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Number(last?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(last?.body.type).toBe("https://reachgraph.dev/problems/rate-limited");
    const other = await limited.request("GET", "/api/v2/leads?limit=1", {
      key: await limited.keyWith("ingest"),
    });
    expect(other.status).toBe(200);
  });
});

describe("request logs", async () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const db = connectDatabases(
    { primaryUrl: inject("primaryUrl"), replicaUrl: undefined },
    {
      max: 2,
      connectTimeoutMs: 5_000,
      logger,
    },
  );
  const app = createApp({ db, logger: pino({ level: "debug" }, sink) });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, "127.0.0.1", () => resolve(s));
  });
  it("carry the route pattern and status, never keys, emails, names, bodies or tokens", async () => {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const lead = leadInput({ contact_name: "Zyxwv Qutsr", contact_email: "zyxwv@private.example" });
    const res = await fetch(`${base}/api/v2/leads?contact=zyxwv@private.example`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ leads: [lead] }),
    });
    expect(res.status).toBe(422);
    await fetch(`${base}/api/v2/leads`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.adminKey}`, "content-type": "application/json" },
      body: JSON.stringify({ leads: [lead] }),
    });
    await new Promise((resolve) => server.close(resolve));
    await db.close();
    const log = lines.join("");
    expect(log).toContain('"route":"/api/v2/leads"');
    for (const line of lines) expect(line.match(/"route":/g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(log).toContain('"statusCode":200');
    for (const secret of ["zyxwv", "Zyxwv", api.adminKey, String(lead.website)])
      expect(log).not.toContain(secret);
  });
});
