import { randomBytes, randomUUID } from "node:crypto";
import { PassThrough } from "node:stream";
import { gzipSync } from "node:zlib";
import type { Request } from "express";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { decryptField } from "../../src/compliance/field-encryption.js";
import { RejectionLog } from "../../src/domain/bulk/bulk-load.js";
import { EventValidator } from "../../src/events/schemas.js";
import { NdjsonBody } from "../../src/rest/ndjson.js";
import { withRequestClock } from "../../src/rest/request-clock.js";
import { AiGymRecordInput } from "../../src/rest/v2/ai-gym.js";
import { fastAiGymRecord } from "../../src/rest/v2/ai-gym-fast-path.js";
import { type ApiResponse, expectDocumented, startApi } from "../support/api.js";
import { createLead, leadInput } from "../support/factories.js";
import { aiGymRecord } from "../support/factories-work.js";

const api = await startApi();
const ingest = await api.keyWith("ingest");
const GYM = "/api/v2/ai-gym/records:bulk";
const LEADS = "/api/v2/leads:bulk";
const events = new EventValidator();

type PostOptions = { key?: string | null; headers?: Record<string, string>; query?: string; gzip?: boolean };

const ndjson = (lines: readonly unknown[]) =>
  lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n");

async function post(path: string, body: string | Buffer, o: PostOptions = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = { "content-type": "application/x-ndjson", ...o.headers };
  const key = o.key === undefined ? ingest : o.key;
  if (key) headers.authorization = `Bearer ${key}`;
  let payload: Buffer = Buffer.isBuffer(body) ? body : Buffer.from(body);
  if (o.gzip) {
    payload = gzipSync(payload);
    headers["content-encoding"] = "gzip";
  }
  const res = await fetch(`${api.url}${path}${o.query ? `?${o.query}` : ""}`, {
    method: "POST",
    headers,
    body: new Uint8Array(payload),
  });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  return {
    status: res.status,
    headers: res.headers,
    text,
    body: /json/.test(type) && text ? JSON.parse(text) : undefined,
  };
}

const model = () => `bulk-${randomBytes(4).toString("hex")}`;

async function gymRows(modelName: string) {
  const { rows } = await api.db.primary.query(
    `SELECT task_type, model_name, lead_id, cost::text AS cost, duration_seconds, quality_score,
            conversion_metric::text AS conversion_metric, prompt_hash, response_hash, metadata, created_at,
            tableoid::regclass::text AS partition
       FROM ai_gym_performance WHERE model_name = $1 ORDER BY created_at, duration_seconds`,
    [modelName],
  );
  return rows;
}

async function outboxOf(type: string, loadId: string) {
  const { rows } = await api.db.primary.query(
    `SELECT id, type, version, occurred_at, correlation_id, payload FROM event_outbox
      WHERE type = $1 AND payload->>'load_id' = $2`,
    [type, loadId],
  );
  return rows;
}

function expectProblem(res: ApiResponse, status: number, type: string, path: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  expect(res.body.type).toBe(`https://reachgraph.dev/problems/${type}`);
  expectDocumented(res, "POST", path);
}

