import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { type ApiResponse, expectDocumented, startApi, type TestApi } from "../support/api.js";
import { leadInput } from "../support/factories.js";
import { aiGymRecord } from "../support/factories-work.js";

// Group commit (src/rest/write-groups.ts, mount.ts commitGroup): concurrent single-event writes share a
// transaction, and each request still gets the answer, audit rows and events it would have had alone.
const grouped = await startApi();
const alone = await startApi({ writeGroups: { maxRequests: 1, maxInFlight: 2 } });
const N = 40;
const AI_GYM = "/api/v2/ai-gym/records";

const tag = () => `gc-${randomBytes(4).toString("hex")}`;
const ids = (responses: ApiResponse[]) =>
  responses.flatMap((r) => r.body.data.map((d: { id: string }) => d.id));

/** Transactions the rows of `model` were committed in (rows inserted by one transaction share its xmin). */
async function transactionsOf(api: TestApi, model: string): Promise<number> {
  const { rows } = await api.db.primary.query<{ n: number }>(
    "SELECT count(DISTINCT xmin::text)::int AS n FROM ai_gym_performance WHERE model_name = $1",
    [model],
  );
  return rows[0]?.n ?? 0;
}

function concurrently<T>(n: number, request: (i: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => request(i)));
}

describe("group commit of single-event writes", () => {
  it("commits concurrent requests in shared transactions; with grouping off, one each", async () => {
    const model = tag();
    const post = (api: TestApi) => () =>
      api.request("POST", AI_GYM, { body: { records: [aiGymRecord({ model_name: model })] } });
    const responses = await concurrently(N, post(grouped));
    for (const r of responses) expect(r.status, r.text).toBe(200);
    expectDocumented(responses[0] as ApiResponse, "POST", AI_GYM);
    expect(new Set(ids(responses)).size).toBe(N);
    // Two slots run at once and each next batch takes everything that queued meanwhile.
    expect(await transactionsOf(grouped, model)).toBeLessThan(N / 2);

    const control = tag();
    const solo = await concurrently(N, () =>
      alone.request("POST", AI_GYM, { body: { records: [aiGymRecord({ model_name: control })] } }),
    );
    for (const r of solo) expect(r.status, r.text).toBe(200);
    expect(await transactionsOf(alone, control)).toBe(N);
  });

  it("audits each request under its own request id and principal, and answers each its own ids", async () => {
    const model = tag();
    const keys = await Promise.all([grouped.keyWith("ingest"), grouped.keyWith("ingest")]);
    const responses = await concurrently(N, (i) =>
      grouped.request("POST", AI_GYM, {
        key: keys[i % 2] as string,
        body: { records: [aiGymRecord({ model_name: model }), aiGymRecord({ model_name: model })] },
      }),
    );
    expect(await transactionsOf(grouped, model)).toBeLessThan(N / 2);
    const { rows } = await grouped.db.primary.query<{
      resource_id: string;
      request_id: string;
      principal_id: string;
    }>(
      `SELECT resource_id, request_id, principal_id FROM audit_log
        WHERE action = 'ai_gym.recorded' AND resource_id = ANY($1::text[])`,
      [ids(responses)],
    );
    const audit = new Map(rows.map((r) => [r.resource_id, r]));
    const principals = new Set<string>();
    for (const r of responses) {
      expect(r.body.meta).toEqual({ inserted: 2 });
      for (const { id } of r.body.data as { id: string }[]) {
        expect(audit.get(id)?.request_id).toBe(r.headers.get("x-request-id"));
        principals.add(audit.get(id)?.principal_id ?? "");
      }
    }
    expect(principals.size).toBe(2);
  });

  it("gives a request that would fail alone its own problem, and keeps the others' writes", async () => {
    const model = tag();
    const missingLead = randomUUID();
    const responses = await concurrently(N, (i) =>
      grouped.request("POST", AI_GYM, {
        body: {
          records: [aiGymRecord({ model_name: model, ...(i === 7 ? { lead_id: missingLead } : {}) })],
        },
      }),
    );
    const bad = responses[7] as ApiResponse;
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual([
      { location: "body", path: "/records/0/lead_id", message: "no such lead" },
    ]);
    const good = responses.filter((_, i) => i !== 7);
    for (const r of good) expect(r.status, r.text).toBe(200);
    const { rows } = await grouped.db.primary.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM ai_gym_performance WHERE model_name = $1",
      [model],
    );
    expect(rows[0]?.n).toBe(N - 1);
    // The batch holding the bad request was split until it ran alone; the good ones still shared transactions.
    expect(await transactionsOf(grouped, model)).toBeLessThan(N / 2);
  });

  it("upserts leads of concurrent requests, each event under its request's correlation id", async () => {
    const responses = await concurrently(N, (i) =>
      grouped.request("POST", "/api/v2/leads", {
        headers: { "x-correlation-id": `gc-lead-${i}` },
        body: { leads: [leadInput()] },
      }),
    );
    for (const r of responses) expect(r.status, r.text).toBe(200);
    const leadIds = ids(responses);
    const { rows } = await grouped.db.primary.query<{
      lead_id: string;
      correlation_id: string;
      xmin: string;
    }>(
      `SELECT o.payload->>'lead_id' AS lead_id, o.correlation_id, l.xmin::text AS xmin
         FROM event_outbox o JOIN leads l ON l.id = (o.payload->>'lead_id')::uuid
        WHERE o.type = 'lead.scraped' AND o.payload->>'lead_id' = ANY($1::text[])`,
      [leadIds],
    );
    const byLead = new Map(rows.map((r) => [r.lead_id, r]));
    for (const [i, r] of responses.entries()) {
      expect(r.body.meta).toEqual({ created: 1, updated: 0 });
      expect(byLead.get(r.body.data[0].id)?.correlation_id).toBe(`gc-lead-${i}`);
    }
    expect(new Set(rows.map((r) => r.xmin)).size).toBeLessThan(N / 2);
  });

  it("runs two requests upserting the same lead one after the other: one creates it, one updates it", async () => {
    const lead = leadInput();
    const others = await concurrently(N, (i) =>
      grouped.request("POST", "/api/v2/leads", { body: { leads: [i % 2 === 0 ? lead : leadInput()] } }),
    );
    for (const r of others) expect(r.status, r.text).toBe(200);
    const same = others.filter((_, i) => i % 2 === 0);
    expect(new Set(same.map((r) => r.body.data[0].id)).size).toBe(1);
    const outcomes = same.map((r) => r.body.data[0].outcome).sort();
    expect(outcomes.filter((o: string) => o === "created")).toHaveLength(1);
    expect(outcomes.filter((o: string) => o === "updated")).toHaveLength(N / 2 - 1);
  });

  it("groups leads only with requests for the same scraping job", async () => {
    const jobs = await concurrently(2, async () => {
      const r = await grouped.request("POST", "/api/v2/scraping/jobs", {
        body: { source_type: tag().replace("-", "_"), query: { keyword: "dentist", location: "Berlin" } },
      });
      expect(r.status, r.text).toBe(201);
      return r.body.id as string;
    });
    const responses = await concurrently(N, (i) =>
      grouped.request("POST", "/api/v2/leads", {
        body: { scraping_job_id: jobs[i % 2], leads: [leadInput()] },
      }),
    );
    for (const r of responses) expect(r.status, r.text).toBe(200);
    const { rows } = await grouped.db.primary.query<{
      id: string;
      leads_found: number;
      leads_created: number;
    }>("SELECT id, leads_found, leads_created FROM scraping_jobs WHERE id = ANY($1::uuid[])", [jobs]);
    expect(rows.map((r) => [r.leads_found, r.leads_created])).toEqual([
      [N / 2, N / 2],
      [N / 2, N / 2],
    ]);
    const stored = await grouped.db.primary.query<{ scraping_job_id: string; id: string }>(
      "SELECT id, scraping_job_id FROM leads WHERE id = ANY($1::uuid[])",
      [ids(responses)],
    );
    const jobOf = new Map(stored.rows.map((r) => [r.id, r.scraping_job_id]));
    for (const [i, r] of responses.entries()) expect(jobOf.get(r.body.data[0].id)).toBe(jobs[i % 2]);
    // Each job's requests still shared transactions: one group key per job, not one batch mixing them (which would
    // fail and fall apart into single requests).
    const xmins = await grouped.db.primary.query<{ job: string; n: number }>(
      `SELECT scraping_job_id AS job, count(DISTINCT xmin::text)::int AS n FROM leads
        WHERE id = ANY($1::uuid[]) GROUP BY 1`,
      [ids(responses)],
    );
    for (const r of xmins.rows) expect(r.n, r.job).toBeLessThan(N / 4);
  });
});

