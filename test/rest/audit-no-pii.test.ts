import { randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { createApiKey, revokeApiKey } from "../../src/domain/api-keys.js";
import { type ApiResponse, startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { leadInput } from "../support/factories.js";
import { campaignInput } from "../support/factories-outreach.js";
import { aiGymMetrics, aiGymRecord, sampleDemoBody } from "../support/factories-work.js";

/**
 * Spec §5: audit rows never hold PII. A lead with distinctive personal data goes through every kind of write the API
 * has — ingest and update, scraping job, analysis/demo/video work with a failure and a retry, AI-GYM, a campaign
 * with an A/B test, email send/claim/report, a conversation with replies, a meeting, a deal, an API key, erasure,
 * lifting the erased lead's suppressions and ingesting it again — and then no audit_log row may contain any of
 * those values, in any column or in `details` read as text.
 *
 * A database of its own, so that claims take only this test's work and the whole audit log is this test's.
 */
const scratch = await scratchDatabase();
await migrate(scratch.url, { logger });
// Monday 10:00 in Europe/Berlin: inside the campaign's send window.
let now = new Date("2030-03-04T09:00:00Z");
const api = await startApi({ databaseUrl: scratch.url, now });
const db = scratch.pool;

const slug = randomBytes(5).toString("hex");
const phoneDigits = String(randomInt(10_000_000, 99_999_999));
const pii = {
  company_name: `Quillfeather ${slug} Zahnarztpraxis`,
  contact_name: `Perpetua ${slug}-Okonkwo`,
  domain: `quillfeather-${slug}.example`,
  website: `https://www.quillfeather-${slug}.example/praxis`,
  contact_email: `perpetua.${slug}@quillfeather-${slug}.example`,
  contact_phone: `+49 30 ${phoneDigits}`,
  consent_proof_url: `https://proofs.example/consent-${slug}.pdf`,
  subject: `Ihre Website ${slug}-subject`,
  body: `Hallo Perpetua ${slug}-body, ich habe Ihre Startseite neu gebaut.`,
  demo_url: `https://demos.example/demo-${slug}`,
  video_url: `https://videos.example/video-${slug}.mp4`,
  link: `https://quillfeather-${slug}.example/termin`,
  reply_subject: `Re: Ihre Website ${slug}-reply`,
  reply_body: `Rufen Sie mich an: +49 30 ${phoneDigits}. Perpetua ${slug}-Okonkwo`,
  ai_reply_body: `Gern, Frau ${slug}-Okonkwo, morgen um 10 Uhr?`,
  error: `could not reach https://www.quillfeather-${slug}.example/praxis`,
  key_name: `Perpetua ${slug}'s laptop`,
};
/** Every value, plus the pieces a partial leak would carry (the slug is in all of them, the phone's digits alone). */
const needles = [...Object.values(pii), slug, phoneDigits];

async function ok(res: Promise<ApiResponse>, status = 200): Promise<ApiResponse> {
  const r = await res;
  expect(r.status, r.text).toBe(status);
  return r;
}
const post = (path: string, body: unknown, status = 200) => ok(api.request("POST", path, { body }), status);
const patch = (path: string, body: unknown) => ok(api.request("PATCH", path, { body }));
function tick(seconds: number) {
  now = new Date(now.getTime() + seconds * 1000);
  api.setNow(now);
}

/** Audit rows whose text (every column, `details` as JSON text) contains the needle, case-insensitively. */
async function auditRowsContaining(client: { query: typeof db.query }, needle: string) {
  const { rows } = await client.query<{ row: string }>(
    "SELECT a::text AS row FROM audit_log a WHERE strpos(lower(a::text), lower($1)) > 0",
    [needle],
  );
  return rows.map((r) => r.row);
}

describe("audit rows hold no PII", () => {
  it("the matcher finds a value in any column and inside details", async () => {
    const client = await db.connect();
    try {
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO audit_log (principal_type, principal_id, action, resource_type, resource_id, details)
         VALUES ('system', 'test', 'test.leak', 'lead', $1, $2)`,
        [`x-${pii.domain}`, JSON.stringify({ nested: { website: pii.website.toUpperCase() } })],
      );
      expect(await auditRowsContaining(client, pii.domain)).toHaveLength(1);
      expect(await auditRowsContaining(client, pii.website)).toHaveLength(1);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });

  it("after every kind of write, including erasure, no audit row contains the lead's personal data", async () => {
    const { rows: start } = await db.query<{ id: string }>(
      "SELECT coalesce(max(id), 0)::text AS id FROM audit_log",
    );
    const before = start[0]?.id;

    // Scraping job → leads (created, then updated with a new name) → job completed.
    const job = await post(
      "/api/v2/scraping/jobs",
      { source_type: "google_maps", query: { keyword: "dentist", location: "Berlin" } },
      201,
    );
    await patch(`/api/v2/scraping/jobs/${job.body.id}`, { status: "running" });
    const lead = leadInput({
      company_name: pii.company_name,
      website: pii.website,
      domain: pii.domain,
      contact_name: pii.contact_name,
      contact_email: pii.contact_email,
      contact_phone: pii.contact_phone,
      consent_proof_url: pii.consent_proof_url,
      city: "Berlin",
    });
    const ingested = await post("/api/v2/leads", { scraping_job_id: job.body.id, leads: [lead] });
    const leadId: string = ingested.body.data[0].id;
    await post("/api/v2/leads", { leads: [{ ...lead, contact_title: "Inhaberin" }] });
    await patch(`/api/v2/scraping/jobs/${job.body.id}`, { status: "completed" });

    // Analysis: queued, claimed, failed with an error quoting the website, retried, completed with findings.
    const analysisId: string = (
      await post(`/api/v2/analysis/${leadId}`, { preferences: { focus: pii.website } }, 202)
    ).body.analysis_id;
    const claimAnalysis = () => post("/api/v2/work/analysis/claim", { worker_id: "analyst-1" });
    expect((await claimAnalysis()).body.data.map((w: { id: string }) => w.id)).toEqual([analysisId]);
    await post(`/api/v2/work/analysis/${analysisId}/heartbeat`, { worker_id: "analyst-1" });
    await post(`/api/v2/work/analysis/${analysisId}/fail`, { worker_id: "analyst-1", error: pii.error });
    tick(3600);
    expect((await claimAnalysis()).body.data).toHaveLength(1);
    await post(`/api/v2/work/analysis/${analysisId}/complete`, {
      worker_id: "analyst-1",
      scores: { overall: 72, performance: 65, seo: 80, accessibility: 70, design: 61 },
      findings: [{ severity: "high", message: `${pii.website} has no HTTPS redirect` }],
      model_used: "claude-4.5-sonnet",
      ai_gym: aiGymMetrics({ metadata: { page: pii.website } }),
    });

    // Demo and video, each claimed and completed with URLs that name the lead.
    const demoId: string = (await post("/api/v2/demos", sampleDemoBody(leadId, analysisId), 202)).body
      .demo_id;
    await post("/api/v2/work/demo/claim", { worker_id: "builder-1" });
    await post(`/api/v2/work/demo/${demoId}/complete`, {
      worker_id: "builder-1",
      deployment_url: pii.demo_url,
      qa_report: { checked: pii.website },
    });
    const videoId: string = (await post(`/api/v2/videos/${leadId}`, { demo_site_id: demoId }, 202)).body
      .video_id;
    await post("/api/v2/work/video/claim", { worker_id: "narrator-1" });
    await post(`/api/v2/work/video/${videoId}/complete`, {
      worker_id: "narrator-1",
      video_url: pii.video_url,
      script: { greeting: `Hallo ${pii.contact_name}` },
    });

    // AI-GYM record about the lead, with metadata that quotes it.
    await post(
      "/api/v2/ai-gym/records",
      { records: [aiGymRecord({ lead_id: leadId, metadata: { prompt_excerpt: pii.body } })] },
      200,
    );

    // Campaign with a subject-line test, an email queued, claimed and reported sent.
    const campaign = await post("/api/v2/campaigns", campaignInput(), 201);
    await patch(`/api/v2/campaigns/${campaign.body.id}`, { daily_limit: 50 });
    const abTest = await post(
      "/api/v2/ab-tests",
      {
        name: "subjects",
        campaign_id: campaign.body.id,
        element_type: "subject_line",
        variants: [
          { id: "A", subject: "Subject A" },
          { id: "B", subject: "Subject B" },
        ],
        split_ratio: { A: 0.5, B: 0.5 },
      },
      201,
    );
    const queued = await post(
      "/api/v2/email/send",
      {
        campaign_id: campaign.body.id,
        emails: [
          {
            lead_id: leadId,
            subject: pii.subject,
            body: pii.body,
            demo_url: pii.demo_url,
            video_url: pii.video_url,
            links: [pii.link],
          },
        ],
      },
      202,
    );
    const emailSendId: string = queued.body.data[0].email_send_id;
    const claimed = await post("/api/v2/email/claim", {
      sender_id: "sender-1",
      campaign_ids: [campaign.body.id],
    });
    expect(claimed.body.data.map((e: { email_send_id: string }) => e.email_send_id)).toEqual([emailSendId]);
    await post(`/api/v2/email/${emailSendId}/report`, {
      sender_id: "sender-1",
      outcome: "sent",
      provider_message_id: "provider-0001",
    });
    await post(`/api/v2/ab-tests/${abTest.body.id}/decide`, { winning_variant: "A" });

    // The lead replies; the AI answers; a meeting; a deal opened and won.
    const conversation = await post(
      "/api/v2/conversations",
      { lead_id: leadId, email_send_id: emailSendId },
      201,
    );
    const conversationPath = `/api/v2/conversations/${conversation.body.id}`;
    await post(
      conversationPath,
      {
        direction: "inbound",
        from_email: pii.contact_email,
        to_email: "sales@reachgraph.example",
        subject: pii.reply_subject,
        body: pii.reply_body,
        sentiment: "positive",
      },
      201,
    );
    await post(
      conversationPath,
      {
        direction: "outbound",
        from_email: "sales@reachgraph.example",
        to_email: pii.contact_email,
        subject: pii.reply_subject,
        body: pii.ai_reply_body,
        model_used: "claude-4.5-sonnet",
      },
      201,
    );
    await post(`${conversationPath}/meetings`, {}, 201);
    const deal = await post(
      `${conversationPath}/deals`,
      { status: "open", amount: 1200, currency: "EUR" },
      201,
    );
    await patch(`/api/v2/deals/${deal.body.id}`, { status: "won" });

    // An API key whose name is a person's, created and revoked.
    const key = await createApiKey(db, { name: pii.key_name, scopes: ["ingest"] });
    await revokeApiKey(db, key.id);

    // The audit log now covers each of those writes …
    const { rows: actions } = await db.query<{ action: string }>(
      "SELECT DISTINCT action FROM audit_log WHERE id > $1::bigint ORDER BY action",
      [before],
    );
    expect(actions.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        "scraping_job.running",
        "scraping_job.completed",
        "lead.created",
        "lead.updated",
        "analysis.queued",
        "analysis.claimed",
        "analysis.lease_extended",
        "analysis.retry_scheduled",
        "analysis.completed",
        "demo.completed",
        "video.completed",
        "ai_gym.recorded",
        "campaign.created",
        "campaign.updated",
        "ab_test.created",
        "ab_test.decided",
        "email_send.queued",
        "email_send.claimed",
        "email_send.sent",
        "conversation.created",
        "conversation.message_inbound",
        "conversation.message_outbound",
        "meeting.booked",
        "deal.created_open",
        "deal.won",
        "api_key.created",
        "api_key.revoked",
      ]),
    );
    // … and none of its rows quotes the lead, before or after erasure.
    for (const needle of needles) expect(await auditRowsContaining(db, needle), needle).toEqual([]);

    await ok(api.request("DELETE", `/api/v2/leads/${leadId}`));
    const erased = await db.query(
      "SELECT 1 FROM audit_log WHERE action = 'lead.erased' AND resource_id = $1",
      [leadId],
    );
    expect(erased.rowCount).toBe(1);

    // The erased lead's domain and email are suppressed; an admin lifts that and the lead is ingested again.
    const refused = await api.request("POST", "/api/v2/leads", { body: { leads: [lead] } });
    expect(refused.status, refused.text).toBe(409);
    const suppressions = await ok(api.request("GET", `/api/v2/suppressions?lead_id=${leadId}`));
    expect(suppressions.body.data.length).toBeGreaterThan(0);
    for (const s of suppressions.body.data) await ok(api.request("DELETE", `/api/v2/suppressions/${s.id}`));
    await post("/api/v2/leads", { leads: [lead] });

    for (const needle of needles) expect(await auditRowsContaining(db, needle), needle).toEqual([]);
  });
});