describe("POST /api/v2/ai-gym/records:bulk", () => {
  it("stores the same rows as the batch endpoint for the same input, with one audit entry and one event", async () => {
    const leadId = await createLead(api);
    const single = model();
    const bulk = model();
    const records = (m: string) => [
      aiGymRecord({
        model_name: m,
        lead_id: leadId,
        cost: 0.1234,
        conversion_metric: 0.085,
        created_at: "2026-01-10T08:00:00Z",
        prompt_hash: "AB".repeat(32),
        response_hash: "cd".repeat(32),
      }),
      aiGymRecord({ model_name: m, task_type: "reply_drafting", quality_score: 0, duration_seconds: 3 }),
      aiGymRecord({
        model_name: m,
        created_at: "2025-03-01T00:00:00+02:00",
        metadata: { a: [1, "x\ty\\z\n"] },
      }),
    ];
    const before = new Date(Date.now() - 1000);
    const one = await api.request("POST", "/api/v2/ai-gym/records", {
      key: ingest,
      body: { records: records(single) },
    });
    expect(one.status, one.text).toBe(200);
    const res = await post(GYM, ndjson(records(bulk)));
    expect(res.status, res.text).toBe(200);
    expectDocumented(res, "POST", GYM);
    expect(res.body).toMatchObject({ accepted: 3, rejected: 0, errors: [], errors_total: 0 });

    const strip = (rows: Record<string, unknown>[]) =>
      rows.map(({ model_name: _m, created_at, ...r }) => ({
        ...r,
        // The defaulted created_at is each request's clock.
        created_at: (created_at as Date) > before ? "now" : created_at,
      }));
    const stored = await gymRows(bulk);
    expect(stored).toHaveLength(3);
    expect(strip(stored)).toEqual(strip(await gymRows(single)));
    expect(stored.map((r) => r.partition)).toContain("ai_gym_performance_default");

    const { rows: audits } = await api.db.primary.query(
      "SELECT action, principal_type, details FROM audit_log WHERE resource_id = $1",
      [res.body.load_id],
    );
    expect(audits).toEqual([
      {
        action: "ai_gym.bulk_loaded",
        principal_type: "api_key",
        details: { accepted: 3, rejected: 0, atomic: false },
      },
    ]);
    const [event, ...more] = await outboxOf("ai_gym.bulk_loaded", res.body.load_id);
    expect(more).toEqual([]);
    expect(event.payload).toEqual({
      load_id: res.body.load_id,
      accepted: 3,
      rejected: 0,
      created_from: "2025-02-28T22:00:00.000Z",
      created_to: expect.any(String),
    });
    events.assertValid({ ...event, occurred_at: event.occurred_at.toISOString() });
  });

  it("takes a gzip body", async () => {
    const m = model();
    const res = await post(GYM, ndjson([aiGymRecord({ model_name: m }), aiGymRecord({ model_name: m })]), {
      gzip: true,
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.accepted).toBe(2);
    expect(await gymRows(m)).toHaveLength(2);
  });

  it("keeps the good lines and reports each bad one with its line number and JSON Pointer", async () => {
    const m = model();
    const leadId = await createLead(api);
    const body = ndjson([
      aiGymRecord({ model_name: m, lead_id: leadId }),
      "{not json",
      aiGymRecord({ model_name: m, cost: 0.00005 }),
      aiGymRecord({ model_name: m, lead_id: randomUUID() }),
      "",
      aiGymRecord({ model_name: m, created_at: "2999-01-01T00:00:00Z" }),
      "[1, 2]",
      aiGymRecord({ model_name: m, surprise: 1 }),
      `${JSON.stringify(aiGymRecord({ model_name: m }))}\r`,
    ]);
    const res = await post(GYM, `${body}\n`);
    expect(res.status, res.text).toBe(200);
    expectDocumented(res, "POST", GYM);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 6, errors_total: 6, errors_truncated: false });
    expect(res.body.errors).toEqual([
      { line: 2, path: "", message: "not valid JSON" },
      { line: 3, path: "/cost", message: "at most 4 decimal places" },
      { line: 4, path: "/lead_id", message: "no such lead" },
      { line: 6, path: "/created_at", message: "must not be in the future" },
      { line: 7, path: "", message: expect.any(String) },
      { line: 8, path: "", message: expect.stringContaining("surprise") },
    ]);
    expect(await gymRows(m)).toHaveLength(2);
  });

  it("refuses a lead that was erased", async () => {
    const m = model();
    const leadId = await createLead(api);
    const erased = await api.request("DELETE", `/api/v2/leads/${leadId}`);
    expect(erased.status, erased.text).toBe(200);
    const res = await post(GYM, ndjson([aiGymRecord({ model_name: m, lead_id: leadId })]));
    expect(res.body.errors).toEqual([{ line: 1, path: "/lead_id", message: "no such lead" }]);
    expect(await gymRows(m)).toHaveLength(0);
  });

  it("with atomic=true, refuses the whole load for one bad line, even after whole chunks were copied", async () => {
    const m = model();
    const lines = Array.from({ length: 10_050 }, () => aiGymRecord({ model_name: m }));
    const res = await post(GYM, ndjson([...lines, aiGymRecord({ model_name: m, quality_score: 101 })]), {
      query: "atomic=true",
      gzip: true,
    });
    expectProblem(res, 422, "bulk-load-refused", GYM);
    expect(res.body).toMatchObject({ rejected: 1, errors_total: 1 });
    expect(res.body.errors).toEqual([
      { location: "body", line: 10_051, path: "/quality_score", message: expect.any(String) },
    ]);
    expect(await gymRows(m)).toHaveLength(0);
    const { rows } = await api.db.primary.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = 'ai_gym.bulk_loaded' AND request_id = $1",
      [res.body.request_id],
    );
    expect(rows[0].n).toBe(0);
  });

  it("lists at most 1000 line errors, first lines first, and counts them all", async () => {
    const lines = Array.from({ length: 1_200 }, (_, i) =>
      i % 2 ? "nope" : aiGymRecord({ quality_score: -1 }),
    );
    const res = await post(GYM, ndjson(lines));
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      accepted: 0,
      rejected: 1_200,
      errors_total: 1_200,
      errors_truncated: true,
    });
    expect(res.body.errors).toHaveLength(1_000);
    expect(res.body.errors[0].line).toBe(1);
    expect(res.body.errors[999].line).toBe(1_000);
  });

  it("replays the answer for the same Idempotency-Key and body, and writes once", async () => {
    const m = model();
    const body = ndjson([aiGymRecord({ model_name: m })]);
    const headers = { "idempotency-key": `bulk-${randomUUID()}` };
    const first = await post(GYM, body, { headers });
    expect(first.status, first.text).toBe(200);
    const again = await post(GYM, body, { headers });
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(again.text).toBe(first.text);
    expect(await gymRows(m)).toHaveLength(1);
    const other = await post(GYM, ndjson([aiGymRecord({ model_name: m }), aiGymRecord()]), { headers });
    expectProblem(other, 422, "idempotency-key-reused", GYM);
    expect(await gymRows(m)).toHaveLength(1);
  });
});

