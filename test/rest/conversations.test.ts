import { describe, expect, it } from "vitest";
import { expectDocumented, expectIdempotentReplay, startApi } from "../support/api.js";
import {
  correlated,
  countRows,
  eventsFor,
  insertCampaign,
  insertEmailSend,
  insertLead,
} from "../support/factories-engagement.js";

const NOW = new Date("2026-11-25T10:00:00.000Z");
const api = await startApi({ now: NOW });
const db = api.db.primary;
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000);

async function openConversation(body: Record<string, unknown>): Promise<string> {
  const res = await api.request("POST", "/api/v2/conversations", { body });
  expect(res.status).toBe(201);
  return res.body.id;
}

function inbound(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    direction: "inbound",
    from_email: "owner@lead.example",
    to_email: "sales@reachgraph.example",
    subject: "Re: your website",
    body: "Sounds interesting, tell me more.",
    sentiment: "positive",
    ...overrides,
  };
}

async function repliedAt(emailSendId: string): Promise<Date | null> {
  const { rows } = await db.query<{ replied_at: Date | null }>(
    "SELECT replied_at FROM email_sends WHERE id = $1",
    [emailSendId],
  );
  return rows[0]?.replied_at ?? null;
}

describe("POST /api/v2/conversations", () => {
  it("opens a thread on an email send, taking the send's campaign", async () => {
    const lead = await insertLead(db);
    const campaign = await insertCampaign(db);
    const send = await insertEmailSend(db, { lead_id: lead, campaign_id: campaign, sent_at: hoursAgo(2) });
    const res = await api.request("POST", "/api/v2/conversations", {
      body: { lead_id: lead, email_send_id: send, thread_metadata: { gmail_thread_id: "t-1" } },
    });
    expect(res.status).toBe(201);
    expectDocumented(res, "POST", "/api/v2/conversations");
    expect(res.body).toMatchObject({
      lead_id: lead,
      campaign_id: campaign,
      email_send_id: send,
      thread_metadata: { gmail_thread_id: "t-1" },
      status: "active",
      last_message_at: null,
      created_at: NOW.toISOString(),
    });
  });

  it.each([
    ["a wrong type", (lead: string) => ({ lead_id: 42, thread_metadata: { lead } }), "/lead_id"],
    ["a missing field", (lead: string) => ({ thread_metadata: { lead } }), "/lead_id"],
    ["an unknown field", (lead: string) => ({ lead_id: lead, topic: "pricing" }), "/"],
  ])("refuses %s with 422 and writes nothing", async (_case, body, path) => {
    const lead = await insertLead(db);
    const res = await api.request("POST", "/api/v2/conversations", { body: body(lead) });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expectDocumented(res, "POST", "/api/v2/conversations");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(
      await countRows(db, "conversations", "lead_id = $1 OR thread_metadata->>'lead' = $1::text", [lead]),
    ).toBe(0);
  });

  it("refuses an unknown lead and an email send of another lead", async () => {
    const lead = await insertLead(db);
    const other = await insertLead(db);
    const foreignSend = await insertEmailSend(db, { lead_id: other });
    const unknown = await api.request("POST", "/api/v2/conversations", {
      body: { lead_id: "7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b11" },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toContainEqual({
      location: "body",
      path: "/lead_id",
      message: "no such lead",
    });
    const mismatch = await api.request("POST", "/api/v2/conversations", {
      body: { lead_id: lead, email_send_id: foreignSend },
    });
    expect(mismatch.status).toBe(422);
    expectDocumented(mismatch, "POST", "/api/v2/conversations");
    expect(mismatch.body.errors[0].path).toBe("/email_send_id");
    expect(await countRows(db, "conversations", "lead_id = $1", [lead])).toBe(0);
  });

  it("replays the first response for the same Idempotency-Key and body", async () => {
    const lead = await insertLead(db);
    await expectIdempotentReplay(api, "/api/v2/conversations", { lead_id: lead }, 201);
    expect(await countRows(db, "conversations", "lead_id = $1", [lead])).toBe(1);
  });
});

describe("GET /api/v2/conversations/{id}", () => {
  it("returns the thread with messages oldest first, its meetings and deals", async () => {
    const lead = await insertLead(db);
    const campaign = await insertCampaign(db);
    const id = await openConversation({ lead_id: lead, campaign_id: campaign });
    await api.request("POST", `/api/v2/conversations/${id}`, {
      body: inbound({ body: "second", sent_at: hoursAgo(1).toISOString() }),
    });
    await api.request("POST", `/api/v2/conversations/${id}`, {
      body: inbound({ body: "first", sent_at: hoursAgo(3).toISOString() }),
    });
    const meeting = await api.request("POST", `/api/v2/conversations/${id}/meetings`, { body: {} });
    const deal = await api.request("POST", `/api/v2/conversations/${id}/deals`, {
      body: { status: "open", meeting_id: meeting.body.id },
    });
    expect(deal.status).toBe(201);

    const res = await api.request("GET", `/api/v2/conversations/${id}`);
    expect(res.status).toBe(200);
    expectDocumented(res, "GET", "/api/v2/conversations/{id}");
    expect(res.body.messages.map((m: { body: string }) => m.body)).toEqual(["first", "second"]);
    expect(res.body.last_message_at).toBe(hoursAgo(1).toISOString());
    expect(res.body.meetings.map((m: { id: string }) => m.id)).toEqual([meeting.body.id]);
    expect(res.body.deals.map((d: { id: string }) => d.id)).toEqual([deal.body.id]);
  });

  it("pages through a long thread's messages with a cursor", async () => {
    const id = await openConversation({ lead_id: await insertLead(db) });
    for (const h of [5, 4, 3, 2, 1]) {
      await api.request("POST", `/api/v2/conversations/${id}`, {
        body: inbound({ body: `${h}h ago`, sent_at: hoursAgo(h).toISOString() }),
      });
    }
    const bodies: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await api.request(
        "GET",
        `/api/v2/conversations/${id}?messages_limit=2${cursor ? `&messages_cursor=${cursor}` : ""}`,
      );
      expectDocumented(res, "GET", "/api/v2/conversations/{id}");
      expect(res.body.messages.length).toBeLessThanOrEqual(2);
      bodies.push(...res.body.messages.map((m: { body: string }) => m.body));
      cursor = res.body.messages_page.next_cursor;
    } while (cursor);
    expect(bodies).toEqual(["5h ago", "4h ago", "3h ago", "2h ago", "1h ago"]);
  });

  it("answers 404 for an unknown conversation", async () => {
    const res = await api.request("GET", "/api/v2/conversations/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b12");
    expect(res.status).toBe(404);
    expectDocumented(res, "GET", "/api/v2/conversations/{id}");
  });
});

describe("POST /api/v2/conversations/{id} (messages)", () => {
  it("an inbound reply stamps replied_at once on the lead's latest sent email and emits reply.received", async () => {
    const lead = await insertLead(db);
    const campaign = await insertCampaign(db);
    const older = await insertEmailSend(db, { lead_id: lead, campaign_id: campaign, sent_at: hoursAgo(48) });
    const latest = await insertEmailSend(db, { lead_id: lead, campaign_id: campaign, sent_at: hoursAgo(5) });
    await insertEmailSend(db, { lead_id: lead, campaign_id: campaign, sent_at: null }); // still queued
    const id = await openConversation({ lead_id: lead, campaign_id: campaign });

    const c = correlated();
    const res = await api.request("POST", `/api/v2/conversations/${id}`, {
      body: inbound({ sent_at: hoursAgo(1).toISOString(), gmail_message_id: "m-1" }),
      headers: c.headers,
    });
    expect(res.status).toBe(201);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}");
    expect(res.body).toMatchObject({ conversation_id: id, direction: "inbound", sentiment: "positive" });
    expect(await repliedAt(latest)).toEqual(hoursAgo(1));
    expect(await repliedAt(older)).toBeNull();

    const events = await eventsFor(db, c.id);
    expect(events).toEqual([
      {
        type: "reply.received",
        payload: {
          conversation_id: id,
          message_id: res.body.id,
          lead_id: lead,
          campaign_id: campaign,
          email_send_id: latest,
          sentiment: "positive",
          // No category posted: the documented mapping from the sentiment (README "Reply taxonomy").
          reply_category: "interested",
          reply_category_model: null,
          reply_category_confidence: null,
        },
      },
    ]);
    expect(JSON.stringify(events)).not.toContain("Sounds interesting");

    // A second reply keeps the first reply's timestamp and answers the same send.
    const c2 = correlated();
    const second = await api.request("POST", `/api/v2/conversations/${id}`, {
      body: inbound({ sentiment: undefined }),
      headers: c2.headers,
    });
    expect(second.status).toBe(201);
    expect(await repliedAt(latest)).toEqual(hoursAgo(1));
    const [event] = await eventsFor(db, c2.id);
    expect(event?.payload).toMatchObject({ email_send_id: latest, sentiment: null });
    const thread = await api.request("GET", `/api/v2/conversations/${id}`);
    expect(thread.body).toMatchObject({ email_send_id: latest, last_message_at: NOW.toISOString() });
  });

  it("an inbound reply on a thread with an email_send_id stamps that send", async () => {
    const lead = await insertLead(db);
    const answered = await insertEmailSend(db, { lead_id: lead, sent_at: hoursAgo(30) });
    const newer = await insertEmailSend(db, { lead_id: lead, sent_at: hoursAgo(2) });
    const id = await openConversation({ lead_id: lead, email_send_id: answered });
    const res = await api.request("POST", `/api/v2/conversations/${id}`, { body: inbound() });
    expect(res.status).toBe(201);
    expect(await repliedAt(answered)).toEqual(NOW);
    expect(await repliedAt(newer)).toBeNull();
  });

  it("an outbound AI reply records its model and sentiment and is not a reply signal", async () => {
    const lead = await insertLead(db);
    const send = await insertEmailSend(db, { lead_id: lead, sent_at: hoursAgo(3) });
    const id = await openConversation({ lead_id: lead });
    const c = correlated();
    const res = await api.request("POST", `/api/v2/conversations/${id}`, {
      body: {
        direction: "outbound",
        from_email: "sales@reachgraph.example",
        to_email: "owner@lead.example",
        body: "Happy to show you a demo.",
        model_used: "claude-sonnet-4",
        sentiment: "neutral",
      },
      headers: c.headers,
    });
    expect(res.status).toBe(201);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}");
    expect(res.body).toMatchObject({
      direction: "outbound",
      model_used: "claude-sonnet-4",
      sent_at: NOW.toISOString(),
    });
    expect(await repliedAt(send)).toBeNull();
    expect(await eventsFor(db, c.id)).toEqual([]);
  });

  it.each([
    ["a wrong type", { direction: "sideways" }, "/direction"],
    ["a missing field", { body: undefined }, "/body"],
    ["an unknown field", { cc: "boss@lead.example" }, "/"],
    ["a model on an inbound message", { model_used: "gpt-4o" }, "/model_used"],
    ["a bad timestamp", { sent_at: "yesterday" }, "/sent_at"],
  ])("refuses %s with 422 and writes nothing", async (_case, overrides, path) => {
    const lead = await insertLead(db);
    const send = await insertEmailSend(db, { lead_id: lead });
    const id = await openConversation({ lead_id: lead });
    const res = await api.request("POST", `/api/v2/conversations/${id}`, { body: inbound(overrides) });
    expect(res.status).toBe(422);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await countRows(db, "conversation_messages", "conversation_id = $1", [id])).toBe(0);
    expect(await repliedAt(send)).toBeNull();
  });

  it("answers 404 for an unknown conversation", async () => {
    const res = await api.request("POST", "/api/v2/conversations/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b13", {
      body: inbound(),
    });
    expect(res.status).toBe(404);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}");
  });

  it("replays the first response for the same Idempotency-Key and body", async () => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    await expectIdempotentReplay(api, `/api/v2/conversations/${id}`, inbound(), 201);
    expect(await countRows(db, "conversation_messages", "conversation_id = $1", [id])).toBe(1);
  });
});

