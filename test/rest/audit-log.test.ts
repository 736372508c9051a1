import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, inject, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import type { DmmfDatamodel } from "../../src/db/schema-drift.js";
import { createApiKey, revokeApiKey } from "../../src/domain/api-keys.js";
import { readAuditLog } from "../../src/domain/audit-log.js";
import { SCOPES } from "../../src/domain/principal.js";
import { expectDocumented, startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { createLead, leadInput } from "../support/factories.js";
import { createCampaign } from "../support/factories-outreach.js";

const api = await startApi();
const PATH = "/api/v2/audit-log";
const db = api.db.primary;

type Entry = {
  id: string;
  occurred_at: string;
  principal_type: string;
  principal_id: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  request_id: string | null;
  details: Record<string, unknown> | null;
};

async function page(query: string) {
  const res = await api.request("GET", `${PATH}?${query}`);
  expect(res.status, res.text).toBe(200);
  expectDocumented(res, "GET", PATH);
  return res.body as { data: Entry[]; page: { next_cursor: string; limit: number } };
}

/** Every row for a query, page by page (limit per page), and the cursor the last (empty) page returned. */
async function readAll(query: string, limit: number) {
  const rows: Entry[] = [];
  let after: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const p = await page(`${query}&limit=${limit}${after ? `&after=${after}` : ""}`);
    if (p.data.length === 0) return { rows, cursor: p.page.next_cursor };
    expect(p.data.length).toBeLessThanOrEqual(limit);
    rows.push(...p.data);
    after = p.page.next_cursor;
  }
  throw new Error("audit log did not end");
}

/** The same rows straight from the table: the oracle for what the endpoint answers. */
async function auditRows(where: string, params: unknown[]): Promise<Entry[]> {
  const { rows } = await db.query<Omit<Entry, "occurred_at"> & { occurred_at: Date }>(
    `SELECT id::text AS id, occurred_at, principal_type, principal_id, action, resource_type, resource_id,
            request_id, details
       FROM audit_log WHERE ${where} ORDER BY audit_log.id`,
    params,
  );
  return rows.map((r) => ({ ...r, occurred_at: r.occurred_at.toISOString() }));
}

async function problem(query: string) {
  const res = await api.request("GET", `${PATH}?${query}`);
  expect(res.status, res.text).toBe(422);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expectDocumented(res, "GET", PATH);
  return res.body as { type: string; errors: { location: string; path: string; message: string }[] };
}

describe("GET /api/v2/audit-log: who may read it", () => {
  it("needs an admin key: anonymous is 401, every other scope 403", async () => {
    const anonymous = await api.request("GET", PATH, { key: null });
    expect(anonymous.status).toBe(401);
    expectDocumented(anonymous, "GET", PATH);
    for (const scope of SCOPES.filter((s) => s !== "admin")) {
      const res = await api.request("GET", PATH, { key: await api.keyWith(scope) });
      expect(res.status, scope).toBe(403);
      expect(res.body.type).toBe("https://reachgraph.dev/problems/insufficient-scope");
      expectDocumented(res, "GET", PATH);
    }
    const admin = await api.request("GET", `${PATH}?limit=1`, { key: await api.keyWith("admin") });
    expect(admin.status).toBe(200);
  });
});

