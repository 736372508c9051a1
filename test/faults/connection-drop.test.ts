import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { createPool } from "../../src/db/pool.js";
import { DatabaseUnavailableError } from "../../src/domain/errors.js";
import { problemFromError } from "../../src/http/problem.js";
import { type ApiResponse, startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { leadInput } from "../support/factories.js";

/**
 * A DBA's `pg_terminate_backend` (or a failover, a proxy restart, a network blip) drops connections that requests
 * hold. The process must survive it, the affected requests answer 503 problem+json with Retry-After, a retry with
 * the same Idempotency-Key lands exactly once, and the next write succeeds. Runs on its own database so the
 * terminations reach no other test file's connections.
 */
describe("dropped database connections", async () => {
  const { url, pool: admin } = await scratchDatabase();
  await migrate(url, { logger });
  const api = await startApi({ databaseUrl: url });

  it("answer 503 to the requests they hit; the app keeps serving and every acknowledged write is there once", async () => {
    const WRITERS = 16;
    const PER_WRITER = 12;
    const statuses = new Map<number, number>();
    const unavailable: ApiResponse[] = [];
    const acknowledged: { marker: string; leadId: string }[] = [];

    let writing = true;
    // 25 rounds of terminations while the writers run, then the writers finish on a healthy database.
    const killer = (async () => {
      let terminated = 0;
      for (let round = 0; writing && round < 25; round++) {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'reachgraph:primary' AND state <> 'idle'`,
        );
        terminated += rows[0]?.n ?? 0;
        await new Promise((r) => setTimeout(r, 40));
      }
      return terminated;
    })();

    await Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let i = 0; i < PER_WRITER; i++) {
          const marker = randomUUID();
          const body = { leads: [leadInput({ company_name: `drop ${marker}` })] };
          const key = randomUUID();
          // Retry with the same key until the write is acknowledged, as an integration would.
          for (let attempt = 0; attempt < 20; attempt++) {
            const res = await api.request("POST", "/api/v2/leads", {
              body,
              headers: { "idempotency-key": key },
            });
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (res.status === 200) {
              acknowledged.push({ marker, leadId: res.body.data[0].id });
              break;
            }
            if (res.status === 503) unavailable.push(res);
            await new Promise((r) => setTimeout(r, 5));
          }
        }
      }),
    );
    writing = false;
    const terminated = await killer;

    expect(terminated).toBeGreaterThan(0);
    expect([...statuses.keys()].every((s) => s === 200 || s === 503 || s === 409)).toBe(true);
    expect(unavailable.length).toBeGreaterThan(0);
    for (const res of unavailable) {
      expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
      expect(res.headers.get("retry-after")).toBe("1");
      expect(res.body).toMatchObject({
        type: "https://reachgraph.dev/problems/database-unavailable",
        status: 503,
      });
      expect(res.text).not.toMatch(/terminat|ECONN|\.ts:/);
    }
    expect(acknowledged).toHaveLength(WRITERS * PER_WRITER);

    // Every acknowledged lead exists once, with its audit row and its lead.scraped event.
    const { rows } = await admin.query<{ id: string; audits: number; events: number }>(
      `SELECT l.id,
              (SELECT count(*)::int FROM audit_log a WHERE a.resource_type = 'lead' AND a.resource_id = l.id::text) AS audits,
              (SELECT count(*)::int FROM event_outbox e
                WHERE e.type = 'lead.scraped' AND e.payload->>'lead_id' = l.id::text) AS events
         FROM leads l WHERE l.company_name LIKE 'drop %'`,
    );
    expect(rows).toHaveLength(acknowledged.length);
    expect(new Set(rows.map((r) => r.id))).toEqual(new Set(acknowledged.map((a) => a.leadId)));
    expect(rows.every((r) => r.audits === 1 && r.events === 1)).toBe(true);

    const next = await api.request("POST", "/api/v2/leads", { body: { leads: [leadInput()] } });
    expect(next.status).toBe(200);
  });
});

describe("a busy pool", () => {
  it("refuses a request at once when its waiting line is full, and serves again once a connection is free", async () => {
    const { url } = await scratchDatabase();
    const pool = createPool(url, { name: "tiny", max: 1, maxWaiting: 1, connectTimeoutMs: 10_000, logger });
    try {
      const held = await pool.connect();
      const waiting = pool.connect();
      await expect(pool.connect()).rejects.toBeInstanceOf(DatabaseUnavailableError);
      await expect(pool.query("SELECT 1")).rejects.toBeInstanceOf(DatabaseUnavailableError);
      held.release();
      (await waiting).release();
      expect((await pool.query<{ one: number }>("SELECT 1 AS one")).rows).toEqual([{ one: 1 }]);
    } finally {
      await pool.end();
    }
  });
});

describe("errors of an unavailable database", () => {
  const cases: [string, unknown][] = [
    [
      "a refused connection",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }),
    ],
    ["a reset socket", Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" })],
    ["a dropped connection", new Error("Connection terminated unexpectedly")],
    [
      "a client that lost its connection",
      new Error("Client has encountered a connection error and is not queryable"),
    ],
    ["no connection within the timeout", new Error("timeout exceeded when trying to connect")],
    ["a terminated backend (57P01)", { severity: "FATAL", code: "57P01", message: "terminating connection" }],
    [
      "a server starting up (57P03)",
      { severity: "FATAL", code: "57P03", message: "the database system is starting up" },
    ],
    ["a connection exception (08006)", { severity: "FATAL", code: "08006", message: "connection failure" }],
    ["a demoted primary (25006)", { severity: "ERROR", code: "25006", message: "read-only transaction" }],
    [
      "wrapped as a cause",
      new Error("query failed", { cause: new Error("Connection terminated unexpectedly") }),
    ],
  ];
  it.each(cases)("%s is a 503 with Retry-After, not a 500", (_name, err) => {
    const mapped = problemFromError(err);
    expect(mapped?.problem).toMatchObject({
      status: 503,
      type: "https://reachgraph.dev/problems/database-unavailable",
    });
    expect(mapped?.headers["Retry-After"]).toBe("1");
  });
  it("leaves other database errors alone", () => {
    expect(problemFromError({ severity: "ERROR", code: "42601", message: "syntax error" })).toBeNull();
    expect(problemFromError({ severity: "ERROR", code: "23505", message: "duplicate" })?.problem.status).toBe(
      409,
    );
  });
});