describe("POST /api/v2/conversations/{id}/meetings", () => {
  it("books a meeting attributed to the conversation's campaign and emits meeting.booked", async () => {
    const lead = await insertLead(db);
    const campaign = await insertCampaign(db);
    const id = await openConversation({ lead_id: lead, campaign_id: campaign });
    const c = correlated();
    const res = await api.request("POST", `/api/v2/conversations/${id}/meetings`, {
      body: { scheduled_for: "2026-12-01T15:30:00+01:00" },
      headers: c.headers,
    });
    expect(res.status).toBe(201);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}/meetings");
    expect(res.body).toMatchObject({
      lead_id: lead,
      campaign_id: campaign,
      conversation_id: id,
      status: "booked",
      booked_at: NOW.toISOString(),
      scheduled_for: "2026-12-01T14:30:00.000Z",
    });
    expect(await eventsFor(db, c.id)).toEqual([
      {
        type: "meeting.booked",
        payload: {
          meeting_id: res.body.id,
          lead_id: lead,
          campaign_id: campaign,
          conversation_id: id,
          scheduled_for: "2026-12-01T14:30:00.000Z",
        },
      },
    ]);
  });

  it.each([
    ["a wrong type", { scheduled_for: 1764600000 }],
    ["an unknown field", { location: "Zoom" }],
  ])("refuses %s with 422 and writes nothing", async (_case, body) => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    const res = await api.request("POST", `/api/v2/conversations/${id}/meetings`, { body });
    expect(res.status).toBe(422);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}/meetings");
    expect(await countRows(db, "meetings", "conversation_id = $1", [id])).toBe(0);
  });

  it("answers 404 for an unknown conversation", async () => {
    const res = await api.request(
      "POST",
      "/api/v2/conversations/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b14/meetings",
      {
        body: {},
      },
    );
    expect(res.status).toBe(404);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}/meetings");
  });

  it("replays the first response for the same Idempotency-Key and body", async () => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    await expectIdempotentReplay(
      api,
      `/api/v2/conversations/${id}/meetings`,
      { scheduled_for: "2026-12-02T09:00:00Z" },
      201,
    );
    expect(await countRows(db, "meetings", "conversation_id = $1", [id])).toBe(1);
  });
});

