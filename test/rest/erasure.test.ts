import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectDocumented, startApi } from "../support/api.js";
import { dumpInSql, needleForms } from "../support/dump.js";
import { leadInput } from "../support/factories.js";

// Its own clock, decades before any other file's, so that its work claims see only its own items.
const api = await startApi({ now: new Date("1960-01-01T00:00:00Z") });
const q = async (sql: string, params: unknown[] = []) => (await api.db.primary.query(sql, params)).rows;

/** A lead through the REST pipeline: ingested, analysed, a demo and a video deployed by a worker, a conversation. */
async function leadWithAssets(overrides: Record<string, unknown> = {}) {
  const input = leadInput(overrides);
  const ingested = await api.request("POST", "/api/v2/leads", { body: { leads: [input] } });
  expect(ingested.status, ingested.text).toBe(200);
  const leadId: string = ingested.body.data[0].id;
  const analysis = await api.request("POST", `/api/v2/analysis/${leadId}`, { body: {} });
  expect(analysis.status, analysis.text).toBe(202);
  const demo = await api.request("POST", "/api/v2/demos", {
    body: { lead_id: leadId, analysis_id: analysis.body.analysis_id },
  });
  expect(demo.status, demo.text).toBe(202);
  const demoUrl = `https://demos.example/${randomUUID()}`;
  await complete("demo", demo.body.demo_id, { deployment_url: demoUrl, model_used: "claude-4.5-sonnet" });
  const video = await api.request("POST", `/api/v2/videos/${leadId}`, { body: {} });
  expect(video.status, video.text).toBe(202);
  const videoUrl = `https://videos.example/${randomUUID()}.mp4`;
  await complete("video", video.body.video_id, { video_url: videoUrl, duration_seconds: 61 });
  const domain = new URL(String(input.website)).hostname.replace(/^www\./, "");
  const withDomain: Record<string, unknown> & { domain: string } = { ...input, domain };
  return { input: withDomain, leadId, demoUrl, videoUrl };
}

async function complete(kind: "demo" | "video", id: string, result: Record<string, unknown>) {
  const claimed = await api.request("POST", `/api/v2/work/${kind}/claim`, {
    body: { worker_id: "eraser", limit: 50 },
  });
  expect(claimed.status, claimed.text).toBe(200);
  expect(claimed.body.data.map((w: { id: string }) => w.id)).toContain(id);
  const done = await api.request("POST", `/api/v2/work/${kind}/${id}/complete`, {
    body: { worker_id: "eraser", ...result },
  });
  expect(done.status, done.text).toBe(200);
}

