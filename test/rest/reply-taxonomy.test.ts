import { describe, expect, it } from "vitest";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { wilsonInterval } from "../../src/analytics/statistics.js";
import { waitForReplica } from "../../src/db/replication.js";
import { expectDocumented, startApi } from "../support/api.js";
import { createLeads } from "../support/factories.js";
import { correlated, eventsFor, insertEmailSend, insertLead } from "../support/factories-engagement.js";
import { createCampaign, emailInput } from "../support/factories-outreach.js";

// Reply taxonomy (migration 0021, README "Reply taxonomy"): categories posted by the classifier, human corrections
// beside them, classifier accuracy, the reply rules of the KPIs and the unsubscribe suppression.
const api = await startApi();
const db = api.db.primary;
const q = async (sql: string, params: unknown[] = []) => (await db.query(sql, params)).rows;
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
const ALWAYS_OPEN = {
  timezone: "UTC",
  days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
  start_hour: 0,
  end_hour: 24,
};

async function thread(leadId: string, campaignId?: string): Promise<string> {
  const res = await api.request("POST", "/api/v2/conversations", {
    body: { lead_id: leadId, ...(campaignId ? { campaign_id: campaignId } : {}) },
  });
  expect(res.status, res.text).toBe(201);
  return res.body.id;
}

function reply(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    direction: "inbound",
    from_email: "owner@lead.example",
    to_email: "sales@reachgraph.example",
    body: "Thanks, let's talk.",
    ...overrides,
  };
}

async function post(conversationId: string, body: Record<string, unknown>, headers?: Record<string, string>) {
  return api.request("POST", `/api/v2/conversations/${conversationId}`, { body, headers });
}

async function correct(conversationId: string, messageId: string, body: Record<string, unknown>) {
  return api.request("PUT", `/api/v2/conversations/${conversationId}/messages/${messageId}/category`, {
    body,
  });
}

describe("POST /api/v2/conversations/{id}: the reply's category", () => {
  it("stores the classifier's category, model and confidence and puts the category in reply.received", async () => {
    const conv = await thread(await insertLead(db));
    const c = correlated();
    const res = await post(
      conv,
      reply({
        sentiment: "positive",
        reply_category: "meeting_request",
        reply_category_model: "claude-4.5-haiku",
        reply_category_confidence: 0.93,
      }),
      c.headers,
    );
    expect(res.status, res.text).toBe(201);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}");
    expect(res.body).toMatchObject({
      reply_category: "meeting_request",
      reply_category_model: "claude-4.5-haiku",
      reply_category_confidence: 0.93,
      reply_category_corrected: null,
    });
    const [event] = (await eventsFor(db, c.id)).filter((e) => e.type === "reply.received");
    expect(event?.payload).toMatchObject({
      reply_category: "meeting_request",
      reply_category_model: "claude-4.5-haiku",
      reply_category_confidence: 0.93,
    });
  });

  it.each([
    ["positive", "interested"],
    ["objection", "not_now"],
    ["out_of_office", "out_of_office"],
    [undefined, "uncategorized"],
  ])("without a category, sentiment %s maps to %s (the documented mapping)", async (sentiment, category) => {
    const conv = await thread(await insertLead(db));
    const res = await post(conv, reply({ sentiment }));
    expect(res.status, res.text).toBe(201);
    expect(res.body.reply_category).toBe(category);
    expect(res.body.reply_category_model).toBeNull();
  });

  it("an outbound message has no category", async () => {
    const conv = await thread(await insertLead(db));
    const res = await post(conv, reply({ direction: "outbound", model_used: "gpt-5" }));
    expect(res.status, res.text).toBe(201);
    expect(res.body.reply_category).toBeNull();
  });

  it.each([
    [
      "a category on an outbound message",
      { direction: "outbound", reply_category: "interested" },
      "/reply_category",
    ],
    ["an unknown category", { reply_category: "maybe" }, "/reply_category"],
    ["a model without its category", { reply_category_model: "gpt-5-mini" }, "/reply_category_model"],
    ["a confidence without its category", { reply_category_confidence: 0.5 }, "/reply_category_confidence"],
    [
      "a confidence above 1",
      { reply_category: "interested", reply_category_confidence: 1.5 },
      "/reply_category_confidence",
    ],
  ])("refuses %s with 422 and writes nothing", async (_case, overrides, path) => {
    const conv = await thread(await insertLead(db));
    const res = await post(conv, reply(overrides));
    expect(res.status, res.text).toBe(422);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await q("SELECT 1 FROM conversation_messages WHERE conversation_id = $1", [conv])).toHaveLength(0);
  });
});