describe("POST /api/v2/leads:bulk", () => {
  const leadColumns = `company_name, website, domain, source_platform, contact_title, industry, city, region, country_code,
    employee_count, status, consent_source, consent_timestamp, consent_proof_url, email_token, domain_token,
    scraping_job_id, contact_name, contact_email, contact_phone`;
  async function leadRow(domain: string) {
    const { rows } = await api.db.primary.query(
      `SELECT id, ${leadColumns}, created_at, updated_at FROM leads WHERE domain = $1`,
      [domain],
    );
    const row = rows[0];
    if (!row) return undefined;
    for (const k of ["contact_name", "contact_email", "contact_phone"]) {
      expect(row[k] === null || String(row[k]).startsWith("enc:v1:"), k).toBe(true);
      row[k] = decryptField(row[k]);
    }
    return row;
  }
  const domainOf = (l: Record<string, unknown>) => new URL(String(l.website)).hostname.replace(/^www\./, "");
  /** The same lead under another domain, for comparing a single write with a bulk one. */
  const twin = (l: Record<string, unknown>) => {
    const slug = randomBytes(5).toString("hex");
    return { ...l, website: `https://www.twin-${slug}.example`, contact_email: `jane@twin-${slug}.example` };
  };

  it("stores what POST /api/v2/leads stores, with an audit entry and a lead.scraped event per lead", async () => {
    const a = leadInput({ contact_phone: "+49 30 1234", city: "Berlin", employee_count: 12 });
    const b = leadInput({
      website: undefined,
      domain: `WWW.Plain-Domain-${randomBytes(3).toString("hex")}.example`,
    });
    const singleA = twin(a);
    const one = await api.request("POST", "/api/v2/leads", { key: ingest, body: { leads: [singleA] } });
    expect(one.status, one.text).toBe(200);
    const res = await post(LEADS, ndjson([a, b]));
    expect(res.status, res.text).toBe(200);
    expectDocumented(res, "POST", LEADS);
    expect(res.body).toMatchObject({ accepted: 2, rejected: 0, created: 2, updated: 0, errors: [] });

    const bulkRow = await leadRow(domainOf(a));
    const singleRow = await leadRow(domainOf(singleA));
    const comparable = (r: Record<string, unknown>) => {
      const { id: _i, created_at: _c, updated_at: _u, email_token: _e, domain_token: _d, ...rest } = r;
      return {
        ...rest,
        website: null,
        domain: null,
        contact_email: String(rest.contact_email).replace(/@.*/, ""),
      };
    };
    expect(bulkRow).toBeDefined();
    expect(comparable(bulkRow ?? {})).toEqual(comparable(singleRow ?? {}));
    expect(bulkRow?.website).toBe(new URL(String(a.website)).href);
    expect(bulkRow?.contact_email).toBe(a.contact_email);
    // The tokens are what the single path computes: re-ingesting the lead singly finds it (an update, not a new row).
    const reingest = await api.request("POST", "/api/v2/leads", { key: ingest, body: { leads: [a] } });
    expect(reingest.body.data[0]).toMatchObject({ id: bulkRow?.id, outcome: "updated" });
    expect((await leadRow(domainOf(a)))?.email_token).toBe(bulkRow?.email_token);
    const plain = String(b.domain)
      .toLowerCase()
      .replace(/^www\./, "");
    expect((await leadRow(plain))?.domain).toBe(plain);

    const { rows: audits } = await api.db.primary.query(
      "SELECT action, resource_id FROM audit_log WHERE request_id = $1 ORDER BY action",
      [res.headers.get("x-request-id")],
    );
    expect(audits.map((r) => r.action)).toEqual(["lead.bulk_loaded", "lead.created", "lead.created"]);
    const { rows: scraped } = await api.db.primary.query(
      `SELECT id, type, version, occurred_at, correlation_id, payload FROM event_outbox
        WHERE type = 'lead.scraped' AND correlation_id = $1`,
      [res.headers.get("x-correlation-id")],
    );
    expect(scraped.map((e) => e.payload.lead_id).sort()).toEqual(
      audits
        .filter((r) => r.action === "lead.created")
        .map((r) => r.resource_id)
        .sort(),
    );
    for (const e of scraped) events.assertValid({ ...e, occurred_at: e.occurred_at.toISOString() });
    expect(scraped[0].payload).toMatchObject({ outcome: "created", source_platform: "google_maps" });
  });

  it("upserts by (domain, source_platform), refuses a repeated key and suppressed leads line by line", async () => {
    const existing = leadInput({ city: "Hamburg" });
    const id = await createLead(api, existing);
    const erasedInput = leadInput();
    const erasedId = await createLead(api, erasedInput);
    expect((await api.request("DELETE", `/api/v2/leads/${erasedId}`)).status).toBe(200);
    const fresh = leadInput();
    const otherEmail = leadInput({ contact_email: erasedInput.contact_email });
    const res = await post(
      LEADS,
      ndjson([
        { ...existing, city: undefined, industry: "orthodontist" },
        fresh,
        { ...fresh, company_name: "Again" },
        erasedInput,
        otherEmail,
        { ...fresh, source_platform: "yelp" },
      ]),
      { gzip: true },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ accepted: 3, created: 2, updated: 1, rejected: 3 });
    expect(res.body.errors).toEqual([
      { line: 3, path: "/domain", message: "same domain and source_platform as line 2" },
      {
        line: 4,
        path: "/contact_email",
        message: "this email is suppressed",
        suppression_id: expect.any(String),
        kind: "email",
      },
      {
        line: 4,
        path: "/domain",
        message: "this domain is suppressed",
        suppression_id: expect.any(String),
        kind: "domain",
      },
      {
        line: 5,
        path: "/contact_email",
        message: "this email is suppressed",
        suppression_id: expect.any(String),
        kind: "email",
      },
    ]);
    const updated = await leadRow(domainOf(existing));
    expect(updated).toMatchObject({ id, city: "Hamburg", industry: "orthodontist" });
    expect((await leadRow(domainOf(fresh)))?.company_name).toBe(fresh.company_name);
    expect(await leadRow(domainOf(otherEmail))).toBeUndefined();
  });

  it("with atomic=true, writes nothing when a line is refused by the database's checks", async () => {
    const fresh = leadInput();
    const res = await post(LEADS, ndjson([fresh, leadInput(), fresh]), { query: "atomic=true" });
    expectProblem(res, 422, "bulk-load-refused", LEADS);
    expect(res.body.errors).toEqual([
      { location: "body", line: 3, path: "/domain", message: "same domain and source_platform as line 1" },
    ]);
    expect(await leadRow(domainOf(fresh))).toBeUndefined();
  });

  it("counts the load into its scraping job, and refuses an unknown one before reading", async () => {
    const job = await api.request("POST", "/api/v2/scraping/jobs", {
      key: ingest,
      body: { source_type: "google_maps", query: { keyword: "dentist" } },
    });
    expect(job.status, job.text).toBe(201);
    const jobId = job.body.id;
    const lead = leadInput();
    const res = await post(LEADS, ndjson([lead]), { query: `scraping_job_id=${jobId}` });
    expect(res.status, res.text).toBe(200);
    expect((await leadRow(domainOf(lead)))?.scraping_job_id).toBe(jobId);
    const { rows } = await api.db.primary.query(
      "SELECT leads_found, leads_created FROM scraping_jobs WHERE id = $1",
      [jobId],
    );
    expect(rows[0]).toEqual({ leads_found: 1, leads_created: 1 });
    const unknown = await post(LEADS, ndjson([leadInput()]), { query: `scraping_job_id=${randomUUID()}` });
    expectProblem(unknown, 422, "validation-failed", LEADS);
  });
});

