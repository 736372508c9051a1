import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { wilsonInterval } from "../../src/analytics/statistics.js";
import { waitForReplica } from "../../src/db/replication.js";
import { expectDocumented, startApi } from "../support/api.js";
import { insertCampaign, insertLead } from "../support/factories-engagement.js";

/**
 * Outcome leaderboard oracle: the data is written here as plain rows, the expected figures are computed from those
 * rows in TypeScript under the documented attribution rule (README "Outcome leaderboards"), and GraphQL
 * `modelOutcomes` must agree. The task type is unique to this file, so other tests' rows never count.
 */
const api = await startApi();
const q = async (sql: string, params: unknown[] = []) => (await api.db.primary.query(sql, params)).rows;
const taskType = `outcome_${randomUUID().slice(0, 8)}`;
const HOUR = 3_600_000;
const at = (hoursAgo: number) => new Date(Date.now() - hoursAgo * HOUR);

type Gym = { model: string; lead: string | null; cost: number; at: Date };
/** category: the classifier's (omitted: the database maps the sentiment); corrected: a human's verdict. */
type Reply = {
  lead: string;
  sentiment: string | null;
  direction: "inbound" | "outbound";
  at: Date;
  category?: string;
  corrected?: string;
};
type Meeting = { lead: string; at: Date };
type Deal = { lead: string; amount: number; currency: string; status: "won" | "open"; at: Date };