describe("PUT /api/v2/conversations/{id}/messages/{messageId}/category", () => {
  it("keeps the correction beside the classifier's label and audits both", async () => {
    const conv = await thread(await insertLead(db));
    const msg = (
      await post(conv, reply({ reply_category: "interested", reply_category_model: "gpt-5-mini" }))
    ).body;
    const res = await correct(conv, msg.id, { category: "out_of_office", reviewer: "user:4711" });
    expect(res.status, res.text).toBe(200);
    expectDocumented(res, "PUT", "/api/v2/conversations/{id}/messages/{messageId}/category");
    expect(res.body).toMatchObject({
      reply_category: "interested",
      reply_category_model: "gpt-5-mini",
      reply_category_corrected: "out_of_office",
      reply_category_corrected_by: "user:4711",
    });
    expect(res.body.reply_category_corrected_at).not.toBeNull();
    const audits = await q(
      "SELECT details FROM audit_log WHERE action = 'conversation.message_category_corrected' AND resource_id = $1",
      [msg.id],
    );
    expect(audits.map((a) => a.details)).toEqual([
      expect.objectContaining({
        from: "interested",
        to: "out_of_office",
        classifier: "interested",
        model: "gpt-5-mini",
      }),
    ]);
    // The same verdict again changes nothing and audits nothing.
    expect((await correct(conv, msg.id, { category: "out_of_office" })).status).toBe(200);
    expect(
      await q(
        "SELECT 1 FROM audit_log WHERE action = 'conversation.message_category_corrected' AND resource_id = $1",
        [msg.id],
      ),
    ).toHaveLength(1);
  });

  it("refuses an outbound message (422), an unknown category (422), another thread's message (404)", async () => {
    const conv = await thread(await insertLead(db));
    const other = await thread(await insertLead(db));
    const outbound = (await post(conv, reply({ direction: "outbound" }))).body;
    const inbound = (await post(conv, reply({ reply_category: "not_now" }))).body;
    const out = await correct(conv, outbound.id, { category: "interested" });
    expect(out.status, out.text).toBe(422);
    expect(out.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    // The domain's answer names the message, not the database's CHECK.
    expect(out.body.errors.map((e: { path: string }) => e.path)).toContain("/messageId");
    const unknown = await correct(conv, inbound.id, { category: "spam" });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors.map((e: { path: string }) => e.path)).toContain("/category");
    expect((await correct(other, inbound.id, { category: "interested" })).status).toBe(404);
    const [row] = await q("SELECT reply_category_corrected FROM conversation_messages WHERE id = $1", [
      inbound.id,
    ]);
    expect(row.reply_category_corrected).toBeNull();
  });

  it("refuses to correct a reply of an erased lead (409 lead-erased)", async () => {
    const lead = await insertLead(db);
    const conv = await thread(lead);
    const msg = (await post(conv, reply({ reply_category: "interested" }))).body;
    expect((await api.request("DELETE", `/api/v2/leads/${lead}`)).status).toBe(200);
    const res = await correct(conv, msg.id, { category: "not_interested" });
    expect(res.status, res.text).toBe(409);
    expect(res.body.type).toMatch(/lead-erased$/);
  });
});

