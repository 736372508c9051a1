import { describe, expect, it } from "vitest";
import { waitForReplica } from "../../src/db/replication.js";
import { startApi } from "../support/api.js";
import { createLead, leadInput } from "../support/factories.js";
import { correlated, insertCampaign } from "../support/factories-engagement.js";

const api = await startApi({ now: new Date("2026-05-01T08:00:00Z") });
const q = async (sql: string, params: unknown[] = []) => (await api.db.primary.query(sql, params)).rows;
const one = async (sql: string, params: unknown[] = []) => (await q(sql, params))[0] as { id: string };

/** Writes a lead's whole path (analysis, demo, video, two emails, a reply, a meeting, a deal, AI-GYM rows). */
async function seedPath(leadId: string, withCorrelation: boolean) {
  const corr = withCorrelation ? `corr-${leadId.slice(0, 8)}` : null;
  const campaign = await insertCampaign(api.db.primary);
  const analysis = await one(
    `INSERT INTO website_analyses (lead_id, status, overall_score, seo_score, model_used, created_at, completed_at)
     VALUES ($1, 'completed', 71, 55, 'claude-analyser', '2026-05-01 09:00', '2026-05-01 09:02') RETURNING id`,
    [leadId],
  );
  if (corr) {
    await q(
      `INSERT INTO work_items (id, kind, lead_id, status, correlation_id, created_at, started_at, finished_at)
       VALUES ($1, 'analysis', $2, 'succeeded', $3, '2026-05-01 09:00', '2026-05-01 09:00:30', '2026-05-01 09:02')`,
      [analysis.id, leadId, corr],
    );
  }
  const demo = await one(
    `INSERT INTO demo_sites (lead_id, analysis_id, model_used, status, created_at, deployed_at)
     VALUES ($1, $2, 'gpt-demo', 'deployed', '2026-05-01 10:00', '2026-05-01 10:09') RETURNING id`,
    [leadId, analysis.id],
  );
  const video = await one(
    `INSERT INTO videos (lead_id, demo_site_id, status, created_at) VALUES ($1, $2, 'ready', '2026-05-01 11:00')
     RETURNING id`,
    [leadId, demo.id],
  );
  const first = await one(
    `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, model_used, status, ab_variant, created_at,
                              sent_at, opened_at, clicked_at, demo_site_id, video_id)
     VALUES ($1, $2, 'Hi', 'Body', 'mail-writer', 'sent', 'B', '2026-05-02 08:00', '2026-05-02 09:00',
             '2026-05-02 10:00', '2026-05-02 10:05', $3, $4) RETURNING id`,
    [campaign, leadId, demo.id, video.id],
  );
  const second = await one(
    `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, model_used, status, created_at, sent_at,
                              replied_at)
     VALUES ($1, $2, 'Re', 'Body', 'mail-writer', 'sent', '2026-05-04 08:00', '2026-05-04 09:00',
             '2026-05-04 12:00') RETURNING id`,
    [campaign, leadId],
  );
  const conv = await one(
    `INSERT INTO conversations (lead_id, campaign_id, email_send_id) VALUES ($1, $2, $3) RETURNING id`,
    [leadId, campaign, second.id],
  );
  const reply = await one(
    `INSERT INTO conversation_messages (conversation_id, direction, body, sentiment, sent_at, reply_category,
                                        reply_category_model, reply_category_corrected, reply_category_corrected_at)
     VALUES ($1, 'inbound', 'Yes please', 'positive', '2026-05-04 12:00', 'interested', 'classifier-1',
             'meeting_request', '2026-05-04 13:00') RETURNING id`,
    [conv.id],
  );
  const meeting = await one(
    `INSERT INTO meetings (lead_id, campaign_id, conversation_id, booked_at) VALUES ($1, $2, $3, '2026-05-05 09:00')
     RETURNING id`,
    [leadId, campaign, conv.id],
  );
  const deal = await one(
    `INSERT INTO deals (lead_id, campaign_id, meeting_id, status, amount, created_at, won_at)
     VALUES ($1, $2, $3, 'won', 1250.50, '2026-05-06 09:00', '2026-05-07 09:00') RETURNING id`,
    [leadId, campaign, meeting.id],
  );
  if (corr) {
    await q(
      `INSERT INTO event_outbox (id, type, version, occurred_at, correlation_id, payload)
       VALUES (gen_random_uuid(), 'email.sent', 1, '2026-05-02 09:00', $1, jsonb_build_object('email_send_id', $2::text, 'lead_id', $3::text))`,
      [`${corr}-email`, first.id, leadId],
    );
  }
  // AI-GYM: two analysis rows (one before the analysis existed goes to it too), a video row naming the model,
  // email rows for each send, and a task type no stage takes.
  const gym = (task: string, model: string, cost: string, at: string) =>
    q(
      `INSERT INTO ai_gym_performance (task_type, model_name, lead_id, cost, duration_seconds, quality_score, created_at)
       VALUES ($1, $2, $3, $4, 10, 80, $5)`,
      [task, model, leadId, cost, at],
    );
  await gym("website_analysis", "claude-analyser", "0.1000", "2026-05-01 08:59");
  await gym("website_analysis", "claude-analyser", "0.2000", "2026-05-01 09:02");
  await gym("demo_generation", "gpt-demo", "1.0001", "2026-05-01 10:09");
  await gym("video_script", "video-llm", "0.3333", "2026-05-01 11:05");
  await gym("email_copy", "mail-writer", "0.0100", "2026-05-02 08:00");
  await gym("email_copy", "mail-writer", "0.0200", "2026-05-04 08:00");
  await gym("reply_drafting", "drafter", "0.0500", "2026-05-04 13:00");
  return { analysis, demo, video, first, second, reply, meeting, deal, corr };
}