describe("GET /api/v2/audit-log: paging and filters", () => {
  it("pages one resource's rows oldest first by id, each exactly as stored, and keeps the cursor at the end", async () => {
    const lead = leadInput();
    const leadId = await createLead(api, lead);
    await api.request("POST", "/api/v2/leads", { body: { leads: [{ ...lead, industry: "orthodontist" }] } });
    await api.request("POST", "/api/v2/leads", { body: { leads: [{ ...lead, industry: "dentist" }] } });
    const stored = await auditRows("resource_type = 'lead' AND resource_id = $1", [leadId]);
    expect(stored.map((r) => r.action)).toEqual(["lead.created", "lead.updated", "lead.updated"]);

    const { rows, cursor } = await readAll(`resource=lead:${leadId}`, 1);
    expect(rows).toEqual(stored);
    expect(rows[0]).toMatchObject({ principal_type: "api_key", resource_id: leadId });
    expect(rows[0]?.request_id).toMatch(/^[\w-]+$/);

    // Nothing new: the cursor comes back unchanged; something new shows up after it.
    const idle = await page(`resource=lead:${leadId}&after=${cursor}`);
    expect(idle).toEqual({ data: [], page: { next_cursor: cursor, limit: 100 } });
    await api.request("POST", "/api/v2/leads", { body: { leads: [{ ...lead, industry: "surgeon" }] } });
    const later = await page(`resource=lead:${leadId}&after=${cursor}`);
    expect(later.data.map((r) => r.action)).toEqual(["lead.updated"]);
    expect(BigInt(later.data[0]?.id ?? 0)).toBeGreaterThan(BigInt(rows.at(-1)?.id ?? 0));
  });

  it("pages through everything in increasing id order without gaps or repeats", async () => {
    await api.request("POST", "/api/v2/leads", {
      body: { leads: Array.from({ length: 15 }, () => leadInput()) },
    });
    const first = await page("limit=7");
    const second = await page(`limit=7&after=${first.page.next_cursor}`);
    const both = [...first.data, ...second.data];
    expect(both.length).toBeGreaterThan(7);
    const ids = both.map((r) => BigInt(r.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(ids).size).toBe(ids.length);
    const last = both.at(-1)?.id;
    expect(both).toEqual(
      await auditRows("id >= $1::bigint AND id <= $2::bigint", [both[0]?.id, last]).then((r) =>
        r.slice(0, both.length),
      ),
    );
  });

  it("orders by the numeric id, whatever its number of digits", async () => {
    const scratch = await scratchDatabase();
    await migrate(scratch.url, { logger });
    await scratch.pool.query(
      `INSERT INTO audit_log (id, principal_type, principal_id, action, resource_type)
       OVERRIDING SYSTEM VALUE SELECT i, 'system', 'test', 'test.ordered', 'test' FROM unnest($1::bigint[]) AS i`,
      [[100, 9, 10, 1000]],
    );
    const ids = async (afterId: string) =>
      (await readAuditLog(scratch.pool, { afterId, limit: 10 })).map((r) => r.id);
    expect(await ids("0")).toEqual(["9", "10", "100", "1000"]);
    expect(await ids("9")).toEqual(["10", "100", "1000"]);
    expect(await ids("99")).toEqual(["100", "1000"]);
  });

  it("filters by resource type, by type:id and by exact action", async () => {
    const campaign = await createCampaign(api);
    await api.request("PATCH", `/api/v2/campaigns/${campaign.id}`, { body: { status: "paused" } });
    const other = await createCampaign(api);

    const one = await readAll(`resource=campaign:${campaign.id}`, 100);
    expect(one.rows.map((r) => [r.action, r.resource_id])).toEqual([
      ["campaign.created", campaign.id],
      ["campaign.paused", campaign.id],
    ]);
    const created = await readAll(`resource=campaign:${campaign.id}&action=campaign.created`, 100);
    expect(created.rows.map((r) => r.action)).toEqual(["campaign.created"]);

    // Type only: campaigns and nothing else, ours among them, exactly the table's campaign rows up to the last one read.
    const byType = await readAll("resource=campaign", 1000);
    expect(new Set(byType.rows.map((r) => r.resource_type))).toEqual(new Set(["campaign"]));
    expect(byType.rows.map((r) => r.resource_id)).toEqual(expect.arrayContaining([campaign.id, other.id]));
    expect(byType.rows).toEqual(
      await auditRows("resource_type = 'campaign' AND id <= $1::bigint", [byType.rows.at(-1)?.id]),
    );

    const byAction = await page("action=campaign.paused&limit=1000");
    expect(byAction.data.length).toBeGreaterThan(0);
    expect(new Set(byAction.data.map((r) => r.action))).toEqual(new Set(["campaign.paused"]));
    expect(byAction.data.map((r) => r.resource_id)).toContain(campaign.id);

    // An id that is not a UUID, and a type nobody writes, are simply empty.
    expect((await page("resource=campaign:not-a-uuid")).data).toEqual([]);
    expect((await page("resource=no_such_resource")).data).toEqual([]);
  });

  it("accepts limit up to the documented maximum, 1000, and answers a page of at most that many", async () => {
    await createLead(api);
    const res = await page("limit=1000");
    expect(res.page.limit).toBe(1000);
    expect(res.data.length).toBeLessThanOrEqual(1000);
    expect((await page("")).page.limit).toBe(100);
  });
});

describe("GET /api/v2/audit-log: bad input is a 422 problem", () => {
  it.each(["0", "-1", "1001", "1e9", "2.5", "abc", ""])("limit=%s", async (limit) => {
    const body = await problem(`limit=${limit}`);
    expect(body.type).toBe("https://reachgraph.dev/problems/validation-failed");
    expect(body.errors).toContainEqual(expect.objectContaining({ location: "query", path: "/limit" }));
  });

  it.each([
    ["not base64 of a cursor", "bm90LWEtY3Vyc29y"],
    ["an events cursor", Buffer.from("1:2").toString("base64url")],
    ["a negative id", Buffer.from("audit:-1").toString("base64url")],
    ["an id beyond bigint", Buffer.from("audit:9223372036854775808").toString("base64url")],
    ["a leading zero", Buffer.from("audit:007").toString("base64url")],
    ["padding added", `${Buffer.from("audit:12").toString("base64url")}==`],
    ["garbage", "%%%"],
  ])("after: %s", async (_name, after) => {
    const body = await problem(`after=${encodeURIComponent(after)}`);
    expect(body.errors).toEqual([{ location: "query", path: "/after", message: "invalid cursor" }]);
  });

  it("after: the largest bigint is a valid (empty) position", async () => {
    const max = Buffer.from("audit:9223372036854775807").toString("base64url");
    expect((await page(`after=${max}`)).data).toEqual([]);
  });

  it.each(["Lead", "lead:", ":abc", "lead id", `lead:${"x".repeat(256)}`, "x".repeat(51)])(
    "resource=%s",
    async (resource) => {
      const body = await problem(`resource=${encodeURIComponent(resource)}`);
      expect(body.errors).toContainEqual(expect.objectContaining({ location: "query", path: "/resource" }));
    },
  );

  it.each(["Lead.Created", "lead created", "x".repeat(101)])("action=%s", async (action) => {
    const body = await problem(`action=${encodeURIComponent(action)}`);
    expect(body.errors).toContainEqual(expect.objectContaining({ location: "query", path: "/action" }));
  });
});

describe("API keys are audited", () => {
  it("creation and the first revocation write one row each, naming prefix and scopes but not the key's name", async () => {
    const name = "Perpetua Okonkwo's laptop";
    const key = await createApiKey(db, { name, scopes: ["ingest", "worker"], rateLimitPerMinute: 60 });
    await revokeApiKey(db, key.prefix);
    await revokeApiKey(db, key.id); // already revoked: nothing changes, nothing is audited

    const { rows } = await readAll(`resource=api_key:${key.id}`, 100);
    expect(rows.map((r) => r.action)).toEqual(["api_key.created", "api_key.revoked"]);
    expect(rows[0]).toMatchObject({
      principal_type: "system",
      resource_type: "api_key",
      request_id: null,
      details: { prefix: key.prefix, scopes: ["ingest", "worker"], rate_limit_per_minute: 60 },
    });
    expect(rows[1]?.details).toEqual({ prefix: key.prefix });
    const { rows: stored } = await db.query<{ revoked_at: Date }>(
      "SELECT revoked_at FROM api_keys WHERE id = $1",
      [key.id],
    );
    expect(rows[1]?.occurred_at).toBe(stored[0]?.revoked_at.toISOString());
    expect(JSON.stringify(rows)).not.toMatch(/Perpetua|Okonkwo/);
    expect(JSON.stringify(rows)).not.toContain(key.key.slice(12));
  });

  it("audits concurrent revocations of one key once", async () => {
    const key = await createApiKey(db, { name: "raced", scopes: ["ingest"] });
    await Promise.all(Array.from({ length: 5 }, () => revokeApiKey(db, key.id)));
    const rows = await auditRows("resource_type = 'api_key' AND resource_id = $1 AND action = $2", [
      key.id,
      "api_key.revoked",
    ]);
    expect(rows).toHaveLength(1);
  });

  it("`npm run keys` create and revoke are audited as the CLI", async () => {
    const run = (...args: string[]) =>
      promisify(execFile)(process.execPath, ["--import", "tsx", "src/cli/keys.ts", ...args], {
        env: { ...process.env, DATABASE_URL: inject("primaryUrl"), LOG_LEVEL: "silent" },
      });
    const created = await run("create", "--name", "cli test", "--scopes", "ingest");
    const id = /\(([0-9a-f-]{36})\)/.exec(created.stdout)?.[1];
    if (!id) throw new Error(`no key id in: ${created.stdout}`);
    await run("revoke", id);
    const rows = await auditRows("resource_type = 'api_key' AND resource_id = $1", [id]);
    expect(rows.map((r) => [r.action, r.principal_type, r.principal_id])).toEqual([
      ["api_key.created", "system", "cli:keys"],
      ["api_key.revoked", "system", "cli:keys"],
    ]);
  });
});

describe("audit_log indexes for the endpoint", () => {
  it("exist in the migrated database with the columns schema.prisma declares", async () => {
    const { rows } = await db.query<{ name: string; columns: string[] }>(
      `SELECT i.relname AS name, array_agg(a.attname::text ORDER BY k.n) AS columns
         FROM pg_index x
         JOIN pg_class i ON i.oid = x.indexrelid
         JOIN pg_class t ON t.oid = x.indrelid
         JOIN unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) ON true
         JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE t.relname = 'audit_log' AND NOT x.indisprimary
        GROUP BY i.relname`,
    );
    const inDatabase = Object.fromEntries(rows.map((r) => [r.name, r.columns]));
    const dmmf = JSON.parse(
      await readFile(new URL("../../src/generated/dmmf.json", import.meta.url), "utf8"),
    ) as DmmfDatamodel & {
      indexes: { model: string; type: string; dbName?: string; fields: { name: string }[] }[];
      models: { name: string; fields: { name: string; dbName?: string | null }[] }[];
    };
    const model = dmmf.models.find((m) => m.name === "AuditLog");
    const column = (field: string) => model?.fields.find((f) => f.name === field)?.dbName ?? field;
    const inPrisma = Object.fromEntries(
      dmmf.indexes
        .filter((i) => i.model === "AuditLog" && i.type === "normal")
        .map((i) => [i.dbName, i.fields.map((f) => column(f.name))]),
    );
    expect(inDatabase).toEqual(inPrisma);
    expect(inDatabase).toMatchObject({
      audit_log_resource_type_id_idx: ["resource_type", "id"],
      audit_log_action_id_idx: ["action", "id"],
    });
  });
});