async function write(gym: Gym[], replies: Reply[], meetings: Meeting[], deals: Deal[]) {
  const campaign = await insertCampaign(api.db.primary);
  for (const g of gym)
    await q(
      `INSERT INTO ai_gym_performance (task_type, model_name, lead_id, cost, created_at) VALUES ($1, $2, $3, $4, $5)`,
      [taskType, g.model, g.lead, g.cost, g.at.toISOString()],
    );
  for (const r of replies) {
    const [conv] = await q(`INSERT INTO conversations (lead_id, campaign_id) VALUES ($1, $2) RETURNING id`, [
      r.lead,
      campaign,
    ]);
    await q(
      `INSERT INTO conversation_messages (conversation_id, direction, body, sentiment, sent_at, reply_category,
                                          reply_category_corrected, reply_category_corrected_at)
       VALUES ($1, $2, 'x', $3, $4, $5, $6::text, CASE WHEN $6::text IS NOT NULL THEN now() END)`,
      [conv.id, r.direction, r.sentiment, r.at.toISOString(), r.category ?? null, r.corrected ?? null],
    );
  }
  for (const m of meetings)
    await q(`INSERT INTO meetings (lead_id, campaign_id, booked_at) VALUES ($1, $2, $3)`, [
      m.lead,
      campaign,
      m.at.toISOString(),
    ]);
  for (const d of deals)
    await q(
      `INSERT INTO deals (lead_id, campaign_id, status, amount, currency, won_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [d.lead, campaign, d.status, d.amount, d.currency, d.status === "won" ? d.at.toISOString() : null],
    );
}

/** The effective category of an inbound reply: the correction, else the classifier's, else the sentiment mapping. */
const SENTIMENT_CATEGORY: Record<string, string> = { positive: "interested", interested: "interested" };
const effective = (r: Reply) => r.corrected ?? r.category ?? SENTIMENT_CATEGORY[r.sentiment ?? ""] ?? "other";

/** The documented rule, written independently of the SQL. */
function oracle(gym: Gym[], replies: Reply[], meetings: Meeting[], deals: Deal[], from: Date, to: Date) {
  const inPeriod = gym.filter((g) => g.at >= from && g.at < to);
  const models = [...new Set(inPeriod.map((g) => g.model))].sort();
  return models.map((model) => {
    const rows = inPeriod.filter((g) => g.model === model);
    const firstTouch = new Map<string, Date>();
    for (const g of rows)
      if (g.lead && (!firstTouch.has(g.lead) || g.at < (firstTouch.get(g.lead) as Date)))
        firstTouch.set(g.lead, g.at);
    const after = (lead: string, t: Date) => t >= (firstTouch.get(lead) as Date) && t < to;
    const leads = [...firstTouch.keys()];
    const positive = leads.filter((l) =>
      replies.some(
        (r) =>
          r.lead === l &&
          r.direction === "inbound" &&
          ["interested", "meeting_request"].includes(effective(r)) &&
          after(l, r.at),
      ),
    ).length;
    const meeting = leads.filter((l) => meetings.some((m) => m.lead === l && after(l, m.at))).length;
    const won = deals.filter((d) => d.status === "won" && firstTouch.has(d.lead) && after(d.lead, d.at));
    const spend = rows.reduce((s, g) => s + g.cost, 0);
    const usd = won.filter((d) => d.currency === "USD").reduce((s, d) => s + d.amount, 0);
    const n = leads.length;
    return {
      modelName: model,
      aiRuns: rows.length,
      aiSpendUsd: spend,
      leadsTouched: n,
      positiveReplyLeads: positive,
      meetingLeads: meeting,
      wonDeals: won.length,
      positiveReplyRate: n ? positive / n : null,
      positiveReplyRateInterval: wilsonInterval(n ? positive / n : null, n),
      meetingRate: n ? meeting / n : null,
      costPerPositiveReplyUsd: positive ? spend / positive : null,
      costPerMeetingUsd: meeting ? spend / meeting : null,
      revenuePerAiDollar: spend > 0 ? usd / spend : null,
    };
  });
}

describe("modelOutcomes: what followed each model's work, by lineage", () => {
  it("equals the rule computed from the base rows: credit after the first touch, per lead, multi-touch", async () => {
    const [l1, l2, l3, l4] = await Promise.all([1, 2, 3, 4].map(() => insertLead(api.db.primary)));
    const leads = [l1, l2, l3, l4] as string[];
    const [a, b, c, d] = leads as [string, string, string, string];
    const gym: Gym[] = [
      { model: "writer-a", lead: a, cost: 0.5, at: at(100) },
      { model: "writer-a", lead: a, cost: 0.25, at: at(90) },
      { model: "writer-a", lead: b, cost: 1, at: at(80) },
      { model: "writer-a", lead: null, cost: 2, at: at(70) }, // spend without a lead
      { model: "writer-b", lead: b, cost: 0.4, at: at(60) }, // a second model on b's path
      { model: "writer-b", lead: c, cost: 0.4, at: at(50) },
      { model: "writer-b", lead: d, cost: 0.1, at: at(24 * 40) }, // before the 30-day period
    ];
    const replies: Reply[] = [
      { lead: a, sentiment: "positive", direction: "inbound", at: at(95) }, // after a's first touch (100h)
      { lead: a, sentiment: "interested", direction: "inbound", at: at(85) }, // same lead: still one
      { lead: b, sentiment: "positive", direction: "inbound", at: at(70) }, // after writer-a (80h), before writer-b (60h)
      { lead: c, sentiment: "negative", direction: "inbound", at: at(40) }, // not positive
      { lead: c, sentiment: "positive", direction: "outbound", at: at(39) }, // outbound is not a reply
      { lead: d, sentiment: "positive", direction: "inbound", at: at(10) }, // d's only touch is outside the period
      // The taxonomy decides, not the sentiment: a classifier's meeting_request after writer-b touched b is
      // positive, a reply a human corrected from interested to not_interested is not.
      { lead: b, sentiment: null, category: "meeting_request", direction: "inbound", at: at(58) },
      {
        lead: c,
        sentiment: "positive",
        category: "interested",
        corrected: "not_interested",
        direction: "inbound",
        at: at(45),
      },
    ];
    const meetings: Meeting[] = [
      { lead: b, at: at(30) }, // after both writers touched b
      { lead: c, at: at(55) }, // before writer-b touched c
    ];
    const deals: Deal[] = [
      { lead: b, amount: 1200, currency: "USD", status: "won", at: at(20) },
      { lead: b, amount: 300, currency: "EUR", status: "won", at: at(19) },
      { lead: a, amount: 999, currency: "USD", status: "open", at: at(18) }, // not won
    ];
    await write(gym, replies, meetings, deals);
    await refreshViews(api.db.primary, "test");
    if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);

    const res = await api.graphql(
      `query($t: String!) { modelOutcomes(taskType: $t, period: "30d", minSamples: 2) {
         asOf period { from to }
         entries { modelName aiRuns aiSpendUsd leadsTouched positiveReplyLeads meetingLeads wonDeals
                   wonRevenue { currency amount } positiveReplyRate positiveReplyRateInterval { low high }
                   meetingRate costPerPositiveReplyUsd costPerMeetingUsd revenuePerAiDollar belowMinSamples } } }`,
      { t: taskType },
    );
    expect(res.body.errors, JSON.stringify(res.body.errors)).toBeUndefined();
    const out = res.body.data.modelOutcomes;
    const expected = oracle(
      gym,
      replies,
      meetings,
      deals,
      new Date(out.period.from),
      new Date(out.period.to),
    );
    const byModel = Object.fromEntries(out.entries.map((e: { modelName: string }) => [e.modelName, e]));
    for (const e of expected) expect(byModel[e.modelName]).toMatchObject(e);
    expect(Object.keys(byModel).sort()).toEqual(expected.map((e) => e.modelName));

    // The hand-checked facts behind the oracle, so the oracle itself cannot drift silently.
    expect(byModel["writer-a"]).toMatchObject({
      leadsTouched: 2,
      positiveReplyLeads: 2,
      meetingLeads: 1,
      wonDeals: 2,
    });
    expect(byModel["writer-a"].wonRevenue).toEqual([
      { currency: "EUR", amount: "300.00" },
      { currency: "USD", amount: "1200.00" },
    ]);
    expect(byModel["writer-a"].revenuePerAiDollar).toBeCloseTo(1200 / 3.75, 9);
    expect(byModel["writer-b"]).toMatchObject({
      leadsTouched: 2,
      positiveReplyLeads: 1,
      meetingLeads: 1,
      aiRuns: 2,
    });
    expect(byModel["writer-b"].costPerPositiveReplyUsd).toBeCloseTo(0.8, 9);
    expect(byModel["writer-a"].belowMinSamples).toBe(false);
    // Best first by revenue per AI dollar: b's deal followed writer-b too (1200 / 0.80 > 1200 / 3.75).
    expect(byModel["writer-b"].revenuePerAiDollar).toBeCloseTo(1200 / 0.8, 9);
    expect(out.entries.map((e: { modelName: string }) => e.modelName)).toEqual(["writer-b", "writer-a"]);

    // REST: the AI-GYM leaderboard with the same outcomes, ordered by the metric asked for.
    const rest = await api.request(
      "GET",
      `/api/v2/analytics/models?task_type=${taskType}&period=30d&metric=cost_per_positive_reply&min_samples=2`,
    );
    expect(rest.status, rest.text).toBe(200);
    expectDocumented(rest, "GET", "/api/v2/analytics/models");
    expect(rest.body.meta).toMatchObject({ metric: "cost_per_positive_reply", min_samples: 2 });
    // Costs lowest first: writer-b 0.80 per positive lead, writer-a 3.75 / 2.
    expect(rest.body.data.map((e: { model_name: string }) => e.model_name)).toEqual(["writer-b", "writer-a"]);
    for (const e of rest.body.data) {
      const g = byModel[e.model_name];
      expect(e.outcomes).toMatchObject({
        leads_touched: g.leadsTouched,
        positive_reply_leads: g.positiveReplyLeads,
        meeting_leads: g.meetingLeads,
        won_deals: g.wonDeals,
        won_revenue: g.wonRevenue,
        below_min_samples: g.belowMinSamples,
      });
      expect(e.outcomes.cost_per_positive_reply).toBeCloseTo(g.costPerPositiveReplyUsd, 12);
      expect(e.outcomes.revenue_per_ai_dollar).toBeCloseTo(g.revenuePerAiDollar, 12);
    }
    const byMeeting = await api.request(
      "GET",
      `/api/v2/analytics/models?task_type=${taskType}&period=30d&metric=meeting_rate`,
    );
    expect(byMeeting.status).toBe(200);
    // Both 1 meeting lead of 2 touched: the tie goes by name.
    expect(byMeeting.body.data.map((e: { model_name: string }) => e.model_name)).toEqual([
      "writer-a",
      "writer-b",
    ]);
    const plain = await api.request("GET", `/api/v2/analytics/models?task_type=${taskType}&period=30d`);
    expect(plain.body.data[0].outcomes).toBeUndefined();
    const bad = await api.request("GET", `/api/v2/analytics/models?task_type=${taskType}&metric=profit`);
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toContain("/metric");
  });

  it("credits the models that artefacts on the lead's path name, without AI-GYM records (lineage)", async () => {
    const [x, y] = (await Promise.all([1, 2].map(() => insertLead(api.db.primary)))) as [string, string];
    const tag = randomUUID().slice(0, 8);
    const [mail, analyser, drafter] = [`mail-${tag}`, `analyser-${tag}`, `drafter-${tag}`];
    const campaign = await insertCampaign(api.db.primary);
    // mail wrote x's delivered email (no AI-GYM row) and has an AI-GYM record for y; analyser analysed y;
    // drafter wrote an outbound AI reply in x's thread. A queued email and a failed analysis touch nobody.
    await q(
      `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, model_used, status, created_at, sent_at)
       VALUES ($1, $2, 's', 'b', $3, 'sent', $4, $4), ($1, $5, 's', 'b', $3, 'queued', $4, NULL)`,
      [campaign, x, mail, at(50).toISOString(), y],
    );
    await q(
      `INSERT INTO ai_gym_performance (task_type, model_name, lead_id, cost, created_at)
       VALUES ('email_copy', $1, $2, 0.2, $3)`,
      [mail, y, at(70).toISOString()],
    );
    await q(
      `INSERT INTO website_analyses (lead_id, status, model_used, created_at, completed_at)
       VALUES ($1, 'completed', $2, $3, $3), ($4, 'failed', $2, $3, NULL)`,
      [y, analyser, at(60).toISOString(), x],
    );
    const [conv] = await q(`INSERT INTO conversations (lead_id, campaign_id) VALUES ($1, $2) RETURNING id`, [
      x,
      campaign,
    ]);
    await q(
      `INSERT INTO conversation_messages (conversation_id, direction, body, model_used, sent_at, reply_category)
       VALUES ($1, 'outbound', 'x', $2, $3, NULL), ($1, 'inbound', 'x', NULL, $4, 'interested')`,
      [conv.id, drafter, at(45).toISOString(), at(40).toISOString()],
    );
    await q(`INSERT INTO meetings (lead_id, campaign_id, booked_at) VALUES ($1, $2, $3)`, [
      y,
      campaign,
      at(30).toISOString(),
    ]);
    await refreshViews(api.db.primary, "test");
    if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
    const entry = async (task: string, model: string) => {
      const res = await api.graphql(
        `query($t: String!) { modelOutcomes(taskType: $t, period: "7d", minSamples: 1) { entries {
           modelName aiRuns aiSpendUsd leadsTouched positiveReplyLeads meetingLeads costPerPositiveReplyUsd } } }`,
        { t: task },
      );
      expect(res.body.errors).toBeUndefined();
      return res.body.data.modelOutcomes.entries.find((e: { modelName: string }) => e.modelName === model);
    };
    expect(await entry("email_copy", mail)).toEqual({
      modelName: mail,
      aiRuns: 1,
      aiSpendUsd: 0.2,
      leadsTouched: 2,
      positiveReplyLeads: 1,
      meetingLeads: 1,
      costPerPositiveReplyUsd: 0.2,
    });
    expect(await entry("website_analysis", analyser)).toMatchObject({
      aiRuns: 0,
      leadsTouched: 1,
      positiveReplyLeads: 0,
      meetingLeads: 1,
      costPerPositiveReplyUsd: null,
    });
    expect(await entry("reply_drafting", drafter)).toMatchObject({
      aiRuns: 0,
      leadsTouched: 1,
      positiveReplyLeads: 1,
      meetingLeads: 0,
    });
  });

  it("refuses a malformed task type and a negative minSamples with a client error", async () => {
    const bad = await api.graphql(`{ modelOutcomes(taskType: "Bad Type") { minSamples } }`);
    expect(bad.body.errors?.[0]?.extensions?.code).toBeDefined();
    expect(JSON.stringify(bad.body.errors)).toMatch(/taskType/);
    const neg = await api.graphql(`{ modelOutcomes(minSamples: -1) { minSamples } }`);
    expect(JSON.stringify(neg.body.errors)).toMatch(/minSamples/);
  });
});