describe("group commit of email reports", () => {
  /** `n` sends claimed by `sender-gc`, straight in the database (the claim path is tested elsewhere). */
  async function claimedSends(n: number): Promise<string[]> {
    const db = grouped.db.primary;
    const campaign = await db.query<{ id: string }>(
      `INSERT INTO campaigns (name, daily_limit, send_window, status)
       VALUES ('group commit', 1000, '{"timezone":"UTC","days":["mon"],"start_hour":0,"end_hour":24}', 'active')
       RETURNING id`,
    );
    const lead = await db.query<{ id: string }>(
      `INSERT INTO leads (company_name, domain, source_platform, consent_source, consent_timestamp)
       VALUES ('Group Co', $1, 'test', 'test', NOW()) RETURNING id`,
      [`${tag()}.example`],
    );
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, tracking_token, status, lease_owner,
                                lease_expires_at)
       SELECT $1, $2, 'Hi', 'Hello', gen_random_uuid(), 'sending', 'sender-gc', NOW() + interval '1 hour'
         FROM generate_series(1, $3) RETURNING id`,
      [campaign.rows[0]?.id, lead.rows[0]?.id, n],
    );
    return rows.map((r) => r.id);
  }

  it("reports concurrent sends in shared transactions; a report that fails alone gets its own 409", async () => {
    const ids = await claimedSends(N);
    const responses = await concurrently(N, (i) =>
      grouped.request("POST", `/api/v2/email/${ids[i]}/report`, {
        headers: { "x-correlation-id": `gc-report-${i}` },
        body: { sender_id: i === 5 ? "someone-else" : "sender-gc", outcome: i % 3 === 0 ? "failed" : "sent" },
      }),
    );
    expect((responses[5] as ApiResponse).status).toBe(409);
    const { rows } = await grouped.db.primary.query<{ id: string; status: string; xmin: string }>(
      "SELECT id, status, xmin::text AS xmin FROM email_sends WHERE id = ANY($1::uuid[])",
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [i, r] of responses.entries()) {
      if (i === 5) {
        expect(byId.get(ids[i] as string)?.status).toBe("sending");
        continue;
      }
      expect(r.status, r.text).toBe(200);
      expectDocumented(r, "POST", "/api/v2/email/{id}/report");
      const outcome = i % 3 === 0 ? "failed" : "sent";
      expect(r.body).toMatchObject({ email_send_id: ids[i], status: outcome });
      expect(byId.get(ids[i] as string)?.status).toBe(outcome);
    }
    expect(new Set(rows.map((r) => r.xmin)).size).toBeLessThan(N / 2);
    const events = await grouped.db.primary.query<{ correlation_id: string; id: string }>(
      `SELECT correlation_id, payload->>'email_send_id' AS id FROM event_outbox
        WHERE type = 'email.sent' AND payload->>'email_send_id' = ANY($1::text[])`,
      [ids],
    );
    const sent = ids.flatMap((id, i) =>
      i === 5 || i % 3 === 0 ? [] : [{ correlation_id: `gc-report-${i}`, id }],
    );
    expect(events.rows.sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      sent.sort((a, b) => a.id.localeCompare(b.id)),
    );
  });
});