describe("bulk loads refuse what they cannot read: a 4xx problem and nothing written", () => {
  async function gymCount() {
    const { rows } = await api.db.primary.query("SELECT count(*)::int AS n FROM ai_gym_performance");
    return rows[0].n as number;
  }
  const good = ndjson([aiGymRecord(), aiGymRecord()]);

  it.each([
    [
      "a corrupt gzip body",
      () =>
        post(GYM, Buffer.concat([gzipSync(good).subarray(0, 20), Buffer.from("garbage")]), {
          headers: { "content-encoding": "gzip" },
        }),
      400,
      "malformed-gzip",
    ],
    [
      "a body that is not gzip, sent as gzip",
      () => post(GYM, good, { headers: { "content-encoding": "gzip" } }),
      400,
      "malformed-gzip",
    ],
    [
      "application/json",
      () => post(GYM, good, { headers: { "content-type": "application/json" } }),
      415,
      "unsupported-media-type",
    ],
    [
      "an unsupported content coding",
      () => post(GYM, good, { headers: { "content-encoding": "br" } }),
      415,
      "unsupported-media-type",
    ],
    ["an empty body", () => post(GYM, ""), 400, "empty-body"],
    ["only blank lines", () => post(GYM, "\n\n  \n"), 400, "empty-body"],
    [
      "a line over 64 KiB",
      () => post(GYM, ndjson([aiGymRecord(), aiGymRecord({ metadata: { pad: "x".repeat(70_000) } })])),
      413,
      "line-too-large",
    ],
    ["an unknown query parameter", () => post(GYM, good, { query: "atomik=true" }), 422, "validation-failed"],
    [
      "atomic that is not a boolean",
      () => post(GYM, good, { query: "atomic=yes" }),
      422,
      "validation-failed",
    ],
  ] as const)("%s", async (_name, send, status, type) => {
    const before = await gymCount();
    expectProblem(await send(), status, type, GYM);
    expect(await gymCount()).toBe(before);
  });

  it("the same guards hold for leads", async () => {
    const lead = leadInput();
    expectProblem(
      await post(LEADS, ndjson([lead]), { headers: { "content-type": "text/plain" } }),
      415,
      "unsupported-media-type",
      LEADS,
    );
    expectProblem(
      await post(LEADS, Buffer.from("not gzip"), { headers: { "content-encoding": "gzip" } }),
      400,
      "malformed-gzip",
      LEADS,
    );
    expect(await leadRow(domainOf(lead))).toBeUndefined();
    async function leadRow(domain: string) {
      return (await api.db.primary.query("SELECT 1 FROM leads WHERE domain = $1", [domain])).rows[0];
    }
    function domainOf(l: Record<string, unknown>) {
      return new URL(String(l.website)).hostname.replace(/^www\./, "");
    }
  });

  it("is reached by its literal path only (the colon is not an express parameter)", async () => {
    const res = await post("/api/v2/ai-gym/recordsbulk", good);
    expect(res.status).toBe(404);
    expect((await post("/api/v2/leadsXbulk", ndjson([leadInput()]))).status).toBe(404);
  });

  it("needs the ingest scope", async () => {
    const analytics = await api.keyWith("analytics:read");
    for (const path of [GYM, LEADS]) {
      expectProblem(await post(path, good, { key: null }), 401, "unauthorized", path);
      expectProblem(await post(path, good, { key: analytics }), 403, "insufficient-scope", path);
    }
  });

  it("stops at an over-long line whether it ends in the chunk or runs past it", async () => {
    for (const chunks of [
      [`{"a":1}\n{"a":"${"x".repeat(200)}"}\n`],
      [`{"a":1}\n{"a":"${"x".repeat(90)}`, `${"x".repeat(90)}"}`],
    ]) {
      const req = Object.assign(new PassThrough(), {
        method: "POST",
        originalUrl: "/x",
        get: () => undefined,
      });
      const body = new NdjsonBody(req as unknown as Request, { maxLineBytes: 100, maxBytes: 10_000 });
      for (const c of chunks) req.write(c);
      req.end();
      const seen: number[] = [];
      await expect(async () => {
        for await (const item of body.items(z.object({ a: z.unknown() }))) seen.push(item.line);
      }).rejects.toMatchObject({ status: 413, code: "line-too-large", extensions: { line: 2 } });
      expect(seen).toEqual([1]);
    }
  });

  it("stops at the decompressed size limit (a gzip bomb)", async () => {
    const req = Object.assign(new PassThrough(), {
      method: "POST",
      originalUrl: "/x",
      get: (h: string) => (h.toLowerCase() === "content-encoding" ? "gzip" : undefined),
    });
    const body = new NdjsonBody(req as unknown as Request, { maxLineBytes: 1024, maxBytes: 20_000 });
    req.end(gzipSync(Buffer.from(`${'{"a":1}\n'.repeat(5_000)}`)));
    const seen: number[] = [];
    await expect(async () => {
      for await (const item of body.items(z.object({ a: z.number() }))) seen.push(item.line);
    }).rejects.toMatchObject({ status: 413, code: "payload-too-large" });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(5_000);
  });
});