function expected(leadId: string, ids: Awaited<ReturnType<typeof seedPath>>) {
  return [
    { stage: "scraped", id: leadId, model: null, cost: null },
    { stage: "analysed", id: ids.analysis.id, model: "claude-analyser", cost: 0.3 },
    { stage: "demo", id: ids.demo.id, model: "gpt-demo", cost: 1.0001 },
    { stage: "video", id: ids.video.id, model: "video-llm", cost: 0.3333 },
    { stage: "email", id: ids.first.id, model: "mail-writer", cost: 0.01 },
    { stage: "email", id: ids.second.id, model: "mail-writer", cost: 0.02 },
    { stage: "reply", id: ids.reply.id, model: "classifier-1", cost: null },
    { stage: "meeting", id: ids.meeting.id, model: null, cost: null },
    { stage: "deal", id: ids.deal.id, model: null, cost: null },
  ];
}

async function gqlLineage(ref: string) {
  if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
  const res = await api.graphql(
    `query($ref: String!) { lineage(leadRef: $ref) { leadRef unattributedCost
       steps { stage id at model cost correlationId overallScore deployed abVariant openedAt sentiment replyCategory demoSiteId videoId amount } } }`,
    { ref },
  );
  expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
  return res.body.data.lineage;
}

describe("lead lineage", () => {
  it("returns the seeded path in order, with costs, models and correlation ids, through REST and GraphQL", async () => {
    const c = correlated();
    const created = await api.request("POST", "/api/v2/leads", {
      headers: c.headers,
      body: { leads: [leadInput()] },
    });
    expect(created.status, created.text).toBe(200);
    const leadId: string = created.body.data[0].id;
    const ids = await seedPath(leadId, true);

    const res = await api.request("GET", `/api/v2/leads/${leadId}/lineage`);
    expect(res.status, res.text).toBe(200);
    const steps = res.body.data?.steps ?? res.body.steps;
    const body = res.body.data ?? res.body;
    expect(
      steps.map((s: Record<string, unknown>) => ({ stage: s.stage, id: s.id, model: s.model, cost: s.cost })),
    ).toEqual(expected(leadId, ids));
    expect(body.unattributed_cost).toBe(0.05);
    expect(steps[0].correlation_id).toBe(c.id);
    expect(steps[1].correlation_id).toBe(ids.corr);
    expect(steps[1].started_at).toBe("2026-05-01T09:00:30.000Z");
    expect(steps[1].scores).toEqual({
      overall: 71,
      performance: null,
      seo: 55,
      accessibility: null,
      design: null,
    });
    expect(steps[2].deployed).toBe(true);
    expect(steps[4]).toMatchObject({
      correlation_id: `${ids.corr}-email`,
      ab_variant: "B",
      opened_at: "2026-05-02T10:00:00.000Z",
      demo_site_id: ids.demo.id,
      video_id: ids.video.id,
    });
    expect(steps[5]).toMatchObject({ demo_site_id: null, video_id: null });
    // The reply's category is the human's correction; its model is the classifier.
    expect(steps[6]).toMatchObject({
      sentiment: "positive",
      reply_category: "meeting_request",
      email_send_id: ids.second.id,
    });
    expect(steps[8]).toMatchObject({ amount: "1250.50", status: "won", meeting_id: ids.meeting.id });
    expect(JSON.stringify(body)).not.toMatch(/@|Yes please|https?:/);

    const g = await gqlLineage(body.lead_ref);
    expect(g.leadRef).toBe(body.lead_ref);
    expect(g.unattributedCost).toBe(0.05);
    const exp = expected(leadId, ids);
    expect(
      g.steps.map((s: Record<string, unknown>) => ({ stage: s.stage, model: s.model, cost: s.cost })),
    ).toEqual(exp.map(({ stage, model, cost }) => ({ stage, model, cost })));
    expect(g.steps.slice(1).map((s: { id: string }) => s.id)).toEqual(exp.slice(1).map((s) => s.id));
    expect(JSON.stringify(g)).not.toContain(leadId);
    expect(g.steps[1].overallScore).toBe(71);
    expect(g.steps[6]).toMatchObject({ sentiment: "positive", replyCategory: "meeting_request" });
    expect(g.steps[4]).toMatchObject({ demoSiteId: ids.demo.id, videoId: ids.video.id });
  });

  it("gives a lead with no correlation ids its whole chain", async () => {
    const leadId = await createLead(api);
    await q("UPDATE event_outbox SET payload = payload - 'lead_id' WHERE payload->>'lead_id' = $1", [leadId]);
    const ids = await seedPath(leadId, false);
    const res = await api.request("GET", `/api/v2/leads/${leadId}/lineage`);
    expect(res.status, res.text).toBe(200);
    const body = res.body.data ?? res.body;
    expect(
      body.steps.map((s: Record<string, unknown>) => ({
        stage: s.stage,
        id: s.id,
        model: s.model,
        cost: s.cost,
      })),
    ).toEqual(expected(leadId, ids));
    expect(body.steps.every((s: { correlation_id: unknown }) => s.correlation_id === null)).toBe(true);
  });

  it("answers 404 for an erased or unknown lead, and GraphQL null for a bad ref", async () => {
    const leadId = await createLead(api);
    const before = await api.request("GET", `/api/v2/leads/${leadId}/lineage`);
    const ref = (before.body.data ?? before.body).lead_ref;
    expect((await api.request("DELETE", `/api/v2/leads/${leadId}`)).status).toBe(200);
    expect((await api.request("GET", `/api/v2/leads/${leadId}/lineage`)).status).toBe(404);
    expect(
      (await api.request("GET", "/api/v2/leads/00000000-0000-4000-8000-000000000000/lineage")).status,
    ).toBe(404);
    expect(await gqlLineage(ref)).toBeNull();
    expect(await gqlLineage("lr_not-a-ref")).toBeNull();
  });
});