describe("the reply rules of the KPIs (email_send_outcomes)", () => {
  it("an automatic reply is not a reply; a positive category is a positive reply; a correction decides", async () => {
    const cases: [string, string | null, boolean, boolean][] = [
      ["out_of_office", null, false, false],
      ["auto_reply", null, false, false],
      ["bounce", null, false, false],
      ["not_interested", null, true, false],
      ["interested", null, true, true],
      ["meeting_request", null, true, true],
      ["interested", "auto_reply", false, false],
      ["out_of_office", "meeting_request", true, true],
    ];
    const campaign = (await createCampaign(api)).id;
    for (const [category, corrected, replied, positive] of cases) {
      const lead = await insertLead(db);
      const send = await insertEmailSend(db, { lead_id: lead, campaign_id: campaign, sent_at: hoursAgo(5) });
      const conv = await thread(lead, campaign);
      const msg = (await post(conv, reply({ reply_category: category, sent_at: hoursAgo(4).toISOString() })))
        .body;
      if (corrected) expect((await correct(conv, msg.id, { category: corrected })).status).toBe(200);
      const [o] = await q("SELECT replied, positive_reply FROM email_send_outcomes WHERE id = $1", [send]);
      expect(o, `${category} → ${corrected}`).toEqual({ replied, positive_reply: positive });
    }
  });

  it("a human answer after an out-of-office makes the email replied", async () => {
    const campaign = (await createCampaign(api)).id;
    const lead = await insertLead(db);
    const send = await insertEmailSend(db, { lead_id: lead, campaign_id: campaign, sent_at: hoursAgo(9) });
    const conv = await thread(lead, campaign);
    await post(conv, reply({ reply_category: "out_of_office", sent_at: hoursAgo(8).toISOString() }));
    const outcome = async () =>
      (await q("SELECT replied, positive_reply FROM email_send_outcomes WHERE id = $1", [send]))[0];
    expect(await outcome()).toEqual({ replied: false, positive_reply: false });
    await post(conv, reply({ reply_category: "information_request", sent_at: hoursAgo(2).toISOString() }));
    expect(await outcome()).toEqual({ replied: true, positive_reply: false });
  });
});

describe("an unsubscribe reply suppresses the lead across campaigns", () => {
  it("fails its queued emails in every campaign at claim, says so in sending-status, refuses new ones", async () => {
    const sender = await api.keyWith("sender");
    const first = (await createCampaign(api, { send_window: ALWAYS_OPEN })).id;
    const second = (await createCampaign(api, { send_window: ALWAYS_OPEN })).id;
    const [lead, other] = (await createLeads(api, 2)) as [string, string];
    const queued = await api.request("POST", "/api/v2/email/send", {
      body: { campaign_id: second, emails: [emailInput(lead), emailInput(other)] },
    });
    expect(queued.status, queued.text).toBe(202);

    const conv = await thread(lead, first);
    const res = await post(
      conv,
      reply({ reply_category: "unsubscribe", reply_category_model: "gpt-5-mini" }),
    );
    expect(res.status, res.text).toBe(201);
    const [row] = await q("SELECT unsubscribed_at FROM leads WHERE id = $1", [lead]);
    expect(row.unsubscribed_at).not.toBeNull();

    const status = await api.request("GET", `/api/v2/campaigns/${second}/sending-status`, { key: sender });
    expect(status.status, status.text).toBe(200);
    expectDocumented(status, "GET", "/api/v2/campaigns/{id}/sending-status");
    expect(status.body).toMatchObject({ state: "sending", queued: 1, unsubscribed: 1 });
    expect(status.body.reason).toMatch(/1 queued emails are to leads who unsubscribed/);

    const claim = await api.request("POST", "/api/v2/email/claim", {
      key: sender,
      body: { sender_id: "s-unsub", limit: 10, campaign_ids: [second] },
    });
    expect(claim.status, claim.text).toBe(200);
    expect(claim.body.data.map((e: { lead_id: string }) => e.lead_id)).toEqual([other]);
    const [failed] = await q(
      "SELECT status, last_error FROM email_sends WHERE lead_id = $1 AND campaign_id = $2",
      [lead, second],
    );
    expect(failed).toEqual({ status: "failed", last_error: "lead unsubscribed" });

    const again = await api.request("POST", "/api/v2/email/send", {
      body: { campaign_id: first, emails: [emailInput(other), emailInput(lead)] },
    });
    expect(again.status, again.text).toBe(422);
    expect(again.body.errors).toEqual([
      expect.objectContaining({ path: "/emails/1/lead_id", message: expect.stringMatching(/unsubscribed/) }),
    ]);
    expect(await q("SELECT 1 FROM email_sends WHERE campaign_id = $1", [first])).toHaveLength(0);
  });

  it("a correction to unsubscribe suppresses; correcting it away lifts the suppression it made", async () => {
    const lead = await insertLead(db);
    const conv = await thread(lead);
    const msg = (await post(conv, reply({ reply_category: "not_interested" }))).body;
    const unsubscribedAt = async () =>
      (await q("SELECT unsubscribed_at FROM leads WHERE id = $1", [lead]))[0];
    expect((await unsubscribedAt()).unsubscribed_at).toBeNull();
    expect((await correct(conv, msg.id, { category: "unsubscribe" })).status).toBe(200);
    expect((await unsubscribedAt()).unsubscribed_at).not.toBeNull();
    expect((await correct(conv, msg.id, { category: "wrong_person" })).status).toBe(200);
    expect((await unsubscribedAt()).unsubscribed_at).toBeNull();
    const actions = await q("SELECT action FROM audit_log WHERE resource_id = $1 ORDER BY id", [lead]);
    expect(actions.map((a) => a.action)).toEqual(
      expect.arrayContaining(["lead.unsubscribed", "lead.unsubscribe_withdrawn"]),
    );
  });
});

