import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { assignVariant } from "../../src/domain/ab-assignment.js";
import { expectDocumented, expectIdempotentReplay, startApi } from "../support/api.js";
import { createLeads, leadInput } from "../support/factories.js";
import { createCampaign, emailInput, queueEmails } from "../support/factories-outreach.js";

// Monday 2030-03-04, Europe/Berlin is UTC+1 (DST starts 2030-03-31).
const MON_10_BERLIN = new Date("2030-03-04T09:00:00Z");
const api = await startApi({ now: MON_10_BERLIN });
const sender = await api.keyWith("sender");
const ingest = await api.keyWith("ingest");

/** Claims as a sender and keeps only this campaign's emails: other test files' campaigns may be claimable too. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are loose in tests
async function claim(campaignId: string, body: Record<string, unknown> = {}): Promise<any[]> {
  const res = await api.request("POST", "/api/v2/email/claim", {
    key: sender,
    // Only this test's campaign: other test files queue sends too, and a claim must not take theirs.
    body: { sender_id: "sender-1", limit: 500, campaign_ids: [campaignId], ...body },
  });
  expect(res.status, res.text).toBe(200);
  expectDocumented(res, "POST", "/api/v2/email/claim");
  return res.body.data.filter((e: { campaign_id: string }) => e.campaign_id === campaignId);
}

/** Claims, then reports every claimed email sent, as a well-behaved sender does. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are loose in tests
async function claimAndSend(campaignId: string, body: Record<string, unknown> = {}): Promise<any[]> {
  const claimed = await claim(campaignId, body);
  for (const e of claimed) {
    const res = await api.request("POST", `/api/v2/email/${e.email_send_id}/report`, {
      key: sender,
      body: { sender_id: body.sender_id ?? "sender-1", outcome: "sent" },
    });
    expect(res.status, res.text).toBe(200);
  }
  return claimed;
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are loose in tests
async function sendingStatus(campaignId: string): Promise<any> {
  const res = await api.request("GET", `/api/v2/campaigns/${campaignId}/sending-status`, { key: sender });
  expect(res.status, res.text).toBe(200);
  expectDocumented(res, "GET", "/api/v2/campaigns/{id}/sending-status");
  return res.body;
}

async function pacedCampaign(dailyLimit = 3, queued = 10): Promise<string> {
  api.setNow(MON_10_BERLIN);
  const c = await createCampaign(api, { daily_limit: dailyLimit });
  if (queued > 0) await queueEmails(api, c.id, await createLeads(api, queued));
  return c.id;
}

describe("POST /api/v2/email/send", () => {
  it("queues emails with a tracking token each, storing the tracked links", async () => {
    const c = await createCampaign(api, { status: "paused" });
    const leads = await createLeads(api, 2);
    const emails = leads.map((id) => emailInput(id));
    const res = await api.request("POST", "/api/v2/email/send", {
      key: ingest,
      body: { campaign_id: c.id, emails },
    });
    expect(res.status).toBe(202);
    expectDocumented(res, "POST", "/api/v2/email/send");
    expect(res.body.data).toHaveLength(2);
    const [first] = res.body.data;
    expect(first).toMatchObject({
      lead_id: leads[0],
      status: "queued",
      ab_test_id: null,
      ab_variant: null,
      subject_variant: "Quick question about your website",
      pixel_url: `/t/${first.tracking_token}/o.gif`,
    });
    expect(new Set(res.body.data.map((d: { tracking_token: string }) => d.tracking_token)).size).toBe(2);

    const { rows } = await api.db.primary.query(
      "SELECT status, tracking_token, tracked_links, created_at FROM email_sends WHERE id = $1",
      [first.email_send_id],
    );
    expect(rows[0]).toMatchObject({
      status: "queued",
      tracking_token: first.tracking_token,
      created_at: MON_10_BERLIN,
    });
    const sent = emails[0] as { links: string[]; demo_url: string; video_url: string };
    expect(rows[0].tracked_links).toEqual([...sent.links, sent.demo_url, sent.video_url]);
    const audits = await api.db.primary.query(
      "SELECT action FROM audit_log WHERE resource_type = 'email_send' AND resource_id = $1",
      [first.email_send_id],
    );
    expect(audits.rows).toEqual([{ action: "email_send.queued" }]);
  });

  it("assigns A/B subject variants deterministically when the campaign runs an active subject test", async () => {
    const c = await createCampaign(api, { status: "paused" });
    const variants = [
      { id: "A", subject: "Subject A" },
      { id: "B", subject: "Subject B" },
    ];
    const split = { A: 0.5, B: 0.5 };
    const { rows } = await api.db.primary.query(
      `INSERT INTO ab_tests (name, element_type, variants, split_ratio, status, campaign_id)
       VALUES ('subjects', 'subject_line', $1, $2, 'active', $3) RETURNING id`,
      [JSON.stringify(variants), JSON.stringify(split), c.id],
    );
    const testId = rows[0].id;
    const leads = await createLeads(api, 12);
    const data = await queueEmails(api, c.id, leads);
    for (const d of data) {
      const expected = assignVariant(testId, d.lead_id, variants, split);
      expect(d).toMatchObject({
        ab_test_id: testId,
        ab_variant: expected.id,
        subject_variant: expected.subject,
      });
    }
    expect(new Set(data.map((d) => d.ab_variant))).toEqual(new Set(["A", "B"]));
    const stored = await api.db.primary.query(
      "SELECT ab_test_id, ab_variant, subject_variant FROM email_sends WHERE id = $1",
      [data[0].email_send_id],
    );
    expect(stored.rows[0]).toEqual({
      ab_test_id: testId,
      ab_variant: data[0].ab_variant,
      subject_variant: data[0].subject_variant,
    });
  });

  it.each([
    ["an unknown field", (lead: string) => ({ emails: [{ ...emailInput(lead), cc: "x@y.z" }] }), "/emails/0"],
    [
      "a missing subject",
      (lead: string) => ({ emails: [{ ...emailInput(lead), subject: undefined }] }),
      "/emails/0/subject",
    ],
    [
      "a non-http link",
      (lead: string) => ({ emails: [emailInput(lead, { links: ["javascript:alert(1)"] })] }),
      "/emails/0/links/0",
    ],
    ["no emails", () => ({ emails: [] }), "/emails"],
    ["a lead that does not exist", () => ({ emails: [emailInput(randomUUID())] }), "/emails/0/lead_id"],
  ])("refuses %s with 422 and queues nothing", async (_what, body, path) => {
    const c = await createCampaign(api, { status: "paused" });
    const [lead] = await createLeads(api, 1);
    const res = await api.request("POST", "/api/v2/email/send", {
      key: ingest,
      body: { campaign_id: c.id, ...body(lead as string) },
    });
    expect(res.status).toBe(422);
    expectDocumented(res, "POST", "/api/v2/email/send");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    const { rowCount } = await api.db.primary.query("SELECT 1 FROM email_sends WHERE campaign_id = $1", [
      c.id,
    ]);
    expect(rowCount).toBe(0);
  });

  it("refuses an unknown campaign with 422 and an archived one with 409", async () => {
    const [lead] = await createLeads(api, 1);
    const unknown = await api.request("POST", "/api/v2/email/send", {
      body: { campaign_id: randomUUID(), emails: [emailInput(lead as string)] },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toContainEqual(expect.objectContaining({ path: "/campaign_id" }));
    const c = await createCampaign(api, { status: "draft" });
    await api.request("PATCH", `/api/v2/campaigns/${c.id}`, { body: { status: "archived" } });
    const archived = await api.request("POST", "/api/v2/email/send", {
      body: { campaign_id: c.id, emails: [emailInput(lead as string)] },
    });
    expect(archived.status).toBe(409);
    expectDocumented(archived, "POST", "/api/v2/email/send");
  });

  it("replays an Idempotency-Key byte for byte and queues once", async () => {
    const c = await createCampaign(api, { status: "paused" });
    const leads = await createLeads(api, 2);
    const body = { campaign_id: c.id, emails: leads.map((id) => emailInput(id)) };
    await expectIdempotentReplay(api, "/api/v2/email/send", body, 202, { key: ingest });
    const { rowCount } = await api.db.primary.query("SELECT 1 FROM email_sends WHERE campaign_id = $1", [
      c.id,
    ]);
    expect(rowCount).toBe(2);
  });
});

describe("pacing: POST /api/v2/email/claim and GET /api/v2/campaigns/{id}/sending-status", () => {
  it("hands out exactly daily_limit emails per local day, only inside the window, and says why not", async () => {
    const id = await pacedCampaign(3, 10);

    api.setNow(new Date("2030-03-04T09:30:00Z"));
    expect(await sendingStatus(id)).toMatchObject({
      state: "sending",
      queued: 10,
      claimed_today: 0,
      daily_limit: 3,
      remaining_today: 3,
      local_time: "2030-03-04T10:30:00",
      window_open: true,
      next_window_opens_at: null,
    });

    const firstTwo = await claimAndSend(id, { limit: 2 });
    expect(firstTwo).toHaveLength(2);
    api.setNow(new Date("2030-03-04T12:00:00Z"));
    const rest = [...(await claimAndSend(id)), ...(await claimAndSend(id)), ...(await claimAndSend(id))];
    expect(rest).toHaveLength(1);
    expect(await sendingStatus(id)).toMatchObject({
      state: "daily_limit_reached",
      queued: 7,
      claimed_today: 3,
      remaining_today: 0,
      // Tuesday 09:00 Berlin.
      next_window_opens_at: "2030-03-05T08:00:00.000Z",
    });

    // Monday 18:00 Berlin: the window has closed.
    api.setNow(new Date("2030-03-04T17:00:00Z"));
    expect(await claim(id)).toHaveLength(0);
    const closed = await sendingStatus(id);
    expect(closed).toMatchObject({
      state: "outside_window",
      window_open: false,
      local_time: "2030-03-04T18:00:00",
      next_window_opens_at: "2030-03-05T08:00:00.000Z",
    });
    expect(closed.reason).toMatch(/outside the send window/);

    // Tuesday 08:59 Berlin: a new local day, but the window is not open yet.
    api.setNow(new Date("2030-03-05T07:59:00Z"));
    expect(await claim(id)).toHaveLength(0);
    expect((await sendingStatus(id)).state).toBe("outside_window");

    // Tuesday 09:00 Berlin: three more, then none.
    api.setNow(new Date("2030-03-05T08:00:00Z"));
    const tuesday = [...(await claimAndSend(id)), ...(await claimAndSend(id))];
    expect(tuesday).toHaveLength(3);
    const allIds = new Set([...firstTwo, ...rest, ...tuesday].map((e) => e.email_send_id));
    expect(allIds.size).toBe(6);

    // Saturday is not a sending day; the next opening is Monday 09:00 Berlin.
    api.setNow(new Date("2030-03-09T10:00:00Z"));
    expect(await claim(id)).toHaveLength(0);
    expect(await sendingStatus(id)).toMatchObject({
      state: "outside_window",
      next_window_opens_at: "2030-03-11T08:00:00.000Z",
    });

    // An independent count of what the database says was claimed per local day.
    const { rows } = await api.db.primary.query(
      `SELECT (claimed_at AT TIME ZONE 'UTC' AT TIME ZONE 'Europe/Berlin')::date::text AS day, count(*)::int AS n
         FROM email_sends WHERE campaign_id = $1 AND claimed_at IS NOT NULL GROUP BY 1 ORDER BY 1`,
      [id],
    );
    expect(rows).toEqual([
      { day: "2030-03-04", n: 3 },
      { day: "2030-03-05", n: 3 },
    ]);
  });

  it("sends nothing for a paused campaign and says so; nothing_queued for an empty one", async () => {
    const id = await pacedCampaign(3, 2);
    await api.request("PATCH", `/api/v2/campaigns/${id}`, { body: { status: "paused" } });
    api.setNow(new Date("2030-03-06T10:00:00Z"));
    expect(await claim(id)).toHaveLength(0);
    expect(await sendingStatus(id)).toMatchObject({ state: "paused", queued: 2, next_window_opens_at: null });

    await api.request("PATCH", `/api/v2/campaigns/${id}`, { body: { status: "active" } });
    expect((await sendingStatus(id)).state).toBe("sending");
    expect(await claim(id)).toHaveLength(2);
    expect(await sendingStatus(id)).toMatchObject({ state: "nothing_queued", queued: 0, claimed_today: 2 });

    const empty = await pacedCampaign(3, 0);
    expect(await sendingStatus(empty)).toMatchObject({ state: "nothing_queued", queued: 0 });
    const draft = await createCampaign(api, { status: "draft" });
    expect((await sendingStatus(draft.id)).state).toBe("draft");
  });

  it("never exceeds the daily limit when senders claim in parallel", async () => {
    const id = await pacedCampaign(3, 10);
    api.setNow(new Date("2030-03-07T10:00:00Z"));
    const batches = await Promise.all(
      Array.from({ length: 6 }, (_, i) => claim(id, { sender_id: `parallel-${i}` })),
    );
    const claimed = batches.flat();
    expect(claimed).toHaveLength(3);
    expect(new Set(claimed.map((e) => e.email_send_id)).size).toBe(3);
    const again = await Promise.all([claim(id), claim(id)]);
    expect(again.flat()).toHaveLength(0);
  });

  it("returns an email whose lease expired without a report to the queue", async () => {
    const id = await pacedCampaign(10, 1);
    api.setNow(new Date("2030-03-07T10:00:00Z"));
    const [first] = await claim(id, { lease_seconds: 60 });
    expect(first).toBeDefined();
    expect(first.lease_expires_at).toBe("2030-03-07T10:01:00.000Z");
    expect(await claim(id)).toHaveLength(0);
    api.setNow(new Date("2030-03-07T10:01:00Z"));
    const [again] = await claim(id, { sender_id: "sender-2" });
    expect(again?.email_send_id).toBe(first.email_send_id);
    const { rows } = await api.db.primary.query(
      "SELECT attempts, lease_owner FROM email_sends WHERE id = $1",
      [first.email_send_id],
    );
    expect(rows[0]).toEqual({ attempts: 2, lease_owner: "sender-2" });
    // The original holder has lost the claim.
    const late = await api.request("POST", `/api/v2/email/${first.email_send_id}/report`, {
      key: sender,
      body: { sender_id: "sender-1", outcome: "sent" },
    });
    expect(late.status).toBe(409);
  });

  it("gives the sender what it needs: address, content, pixel and tracked click URLs", async () => {
    api.setNow(MON_10_BERLIN);
    const c = await createCampaign(api);
    const [lead] = await createLeads(api, 1);
    const input = emailInput(lead as string) as { demo_url: string; video_url: string; links: string[] };
    const q = await api.request("POST", "/api/v2/email/send", {
      body: { campaign_id: c.id, emails: [input] },
    });
    const [claimed] = await claim(c.id);
    const token = q.body.data[0].tracking_token;
    // The address as ingested (the database holds it encrypted).
    const stored = await api.request("GET", `/api/v2/leads/${lead}`);
    expect(stored.body.contact_email).toMatch(/^jane@acme-/);
    expect(claimed).toMatchObject({
      email_send_id: q.body.data[0].email_send_id,
      lead_id: lead,
      to_email: stored.body.contact_email,
      subject: "Quick question about your website",
      demo_url: input.demo_url,
      tracking_token: token,
      pixel_url: `/t/${token}/o.gif`,
      click_urls: {
        [input.demo_url]: `/t/${token}/c?u=${encodeURIComponent(input.demo_url)}`,
        [input.video_url]: `/t/${token}/c?u=${encodeURIComponent(input.video_url)}`,
        [input.links[0] as string]: `/t/${token}/c?u=${encodeURIComponent(input.links[0] as string)}`,
      },
    });
  });

  it("fails, and does not hand out, an email whose lead has no contact_email", async () => {
    api.setNow(MON_10_BERLIN);
    const c = await createCampaign(api);
    const res = await api.request("POST", "/api/v2/leads", {
      body: { leads: [leadInput({ contact_email: undefined })] },
    });
    const [queued] = await queueEmails(api, c.id, [res.body.data[0].id]);
    expect(await claim(c.id)).toHaveLength(0);
    const { rows } = await api.db.primary.query(
      "SELECT status, last_error, claimed_at FROM email_sends WHERE id = $1",
      [queued.email_send_id],
    );
    expect(rows[0]).toEqual({ status: "failed", last_error: "lead has no contact_email", claimed_at: null });
  });

  it("refuses bad claim input with 422", async () => {
    for (const body of [
      {},
      { sender_id: "s", limit: 0 },
      { sender_id: "s", limit: 501 },
      { sender_id: "s", x: 1 },
    ]) {
      const res = await api.request("POST", "/api/v2/email/claim", { key: sender, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expectDocumented(res, "POST", "/api/v2/email/claim");
    }
  });

  it("replays a claim's Idempotency-Key instead of claiming again", async () => {
    const id = await pacedCampaign(10, 2);
    api.setNow(new Date("2030-03-08T10:00:00Z"));
    const body = { sender_id: "idem-sender", limit: 500, campaign_ids: [id] };
    const first = await expectIdempotentReplay(api, "/api/v2/email/claim", body, 200, { key: sender });
    const mine = first.body.data.filter((e: { campaign_id: string }) => e.campaign_id === id);
    expect(mine).toHaveLength(2);
    const { rows } = await api.db.primary.query(
      "SELECT attempts FROM email_sends WHERE campaign_id = $1 ORDER BY id",
      [id],
    );
    expect(rows).toEqual([{ attempts: 1 }, { attempts: 1 }]);
  });
});

describe("a send written outside the API", () => {
  it("is claimed and reported although its created_at has microseconds (the partition key is matched exactly)", async () => {
    const campaignId = await pacedCampaign(10, 0);
    const [leadId] = await createLeads(api, 1);
    const { rows } = await api.db.primary.query<{ id: string }>(
      `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, tracking_token, status, created_at)
       VALUES ($1, $2, 'Hi', 'Hello', gen_random_uuid(), 'queued', '2030-03-04 08:00:00.123456') RETURNING id`,
      [campaignId, leadId],
    );
    const id = rows[0]?.id;
    const claimed = await claim(campaignId);
    expect(claimed.map((e: { email_send_id: string }) => e.email_send_id)).toEqual([id]);
    const res = await api.request("POST", `/api/v2/email/${id}/report`, {
      key: sender,
      body: { sender_id: "sender-1", outcome: "sent" },
    });
    expect(res.status, res.text).toBe(200);
    const stored = await api.db.primary.query("SELECT status FROM email_sends WHERE id = $1", [id]);
    expect(stored.rows).toEqual([{ status: "sent" }]);
  });
});

describe("POST /api/v2/email/{id}/report", () => {
  async function claimedEmail(): Promise<{ id: string; campaignId: string; leadId: string }> {
    const campaignId = await pacedCampaign(10, 1);
    const [e] = await claim(campaignId);
    return { id: e.email_send_id, campaignId, leadId: e.lead_id };
  }

  it("marks a claimed email sent at the request time and emits email.sent", async () => {
    const { id, campaignId, leadId } = await claimedEmail();
    api.setNow(new Date("2030-03-04T09:05:00Z"));
    const res = await api.request("POST", `/api/v2/email/${id}/report`, {
      key: sender,
      body: { sender_id: "sender-1", outcome: "sent", provider_message_id: "<abc@mail>" },
      headers: { "x-correlation-id": `report-${id}` },
    });
    expect(res.status).toBe(200);
    expectDocumented(res, "POST", "/api/v2/email/{id}/report");
    expect(res.body).toEqual({ email_send_id: id, status: "sent", sent_at: "2030-03-04T09:05:00.000Z" });
    const { rows } = await api.db.primary.query("SELECT status, sent_at FROM email_sends WHERE id = $1", [
      id,
    ]);
    expect(rows[0]).toEqual({ status: "sent", sent_at: new Date("2030-03-04T09:05:00Z") });
    const events = await api.db.primary.query(
      "SELECT type, payload FROM event_outbox WHERE correlation_id = $1",
      [`report-${id}`],
    );
    expect(events.rows).toEqual([
      {
        type: "email.sent",
        payload: {
          email_send_id: id,
          campaign_id: campaignId,
          lead_id: leadId,
          ab_test_id: null,
          ab_variant: null,
          sent_at: "2030-03-04T09:05:00.000Z",
        },
      },
    ]);

    const twice = await api.request("POST", `/api/v2/email/${id}/report`, {
      key: sender,
      body: { sender_id: "sender-1", outcome: "bounced" },
    });
    expect(twice.status).toBe(409);
    expectDocumented(twice, "POST", "/api/v2/email/{id}/report");
    expect(twice.body).toMatchObject({ from: "sent", to: "bounced" });
  });

  it("records a bounce (sent, not delivered: it has a sent_at) or a failure (never sent: none) with its error", async () => {
    for (const outcome of ["bounced", "failed"]) {
      const { id } = await claimedEmail();
      const res = await api.request("POST", `/api/v2/email/${id}/report`, {
        key: sender,
        body: { sender_id: "sender-1", outcome, error: "550 mailbox unavailable" },
      });
      expect(res.body).toEqual({
        email_send_id: id,
        status: outcome,
        sent_at: outcome === "bounced" ? expect.any(String) : null,
      });
      const { rows } = await api.db.primary.query(
        "SELECT status, last_error FROM email_sends WHERE id = $1",
        [id],
      );
      expect(rows[0]).toEqual({ status: outcome, last_error: "550 mailbox unavailable" });
    }
  });

  it("answers 409 for an email that was never claimed, 404 for an unknown one, 422 for bad input", async () => {
    api.setNow(MON_10_BERLIN);
    const c = await createCampaign(api, { status: "paused" });
    const [queued] = await queueEmails(api, c.id, await createLeads(api, 1));
    const notClaimed = await api.request("POST", `/api/v2/email/${queued.email_send_id}/report`, {
      key: sender,
      body: { sender_id: "sender-1", outcome: "sent" },
    });
    expect(notClaimed.status).toBe(409);
    expect(notClaimed.body).toMatchObject({ from: "queued", to: "sent" });

    const unknown = await api.request("POST", `/api/v2/email/${randomUUID()}/report`, {
      key: sender,
      body: { sender_id: "sender-1", outcome: "sent" },
    });
    expect(unknown.status).toBe(404);
    expectDocumented(unknown, "POST", "/api/v2/email/{id}/report");

    const { id } = await claimedEmail();
    for (const body of [{ sender_id: "sender-1", outcome: "delivered" }, { outcome: "sent" }]) {
      const res = await api.request("POST", `/api/v2/email/${id}/report`, { key: sender, body });
      expect(res.status).toBe(422);
      expectDocumented(res, "POST", "/api/v2/email/{id}/report");
    }
    const { rows } = await api.db.primary.query("SELECT status FROM email_sends WHERE id = $1", [id]);
    expect(rows[0].status).toBe("sending");
  });

  it("replays a report's Idempotency-Key byte for byte and emits one event", async () => {
    const { id } = await claimedEmail();
    const headers = { "x-correlation-id": `replay-${id}` };
    const body = { sender_id: "sender-1", outcome: "sent" };
    await expectIdempotentReplay(api, `/api/v2/email/${id}/report`, body, 200, { key: sender, headers });
    const { rowCount } = await api.db.primary.query("SELECT 1 FROM event_outbox WHERE correlation_id = $1", [
      `replay-${id}`,
    ]);
    expect(rowCount).toBe(1);
  });
});