describe("deals: POST /api/v2/conversations/{id}/deals and PATCH /api/v2/deals/{id}", () => {
  async function dealCount(leadId: string): Promise<number> {
    return countRows(db, "deals", "lead_id = $1", [leadId]);
  }

  it("opens a deal, wins it with an exact amount and emits deal.won with that amount string", async () => {
    const lead = await insertLead(db);
    const campaign = await insertCampaign(db);
    const id = await openConversation({ lead_id: lead, campaign_id: campaign });
    const opened = await api.request("POST", `/api/v2/conversations/${id}/deals`, {
      body: { status: "open", amount: 1250.5, currency: "eur" },
    });
    expect(opened.status).toBe(201);
    expectDocumented(opened, "POST", "/api/v2/conversations/{id}/deals");
    expect(opened.body).toMatchObject({
      lead_id: lead,
      campaign_id: campaign,
      status: "open",
      amount: "1250.50",
      currency: "EUR",
      won_at: null,
    });

    const c = correlated();
    const won = await api.request("PATCH", `/api/v2/deals/${opened.body.id}`, {
      body: { status: "won", amount: "9999999999.99" },
      headers: c.headers,
    });
    expect(won.status).toBe(200);
    expectDocumented(won, "PATCH", "/api/v2/deals/{id}");
    expect(won.body).toMatchObject({ status: "won", amount: "9999999999.99", won_at: NOW.toISOString() });
    expect(await eventsFor(db, c.id)).toEqual([
      {
        type: "deal.won",
        payload: {
          deal_id: opened.body.id,
          lead_id: lead,
          campaign_id: campaign,
          amount: "9999999999.99",
          currency: "EUR",
          won_at: NOW.toISOString(),
        },
      },
    ]);
    const { rows } = await db.query("SELECT amount::text AS amount FROM deals WHERE id = $1", [
      opened.body.id,
    ]);
    expect(rows[0].amount).toBe("9999999999.99");
  });

  it("a deal created as won emits deal.won; won and lost are final (409)", async () => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    const c = correlated();
    const won = await api.request("POST", `/api/v2/conversations/${id}/deals`, {
      body: { status: "won", amount: "480.1" },
      headers: c.headers,
    });
    expect(won.status).toBe(201);
    expect(won.body).toMatchObject({ amount: "480.10", currency: "USD" });
    const [event] = await eventsFor(db, c.id);
    expect(event).toMatchObject({ type: "deal.won", payload: { amount: "480.10", currency: "USD" } });

    const again = await api.request("PATCH", `/api/v2/deals/${won.body.id}`, { body: { status: "lost" } });
    expect(again.status).toBe(409);
    expectDocumented(again, "PATCH", "/api/v2/deals/{id}");
    expect(again.body).toMatchObject({ from: "won", to: "lost" });

    const lost = await api.request("POST", `/api/v2/conversations/${id}/deals`, { body: { status: "lost" } });
    expect(lost.body.lost_at).toBe(NOW.toISOString());
    const revived = await api.request("PATCH", `/api/v2/deals/${lost.body.id}`, {
      body: { status: "won", amount: "10.00" },
    });
    expect(revived.status).toBe(409);
    const { rows } = await db.query("SELECT status, amount FROM deals WHERE id = $1", [lost.body.id]);
    expect(rows[0]).toEqual({ status: "lost", amount: null });
  });

  it("winning needs an amount (422) and nothing changes", async () => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    const created = await api.request("POST", `/api/v2/conversations/${id}/deals`, {
      body: { status: "won" },
    });
    expect(created.status).toBe(422);
    expect(created.body.errors[0].path).toBe("/amount");
    expect(await dealCount(lead)).toBe(0);

    const open = await api.request("POST", `/api/v2/conversations/${id}/deals`, { body: { status: "open" } });
    const res = await api.request("PATCH", `/api/v2/deals/${open.body.id}`, { body: { status: "won" } });
    expect(res.status).toBe(422);
    expectDocumented(res, "PATCH", "/api/v2/deals/{id}");
    const { rows } = await db.query("SELECT status FROM deals WHERE id = $1", [open.body.id]);
    expect(rows[0].status).toBe("open");
  });

  it.each([
    ["three decimals", { status: "open", amount: "10.005" }, "/amount"],
    ["a float with three decimals", { status: "open", amount: 0.125 }, "/amount"],
    ["a negative amount", { status: "open", amount: -5 }, "/amount"],
    ["a wrong type", { status: "open", amount: true }, "/amount"],
    ["a bad currency", { status: "open", currency: "EURO" }, "/currency"],
    ["a missing status", { amount: "10.00" }, "/status"],
    ["an unknown field", { status: "open", probability: 0.5 }, "/"],
  ])("POST refuses %s with 422 and writes nothing", async (_case, body, path) => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    const res = await api.request("POST", `/api/v2/conversations/${id}/deals`, { body });
    expect(res.status).toBe(422);
    expectDocumented(res, "POST", "/api/v2/conversations/{id}/deals");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await dealCount(lead)).toBe(0);
  });

  it.each([
    ["a wrong type", { status: 1 }],
    ["a missing status", { amount: "5.00" }],
    ["an unknown field", { status: "open", lead_id: "7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b15" }],
  ])("PATCH refuses %s with 422 and changes nothing", async (_case, body) => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    const open = await api.request("POST", `/api/v2/conversations/${id}/deals`, {
      body: { status: "open", amount: "1.00" },
    });
    const res = await api.request("PATCH", `/api/v2/deals/${open.body.id}`, { body });
    expect(res.status).toBe(422);
    expectDocumented(res, "PATCH", "/api/v2/deals/{id}");
    const { rows } = await db.query(
      "SELECT status, amount::text AS amount, updated_at FROM deals WHERE id = $1",
      [open.body.id],
    );
    expect(rows[0]).toMatchObject({ status: "open", amount: "1.00" });
  });

  it("refuses a meeting of another conversation", async () => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    const other = await openConversation({ lead_id: lead });
    const meeting = await api.request("POST", `/api/v2/conversations/${other}/meetings`, { body: {} });
    const res = await api.request("POST", `/api/v2/conversations/${id}/deals`, {
      body: { status: "open", meeting_id: meeting.body.id },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe("/meeting_id");
    expect(await dealCount(lead)).toBe(0);
  });

  it("PATCH answers 404 for an unknown deal", async () => {
    const res = await api.request("PATCH", "/api/v2/deals/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b16", {
      body: { status: "lost" },
    });
    expect(res.status).toBe(404);
    expectDocumented(res, "PATCH", "/api/v2/deals/{id}");
  });

  it("replays the first response for the same Idempotency-Key and body", async () => {
    const lead = await insertLead(db);
    const id = await openConversation({ lead_id: lead });
    await expectIdempotentReplay(
      api,
      `/api/v2/conversations/${id}/deals`,
      { status: "won", amount: "75.00" },
      201,
    );
    expect(await dealCount(lead)).toBe(1);
  });
});