describe("classifier accuracy per model (REST and GraphQL)", () => {
  it("counts reviewed labels and the share a human kept, with a Wilson interval", async () => {
    const model = `clf-${Date.now().toString(36)}`;
    const other = `${model}-b`;
    const labels: [string, string, string | null][] = [
      [model, "interested", "interested"], // confirmed
      [model, "interested", "out_of_office"], // wrong
      [model, "not_now", "not_now"], // confirmed
      [model, "auto_reply", null], // not reviewed
      [other, "unsubscribe", null],
    ];
    const conv = await thread(await insertLead(db));
    for (const [m, category, verdict] of labels) {
      const msg = (
        await post(
          conv,
          reply({
            reply_category: category,
            reply_category_model: m,
            reply_category_confidence: 0.8,
            sent_at: hoursAgo(3).toISOString(),
          }),
        )
      ).body;
      if (verdict) expect((await correct(conv, msg.id, { category: verdict })).status).toBe(200);
    }
    await refreshViews(db, "test");
    if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);

    const rest = await api.request("GET", "/api/v2/analytics/reply-classifiers?period=7d&min_samples=3");
    expect(rest.status, rest.text).toBe(200);
    expectDocumented(rest, "GET", "/api/v2/analytics/reply-classifiers");
    const mine = rest.body.data.find((e: { model_name: string }) => e.model_name === model);
    const interval = wilsonInterval(2 / 3, 3);
    expect(mine).toMatchObject({ labelled: 4, reviewed: 3, agreed: 2, below_min_samples: false });
    expect(mine.accuracy).toBeCloseTo(2 / 3, 12);
    expect(mine.accuracy_interval.low).toBeCloseTo(interval?.low ?? Number.NaN, 12);
    expect(mine.mean_confidence).toBeCloseTo(0.8, 12);
    expect(mine.by_category).toEqual([
      { category: "auto_reply", labelled: 1, reviewed: 0, agreed: 0 },
      { category: "interested", labelled: 2, reviewed: 2, agreed: 1 },
      { category: "not_now", labelled: 1, reviewed: 1, agreed: 1 },
    ]);
    const unreviewed = rest.body.data.find((e: { model_name: string }) => e.model_name === other);
    expect(unreviewed).toMatchObject({ labelled: 1, reviewed: 0, accuracy: null, accuracy_interval: null });

    const gql = await api.graphql(`{ replyClassifiers(period: "7d", minSamples: 3) {
      entries { modelName labelled reviewed agreed accuracy accuracyInterval { low high } belowMinSamples } } }`);
    expect(gql.body.errors).toBeUndefined();
    const g = gql.body.data.replyClassifiers.entries.find(
      (e: { modelName: string }) => e.modelName === model,
    );
    expect(g).toMatchObject({ labelled: 4, reviewed: 3, agreed: 2, belowMinSamples: false });
    expect(g.accuracy).toBeCloseTo(2 / 3, 12);
  });
});