describe("DELETE /api/v2/leads/{id} (GDPR erasure)", () => {
  it("tombstones the lead, strips its PII everywhere, keeps the rows metrics count, audits and emits lead.erased", async () => {
    const { input, leadId, demoUrl, videoUrl } = await leadWithAssets({ contact_phone: "+1 555 0100 7788" });
    const [campaign] = await q("INSERT INTO campaigns (name) VALUES ('erasure') RETURNING id");
    const [conversation] = await q(
      'INSERT INTO conversations (lead_id, campaign_id, thread_metadata) VALUES ($1, $2, \'{"subject":"Re: Acme"}\') RETURNING id',
      [leadId, campaign?.id],
    );
    await q(
      `INSERT INTO conversation_messages (conversation_id, direction, from_email, subject, body, sentiment)
       VALUES ($1, 'inbound', $2, 'Re: your demo', 'Sounds great, call me on Tuesday', 'positive')`,
      [conversation?.id, input.contact_email],
    );
    const [meeting] = await q(
      "INSERT INTO meetings (lead_id, campaign_id, conversation_id) VALUES ($1, $2, $3) RETURNING id",
      [leadId, campaign?.id, conversation?.id],
    );
    await q(
      "INSERT INTO deals (lead_id, campaign_id, meeting_id, status, amount, won_at) VALUES ($1, $2, $3, 'won', 1250.00, NOW())",
      [leadId, campaign?.id, meeting?.id],
    );
    await q(
      `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, demo_url, tracking_token, status, sent_at, opened_at)
       VALUES ($1, $2, 'Hi Jane', 'Dear Jane, see your demo', $3, $4, 'sent', NOW(), NOW())`,
      [campaign?.id, leadId, demoUrl, randomUUID()],
    );
    // A stored idempotent response that quotes the lead, one that quotes its address, and a bounce text.
    const replayKey = `erase-${leadId}`;
    await api.request("POST", "/api/v2/conversations", {
      body: { lead_id: leadId },
      headers: { "idempotency-key": replayKey },
    });
    await q(
      `INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_method, request_path, request_hash, status,
                                     response_status, response_body, expires_at)
       SELECT id, $1, 'POST', '/api/v2/email/claim', repeat('0', 64), 'completed', 200, convert_to($2, 'UTF8'),
              NOW() + interval '1 day'
         FROM api_keys LIMIT 1`,
      [`claim-${leadId}`, `{"to_email":"${input.contact_email}"}`],
    );
    await q("UPDATE email_sends SET last_error = $2 WHERE lead_id = $1", [
      leadId,
      `550 ${input.contact_email}: no such user`,
    ]);
    // The contact PII is stored encrypted, not as the plaintext.
    const [stored] = await q("SELECT contact_email, contact_name, email_token FROM leads WHERE id = $1", [
      leadId,
    ]);
    expect(stored?.contact_email).toMatch(/^enc:v1:/);
    expect(stored?.contact_name).not.toContain("Jane");
    expect(stored?.email_token).toMatch(/^[0-9a-f]{64}$/);

    const res = await api.request("DELETE", `/api/v2/leads/${leadId}`, {
      headers: { "x-correlation-id": `erase-${leadId}` },
    });
    expect(res.status, res.text).toBe(200);
    expectDocumented(res, "DELETE", "/api/v2/leads/{id}");
    expect(res.body).toMatchObject({
      id: leadId,
      already_erased: false,
      erased_at: "1960-01-01T00:00:00.000Z",
    });
    expect(res.body.erased).toMatchObject({
      leads: 1,
      website_analyses: 1,
      demo_sites: 1,
      videos: 1,
      email_sends: 1,
      conversations: 2,
      conversation_messages: 1,
      events_redacted: 2,
      suppressions: 2,
    });
    expect(res.body.erased.idempotent_responses_deleted).toBeGreaterThanOrEqual(2);

    // The tombstone and the metric-bearing rows are still there, without PII.
    const [lead] = await q("SELECT * FROM leads WHERE id = $1", [leadId]);
    expect(lead).toMatchObject({
      company_name: "",
      website: null,
      domain: null,
      contact_name: null,
      contact_email: null,
      contact_phone: null,
      consent_proof_url: null,
      email_token: stored?.email_token,
    });
    expect(lead?.erased_at).toBeInstanceOf(Date);
    const [send] = await q(
      "SELECT lead_id, body, subject_variant, demo_url, last_error, opened_at FROM email_sends WHERE campaign_id = $1",
      [campaign?.id],
    );
    expect(send).toMatchObject({
      lead_id: leadId,
      body: null,
      subject_variant: null,
      demo_url: null,
      last_error: null,
    });
    expect(send?.opened_at).toBeInstanceOf(Date);
    const [message] = await q(
      "SELECT direction, sentiment, from_email, subject, body FROM conversation_messages WHERE conversation_id = $1",
      [conversation?.id],
    );
    expect(message).toEqual({
      direction: "inbound",
      sentiment: "positive",
      from_email: null,
      subject: null,
      body: null,
    });
    expect(
      (await q("SELECT status, deployment_url FROM demo_sites WHERE lead_id = $1", [leadId]))[0],
    ).toEqual({
      status: "deployed",
      deployment_url: null,
    });
    const [deal] = await q("SELECT lead_id, amount::text FROM deals WHERE campaign_id = $1", [campaign?.id]);
    expect(deal).toEqual({ lead_id: leadId, amount: "1250.00" });
    expect(
      await q("SELECT 1 FROM idempotency_keys WHERE idempotency_key = ANY($1)", [
        [replayKey, `claim-${leadId}`],
      ]),
    ).toEqual([]);

    // The feed keeps the lead's events without their URLs; they still match their schemas (the feed validates).
    const assetEvents = await q(
      "SELECT type, payload FROM event_outbox WHERE payload->>'lead_id' = $1 AND type IN ('demo.deployed', 'video.ready')",
      [leadId],
    );
    expect(assetEvents.map((e) => e.type).sort()).toEqual(["demo.deployed", "video.ready"]);
    for (const e of assetEvents) {
      expect(e.payload[e.type === "demo.deployed" ? "deployment_url" : "video_url"], e.type).toBeNull();
    }

    // Audited without PII, and lead.erased emitted.
    const audits = await q(
      "SELECT details FROM audit_log WHERE action = 'lead.erased' AND resource_id = $1",
      [leadId],
    );
    expect(audits).toHaveLength(1);
    expect(audits[0]?.details).toMatchObject({ reason: "request", suppressed: true, leads: 1 });
    const events = await q(
      "SELECT payload FROM event_outbox WHERE type = 'lead.erased' AND correlation_id = $1",
      [`erase-${leadId}`],
    );
    expect(events).toEqual([{ payload: { lead_id: leadId, erased_at: "1960-01-01T00:00:00.000Z" } }]);

    // Nothing of the lead's PII is left in the database.
    const dump = await dumpInSql(api.db.primary);
    expect(dump).toContain(leadId);
    const pii = [
      input.contact_email,
      input.contact_name,
      input.contact_phone,
      input.website,
      input.domain,
      input.company_name,
      demoUrl,
      videoUrl,
      "Sounds great, call me on Tuesday",
      "Dear Jane, see your demo",
    ].filter((v): v is string => typeof v === "string");
    expect(pii.length).toBeGreaterThanOrEqual(9);
    for (const value of pii) {
      for (const form of needleForms(value)) expect(dump.includes(form), value).toBe(false);
    }
  });

  it("is idempotent: a second erasure changes nothing and says when the first one was", async () => {
    const { leadId } = await leadWithAssets();
    expect((await api.request("DELETE", `/api/v2/leads/${leadId}`)).status).toBe(200);
    const auditsBefore = await q("SELECT count(*)::int AS n FROM audit_log WHERE resource_id = $1", [leadId]);
    const again = await api.request("DELETE", `/api/v2/leads/${leadId}`);
    expect(again.status, again.text).toBe(200);
    expectDocumented(again, "DELETE", "/api/v2/leads/{id}");
    expect(again.body).toMatchObject({ already_erased: true, erased_at: "1960-01-01T00:00:00.000Z" });
    expect(Object.values(again.body.erased).every((n) => n === 0)).toBe(true);
    expect(await q("SELECT count(*)::int AS n FROM audit_log WHERE resource_id = $1", [leadId])).toEqual(
      auditsBefore,
    );
    expect((await api.request("DELETE", `/api/v2/leads/${randomUUID()}`)).status).toBe(404);
  });

  it("hides the erased lead and refuses writes for it, through the API and in the database", async () => {
    const { leadId } = await leadWithAssets();
    const [conversation] = await q("INSERT INTO conversations (lead_id) VALUES ($1) RETURNING id", [leadId]);
    expect((await api.request("DELETE", `/api/v2/leads/${leadId}`)).status).toBe(200);

    expect((await api.request("GET", `/api/v2/leads/${leadId}`)).status).toBe(404);
    const listed = await api.request("GET", "/api/v2/leads?limit=200");
    expect(listed.body.data.map((l: { id: string }) => l.id)).not.toContain(leadId);
    const analysis = await api.request("POST", `/api/v2/analysis/${leadId}`, { body: {} });
    expect(analysis.status).toBe(404);
    const conv = await api.request("POST", "/api/v2/conversations", { body: { lead_id: leadId } });
    expect(conv.status).toBe(422);
    // A write that gets past the API (a worker finishing late, a direct insert) is refused by the database.
    await expect(
      q('INSERT INTO website_analyses (lead_id, findings) VALUES ($1, \'{"site":"x"}\')', [leadId]),
    ).rejects.toMatchObject({ code: "RGE01" });
    await expect(
      q("INSERT INTO conversation_messages (conversation_id, body) VALUES ($1, 'hello again')", [
        conversation?.id,
      ]),
    ).rejects.toMatchObject({ code: "RGE01" });
    await expect(
      q("UPDATE demo_sites SET deployment_url = 'https://demos.example/back' WHERE lead_id = $1", [leadId]),
    ).rejects.toMatchObject({ code: "RGE01" });
    // Live leads are not affected by the guard.
    const { leadId: live } = await leadWithAssets();
    await q("INSERT INTO website_analyses (lead_id) VALUES ($1)", [live]);
  });

  it("suppresses a later ingest of the erased lead (409 lead-suppressed) until an admin lifts it", async () => {
    const { input, leadId } = await leadWithAssets();
    expect((await api.request("DELETE", `/api/v2/leads/${leadId}`)).status).toBe(200);

    // Same domain (as a website URL this time) from another source, and the same email under another domain.
    const again = await api.request("POST", "/api/v2/leads", {
      body: {
        leads: [
          leadInput({
            website: `https://www.${input.domain}/contact`,
            domain: undefined,
            source_platform: "linkedin",
          }),
          leadInput({ contact_email: String(input.contact_email).toUpperCase() }),
        ],
      },
    });
    expect(again.status, again.text).toBe(409);
    expect(again.headers.get("content-type")).toMatch(/application\/problem\+json/);
    expect(again.body.type).toMatch(/lead-suppressed$/);
    expect(again.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      "/leads/0/domain",
      "/leads/1/contact_email",
    ]);
    expect(await q("SELECT 1 FROM leads WHERE domain = $1", [input.domain])).toEqual([]);

    const list = await api.request("GET", `/api/v2/suppressions?lead_id=${leadId}`);
    expect(list.status, list.text).toBe(200);
    expectDocumented(list, "GET", "/api/v2/suppressions");
    expect(list.body.data.map((s: { kind: string }) => s.kind).sort()).toEqual(["domain", "email"]);
    expect(JSON.stringify(list.body)).not.toContain(String(input.domain));
    expect(
      (
        await api.request("DELETE", `/api/v2/suppressions/${list.body.data[0].id}`, {
          key: await api.keyWith("ingest"),
        })
      ).status,
    ).toBe(403);
    for (const s of list.body.data) {
      const lifted = await api.request("DELETE", `/api/v2/suppressions/${s.id}`);
      expect(lifted.status, lifted.text).toBe(200);
      expectDocumented(lifted, "DELETE", "/api/v2/suppressions/{id}");
      expect(lifted.body.lifted_at).toBe("1960-01-01T00:00:00.000Z");
    }
    expect(
      await q(
        "SELECT count(*)::int AS n FROM audit_log WHERE action = 'suppression.lifted' AND details->>'lead_id' = $1",
        [leadId],
      ),
    ).toEqual([{ n: 2 }]);
    const allowed = await api.request("POST", "/api/v2/leads", {
      body: { leads: [leadInput({ domain: input.domain })] },
    });
    expect(allowed.status, allowed.text).toBe(200);
  });

  it("needs the admin scope", async () => {
    const res = await api.request("DELETE", `/api/v2/leads/${randomUUID()}`, {
      key: await api.keyWith("ingest"),
    });
    expect(res.status).toBe(403);
  });
});