describe("RejectionLog", () => {
  it("keeps memory bounded however many lines are refused, and reports the first ones", () => {
    const log = new RejectionLog(10);
    for (let line = 50_000; line >= 1; line--) log.reject(line, [{ path: "/x", message: "bad" }]);
    // biome-ignore lint/complexity/useLiteralKeys: `kept` is private; the test reads it to prove the bound
    expect(log["kept"].length).toBeLessThanOrEqual(20);
    const report = log.report("id", 0);
    expect(report.errors.map((e) => e.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(report).toMatchObject({ rejected: 50_000, errors_total: 50_000, errors_truncated: true });
  });
});

describe("the AI-GYM fast path agrees with AiGymRecordInput", () => {
  // The first value is valid and drawn most often, so generated records are often valid as a whole.
  const pick = (first: unknown, ...others: unknown[]) =>
    fc.oneof(
      { arbitrary: fc.constant(first), weight: 12 },
      { arbitrary: fc.constantFrom(...others), weight: 1 },
    );
  const record = fc.record(
    {
      task_type: pick("email_copy", "reply_drafting", "Email", "email copy", "e".repeat(51), "a", 3),
      model_name: pick("gpt-5", " gpt-5", "gpt-5 ", "", "m".repeat(50), "m".repeat(51), null),
      cost: pick(0, 0.1234, 0.00005, -1, 999_999.9999, 1_000_000, 1e-7, 1.5, "0.1", -0),
      duration_seconds: pick(0, 3, -1, 2.5, 2_147_483_647, 2_147_483_648, "3"),
      quality_score: pick(0, 100, 101, -1, 50.5, null),
      prompt_hash: pick("ab".repeat(32), "AB".repeat(32), "ab".repeat(31), "zz".repeat(32)),
      response_hash: pick("cd".repeat(32), "x"),
      lead_id: pick(randomUUID(), randomUUID().toUpperCase(), "0b5e7a8e-3f0c-9f59-9a51-0d4b7a1c2e3f", "nope"),
      conversion_metric: pick(0.085, 0.00001, -0.5, null),
      metadata: pick({}, { a: 1 }, [], null, "x", JSON.parse('{"__proto__": {"x": 1}}')),
      created_at: pick(
        "2026-01-10T08:00:00Z",
        "2026-01-10T08:00:00.123+02:00",
        "2026-01-10T08:00Z",
        "2026-02-30T00:00:00Z",
        "2024-02-29T00:00:00Z",
        "2025-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2999-01-01T00:00:00Z",
        "2026-01-10T08:00:00",
        "2026-01-10 08:00:00Z",
        "2026-01-10T08:00:00.123456789Z",
      ),
      surprise: fc.constant(1),
    },
    { requiredKeys: [] },
  );

  it("accepts only what zod accepts, with the same output", () => {
    let accepted = 0;
    withRequestClock(new Date("2026-06-01T00:00:00Z"), () =>
      fc.assert(
        fc.property(record, (input) => {
          const value = JSON.parse(JSON.stringify(input));
          const quick = fastAiGymRecord(value);
          if (quick === null) return;
          accepted++;
          const parsed = AiGymRecordInput.safeParse(value);
          expect(parsed.success, JSON.stringify(value)).toBe(true);
          expect(quick).toEqual(parsed.data);
        }),
        { numRuns: 20_000 },
      ),
    );
    // It must also take the common case, or it is no fast path.
    expect(accepted).toBeGreaterThan(200);
    expect(
      fastAiGymRecord(
        aiGymRecord({ created_at: "2026-01-10T08:00:00Z", lead_id: randomUUID(), metadata: { a: 1 } }),
      ),
    ).not.toBeNull();
  });
});
