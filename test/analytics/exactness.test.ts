import { beforeAll, describe, expect, inject, it } from "vitest";
import { FUNNEL_METRICS } from "../../src/analytics/get-campaign-kpis.js";
import { PLATFORM_METRICS } from "../../src/analytics/get-platform-activity.js";
import { STEP_COUNTS } from "../../src/analytics/get-step-analytics.js";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { migrate } from "../../src/db/migrate.js";
import { waitForReplica } from "../../src/db/replication.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { expectDocumented, startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import {
  type FunnelFacts,
  type OraclePeriod,
  oracleAbTests,
  oracleFunnel,
  oracleLeaderboard,
  oracleModelOutcomes,
  oraclePlatform,
  oracleRevenue,
  oracleSteps,
} from "../support/kpi-oracle.js";
import { withDatabase } from "../support/urls.js";

// A seeded database of its own (nobody else writes there), refreshed once: every number the REST analytics and
// GraphQL return must equal the oracle's aggregation over the base tables.
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });
// The dataset is anchored at the start of the current UTC day, so what it holds moves from day to day; with 400
// leads, a day can have no automatic reply at all (2026-12-04 had none). The first seed whose dataset has some in
// the zone periods below is used, so that the step breakdown's guard ("the seeded data exercises it") means
// something on any day.
for (const seed of [11, 13, 17, 19, 23, 29]) {
  await seedDemoData(pool, { leads: 400, seed, spanDays: 150, reset: true });
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM email_send_outcomes o JOIN email_sends s ON s.id = o.id
      WHERE o.delivered AND s.replied_at IS NOT NULL AND NOT o.replied
        AND o.sent_at >= '2026-07-01' AND o.sent_at < '2026-11-20'`,
  );
  if ((rows[0]?.n ?? 0) > 0) break;
}
const refresh = await refreshViews(pool, "test");
const replicaUrl = inject("replicaUrl")
  ? withDatabase(inject("replicaUrl") as string, new URL(url).pathname.slice(1))
  : undefined;
const api = await startApi({ databaseUrl: url, replicaUrl });
if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
// The second suite moves it (late writes to closed days, then another refresh).
let asOf = refresh.as_of;

// The metric names are the contract's; the numbers behind them come from the oracle.
const FUNNEL = FUNNEL_METRICS;
const camel = (s: string) => s.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
const cents = (amount: string) => Math.round(Number(amount) * 100);

function sumFunnel(rows: FunnelFacts[]): Record<(typeof FUNNEL)[number], number> {
  return Object.fromEntries(FUNNEL.map((m) => [m, rows.reduce((n, r) => n + r[m], 0)])) as Record<
    (typeof FUNNEL)[number],
    number
  >;
}
function revenueOf(rows: { currency: string; cents: number; deals_won: number }[]) {
  const byCurrency = new Map<string, number>();
  for (const r of rows) byCurrency.set(r.currency, (byCurrency.get(r.currency) ?? 0) + r.cents);
  return {
    deals_won: rows.reduce((n, r) => n + r.deals_won, 0),
    revenue: [...byCurrency.entries()].sort().map(([currency, c]) => ({ currency, cents: c })),
  };
}
const rateOf = (n: number, d: number) => (d === 0 ? null : n / d);

const OUTREACH = `funnel { queued sent bounced delivered opened clicked replied positiveReplies meetingsBooked }
  rates { deliveryRate bounceRate openRate clickRate replyRate positiveReplyRate meetingBookingRate }
  dealsWon revenue { currency amount }`;

type GqlOutreach = {
  funnel: Record<string, number>;
  rates: Record<string, number | null>;
  dealsWon: number;
  revenue: { currency: string; amount: string }[];
};

function expectOutreach(
  got: GqlOutreach,
  funnelRows: FunnelFacts[],
  revenueRows: { currency: string; cents: number; deals_won: number }[],
  label: string,
) {
  const f = sumFunnel(funnelRows);
  for (const m of FUNNEL) expect(got.funnel[camel(m)], `${label} ${m}`).toBe(f[m]);
  const r = revenueOf(revenueRows);
  expect(got.dealsWon, `${label} dealsWon`).toBe(r.deals_won);
  expect(
    got.revenue.map((x) => ({ currency: x.currency, cents: cents(x.amount) })),
    `${label} revenue`,
  ).toEqual(r.revenue);
  const rates: Record<string, number | null> = {
    deliveryRate: rateOf(f.delivered, f.sent),
    bounceRate: rateOf(f.bounced, f.sent),
    openRate: rateOf(f.opened, f.delivered),
    clickRate: rateOf(f.clicked, f.delivered),
    replyRate: rateOf(f.replied, f.delivered),
    positiveReplyRate: rateOf(f.positive_replies, f.delivered),
    meetingBookingRate: rateOf(f.meetings_booked, f.delivered),
  };
  for (const [k, v] of Object.entries(rates))
    if (v === null) expect(got.rates[k], `${label} ${k}`).toBeNull();
    else expect(got.rates[k], `${label} ${k}`).toBeCloseTo(v, 12);
}

/**
 * Arbitrary from/to periods in three time zones, each at every granularity: the week holding the US DST change
 * (Sun 1 Nov 2026) with ISO weeks and months cut by the period's ends; +05:30, where local midnights fall on half
 * hours; +05:45, on quarter hours.
 */
const ZONE_PERIODS = [
  { timezone: "America/New_York", from: "2026-09-15", to: "2026-11-20" },
  { timezone: "Asia/Kolkata", from: "2026-07-01", to: "2026-11-24" },
  { timezone: "Asia/Kathmandu", from: "2026-10-20", to: "2026-11-24" },
] as const;
const GRANULARITY_ENUM = { day: "DAY", week: "WEEK", month: "MONTH" } as const;
const CASES: (OraclePeriod & { args: string })[] = ZONE_PERIODS.flatMap((z) =>
  (["day", "week", "month"] as const).map((granularity) => ({
    ...z,
    granularity,
    args: `from: "${z.from}", to: "${z.to}", timeZone: "${z.timezone}", granularity: ${GRANULARITY_ENUM[granularity]}`,
  })),
);

function exactnessSuite() {
  it("seeded enough to mean something", async () => {
    const f = sumFunnel(await oracleFunnel(pool, { ...CASES[0], granularity: "week" } as OraclePeriod));
    expect(f.sent).toBeGreaterThan(200);
    expect(f.replied).toBeGreaterThan(5);
  });

  for (const c of CASES) {
    it(`GraphQL overview, ${c.timezone} by ${c.granularity}`, async () => {
      const res = await api.graphql(`{ overview(${c.args}) {
        asOf period { from to timeZone } granularity
        platform { leadsScraped analysesCompleted demosDeployed videosReady emailsSent aiRuns aiSpendUsd }
        platformSeries { start activity { leadsScraped analysesCompleted demosDeployed videosReady emailsSent aiRuns aiSpendUsd } }
        outreach { ${OUTREACH} }
        outreachSeries { start kpis { ${OUTREACH} } } } }`);
      expect(res.status).toBe(200);
      expect(res.body.errors).toBeUndefined();
      const o = res.body.data.overview;
      expect(o.asOf).toBe(asOf.toISOString());
      expect(o.period).toEqual({ from: c.from, to: c.to, timeZone: c.timezone });

      const [funnel, revenue, platform] = await Promise.all([
        oracleFunnel(pool, c),
        oracleRevenue(pool, c),
        oraclePlatform(pool, c),
      ]);
      const starts: string[] = o.outreachSeries.map((p: { start: string }) => p.start);
      for (const r of [...funnel, ...revenue])
        expect(starts, "every step with data is in the series").toContain(r.start);
      expectOutreach(o.outreach, funnel, revenue, "total");
      for (const p of o.outreachSeries)
        expectOutreach(
          p.kpis,
          funnel.filter((r) => r.start === p.start),
          revenue.filter((r) => r.start === p.start),
          p.start,
        );

      const metrics = PLATFORM_METRICS;
      for (const [i, p] of o.platformSeries.entries()) {
        expect(p.start).toBe(starts[i]);
        const want = platform.get(p.start);
        for (const m of metrics) expect(p.activity[camel(m)], `${p.start} ${m}`).toBe(want?.[m] ?? 0);
        expect(p.activity.aiSpendUsd).toBeCloseTo(want?.ai_spend ?? 0, 6);
      }
      for (const m of metrics)
        expect(o.platform[camel(m)], m).toBe([...platform.values()].reduce((n, x) => n + x[m], 0));
      for (const start of platform.keys()) expect(starts).toContain(start);
    });
  }

  it("step × variant analytics (REST and GraphQL) for every campaign, several periods and zones", async () => {
    const key = await api.keyWith("analytics:read");
    const campaigns = (await pool.query<{ id: string }>("SELECT id FROM campaigns ORDER BY id")).rows;
    // The contract's names; the numbers behind them come from the oracle.
    const counts = STEP_COUNTS;
    const seen = { steps: new Set<number>(), variants: 0, automatic: 0, meetingsLater: 0, unsubscribes: 0 };
    for (const c of ZONE_PERIODS) {
      const args = `from: "${c.from}", to: "${c.to}", timeZone: "${c.timezone}"`;
      const gql = await api.graphql(`{ campaigns(first: 50) { nodes { id steps(${args}) {
        period { from to timeZone }
        rows { step variant ${counts.map(camel).join(" ")}
               rates { openRate { value numerator denominator over } meetingRate { value denominator over } } } } } } }`);
      expect(gql.body.errors).toBeUndefined();
      for (const { id } of campaigns) {
        const want = await oracleSteps(pool, id, c);
        const label = `${id} ${c.timezone} ${c.from}..${c.to}`;
        const rest = await api.request(
          "GET",
          `/api/v2/analytics/campaigns/${id}/steps?from=${c.from}&to=${c.to}&timezone=${c.timezone}`,
          { key },
        );
        expect(rest.status, rest.text).toBe(200);
        expectDocumented(rest, "GET", "/api/v2/analytics/campaigns/{id}/steps");
        const pick = (r: Record<string, unknown>, name: (k: string) => string) =>
          Object.fromEntries(["step", "variant", ...counts].map((k) => [k, r[name(k)]]));
        expect(
          rest.body.data.map((r: Record<string, unknown>) => pick(r, (k) => k)),
          label,
        ).toEqual(want.map((w) => pick(w, (k) => k)));
        const node = gql.body.data.campaigns.nodes.find((n: { id: string }) => n.id === id);
        expect(
          node.steps.rows.map((r: Record<string, unknown>) => pick(r, camel)),
          label,
        ).toEqual(want.map((w) => pick(w, (k) => k)));
        for (const r of rest.body.data) {
          expect(r.rates.open_rate).toEqual({
            value: rateOf(r.unique_opens, r.delivered),
            numerator: "unique_opens",
            denominator: "delivered",
            over: r.delivered,
          });
          expect(r.rates.bounce_rate.denominator).toBe("sent");
        }
        for (const w of want) {
          seen.steps.add(w.step);
          if (w.variant) seen.variants++;
          seen.automatic += w.automatic_replies;
          seen.unsubscribes += w.unsubscribes;
          if (w.step > 1) seen.meetingsLater += w.meetings;
        }
      }
    }
    // The seeded data exercises what the breakdown is for.
    expect(seen.steps.size, "several steps").toBeGreaterThanOrEqual(3);
    expect(seen.variants, "A/B variants").toBeGreaterThan(0);
    expect(seen.automatic, "automatic replies").toBeGreaterThan(0);
    expect(seen.unsubscribes, "unsubscribes").toBeGreaterThan(0);
    expect(seen.meetingsLater, "meetings credited to follow-ups (last touch)").toBeGreaterThan(0);
  });

  it("outcome leaderboards (GraphQL modelOutcomes, REST metric=) for every task type and several periods", async () => {
    const key = await api.keyWith("analytics:read");
    const taskTypes = (
      await pool.query<{ t: string }>("SELECT DISTINCT task_type AS t FROM ai_gym_performance ORDER BY 1")
    ).rows.map((r) => r.t);
    let credited = 0;
    for (const taskType of taskTypes)
      for (const days of [7, 30, 120]) {
        const label = `${taskType} ${days}d`;
        const want = await oracleModelOutcomes(
          pool,
          taskType,
          new Date(asOf.getTime() - days * 86_400_000),
          asOf,
        );
        const gql =
          await api.graphql(`{ modelOutcomes(taskType: "${taskType}", period: "${days}d", minSamples: 5) {
          entries { modelName aiRuns aiSpendUsd leadsTouched positiveReplyLeads meetingLeads wonDeals
                    wonRevenue { currency amount } positiveReplyRate costPerMeetingUsd belowMinSamples } } }`);
        expect(gql.body.errors).toBeUndefined();
        const rest = await api.request(
          "GET",
          `/api/v2/analytics/models?task_type=${taskType}&period=${days}d&metric=revenue_per_ai_dollar&min_samples=5`,
          { key },
        );
        expect(rest.status, rest.text).toBe(200);
        const entries = gql.body.data.modelOutcomes.entries;
        expect(entries.map((e: { modelName: string }) => e.modelName).sort(), label).toEqual(
          want.map((w) => w.model_name),
        );
        for (const w of want) {
          const g = entries.find((e: { modelName: string }) => e.modelName === w.model_name);
          const r = rest.body.data.find(
            (e: { model_name: string }) => e.model_name === w.model_name,
          )?.outcomes;
          const l = `${label} ${w.model_name}`;
          for (const [got, name] of [
            [g, (k: string) => camel(k)],
            [r, (k: string) => k],
          ] as const) {
            expect(got[name("ai_runs")], l).toBe(w.ai_runs);
            expect(got[name("leads_touched")], l).toBe(w.leads_touched);
            expect(got[name("positive_reply_leads")], l).toBe(w.positive_reply_leads);
            expect(got[name("meeting_leads")], l).toBe(w.meeting_leads);
            expect(got[name("won_deals")], l).toBe(w.won_deals);
            expect(got[name("below_min_samples")], l).toBe(w.leads_touched < 5);
            expect(
              Object.fromEntries(
                got[g === got ? "wonRevenue" : "won_revenue"].map(
                  (m: { currency: string; amount: string }) => [m.currency, cents(m.amount)],
                ),
              ),
              l,
            ).toEqual(w.revenue);
          }
          expect(g.aiSpendUsd, l).toBeCloseTo(w.ai_spend, 9);
          expect(r.ai_spend, l).toBeCloseTo(w.ai_spend, 9);
          expect(g.positiveReplyRate, l).toBe(rateOf(w.positive_reply_leads, w.leads_touched));
          expect(g.costPerMeetingUsd ?? null, l).toBe(w.meeting_leads ? w.ai_spend / w.meeting_leads : null);
          credited += w.positive_reply_leads + w.meeting_leads + w.won_deals;
        }
      }
    expect(credited, "the seeded data credits outcomes to models").toBeGreaterThan(20);
  });

  it("GraphQL campaigns: each campaign's performance and the connection's totals", async () => {
    const c = CASES.find((k) => k.timezone === "Asia/Kathmandu" && k.granularity === "day");
    if (!c) throw new Error("no Kathmandu by-day case");
    const res = await api.graphql(`{ campaigns(first: 50) { totalCount
      totals(${c.args}) { totals { ${OUTREACH} } }
      nodes { id performance(${c.args}) { asOf totals { ${OUTREACH} } series { start kpis { ${OUTREACH} } } } } } }`);
    expect(res.body.errors).toBeUndefined();
    const conn = res.body.data.campaigns;
    const ids = (await pool.query<{ id: string }>("SELECT id FROM campaigns")).rows.map((r) => r.id);
    expect(conn.totalCount).toBe(ids.length);
    const [funnel, revenue] = await Promise.all([oracleFunnel(pool, c), oracleRevenue(pool, c)]);
    expectOutreach(conn.totals.totals, funnel, revenue, "all campaigns");
    for (const node of conn.nodes) {
      const mine = funnel.filter((r) => r.campaign_id === node.id);
      const mineRevenue = revenue.filter((r) => r.campaign_id === node.id);
      expect(node.performance.asOf).toBe(asOf.toISOString());
      expectOutreach(node.performance.totals, mine, mineRevenue, node.id);
      for (const p of node.performance.series)
        expectOutreach(
          p.kpis,
          mine.filter((r) => r.start === p.start),
          mineRevenue.filter((r) => r.start === p.start),
          `${node.id} ${p.start}`,
        );
    }
  });

  it("REST overview: 30 days ending with asOf's local day, by day", async () => {
    const res = await api.request("GET", "/api/v2/analytics/overview?period=30d&timezone=Europe/Berlin", {
      key: await api.keyWith("analytics:read"),
    });
    expect(res.status).toBe(200);
    expectDocumented(res, "GET", "/api/v2/analytics/overview");
    const to = new Intl.DateTimeFormat("en-CA", { timeZone: "Europe/Berlin" }).format(asOf);
    const from = new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
    expect(res.body.meta).toMatchObject({
      as_of: asOf.toISOString(),
      period: { from, to, timezone: "Europe/Berlin" },
      granularity: "day",
    });
    expect(res.body.data.outreach.series).toHaveLength(30);
    const p: OraclePeriod = { from, to, timezone: "Europe/Berlin", granularity: "day" };
    const f = sumFunnel(await oracleFunnel(pool, p));
    for (const m of FUNNEL) expect(res.body.data.outreach.totals.funnel[m], m).toBe(f[m]);
    expect(res.body.data.rates.reply_rate).toBe(rateOf(f.replied, f.delivered));
    const platform = await oraclePlatform(pool, p);
    expect(res.body.data.platform.totals.emails_sent).toBe(
      [...platform.values()].reduce((n, x) => n + x.emails_sent, 0),
    );
  });

  it("the model leaderboard (REST and GraphQL) for every task type and several periods", async () => {
    const taskTypes = (
      await pool.query<{ t: string }>("SELECT DISTINCT task_type AS t FROM ai_gym_performance ORDER BY 1")
    ).rows.map((r) => r.t);
    expect(taskTypes.length).toBeGreaterThanOrEqual(4);
    const key = await api.keyWith("analytics:read");
    for (const taskType of taskTypes)
      for (const days of [1, 7, 30, 120]) {
        const want = await oracleLeaderboard(pool, taskType, days, asOf);
        const rest = await api.request(
          "GET",
          `/api/v2/analytics/models?task_type=${taskType}&period=${days}d&order_by=usage_count`,
          { key },
        );
        const gql =
          await api.graphql(`{ modelLeaderboard(taskType: "${taskType}", period: "${days}d", minSamples: 50) {
          asOf period { from to days } entries { modelName usageCount avgCostUsd avgQuality conversionRate conversionSamples conversions
          p50DurationSeconds p95DurationSeconds p50CostUsd p95CostUsd totalCostUsd belowMinSamples costPerConversionUsd } } }`);
        expect(gql.body.errors).toBeUndefined();
        const board = gql.body.data.modelLeaderboard;
        expect(board.asOf).toBe(asOf.toISOString());
        expect(board.period.from).toBe(new Date(asOf.getTime() - days * 86_400_000).toISOString());
        const label = `${taskType} ${days}d`;
        expect(rest.body.data.map((d: { model_name: string }) => d.model_name).sort(), label).toEqual(
          want.map((w) => w.model_name),
        );
        expect(board.entries.map((e: { modelName: string }) => e.modelName).sort(), label).toEqual(
          want.map((w) => w.model_name),
        );
        for (const w of want) {
          const r = rest.body.data.find((d: { model_name: string }) => d.model_name === w.model_name);
          const g = board.entries.find((e: { modelName: string }) => e.modelName === w.model_name);
          expect(r.usage_count).toBe(w.usage_count);
          expect(g.usageCount).toBe(w.usage_count);
          expect(g.belowMinSamples).toBe(w.usage_count < 50);
          expect(r.conversion_samples).toBe(w.conversion_samples);
          const pairs: [string, string, number | null][] = [
            ["avg_cost", "avgCostUsd", w.avg_cost],
            ["avg_quality", "avgQuality", w.avg_quality],
            ["conversion_rate", "conversionRate", w.conversion_rate],
            ["p50_duration_seconds", "p50DurationSeconds", w.p50_duration_seconds],
            ["p95_duration_seconds", "p95DurationSeconds", w.p95_duration_seconds],
            ["p50_cost", "p50CostUsd", w.p50_cost],
            ["p95_cost", "p95CostUsd", w.p95_cost],
            ["total_cost", "totalCostUsd", w.total_cost],
          ];
          for (const [rk, gk, v] of pairs) {
            if (v === null) {
              expect(r[rk], `${label} ${w.model_name} ${rk}`).toBeNull();
              expect(g[gk]).toBeNull();
            } else {
              expect(r[rk], `${label} ${w.model_name} ${rk}`).toBeCloseTo(v, 9);
              expect(g[gk], `${label} ${w.model_name} ${gk}`).toBeCloseTo(v, 9);
            }
          }
          if (w.conversions > 0 && w.total_cost !== null)
            expect(g.costPerConversionUsd).toBeCloseTo(w.total_cost / w.conversions, 9);
          else expect(g.costPerConversionUsd).toBeNull();
        }
      }
  });

  it("A/B results per variant", async () => {
    const res = await api.graphql(
      `{ abTests { id variantIds results { asOf variants { variant isControl exposures opens clicks replies replyRate replyRateLift significance { method z pValue significant } } } } }`,
    );
    expect(res.body.errors).toBeUndefined();
    const want = await oracleAbTests(pool);
    expect(want.length).toBeGreaterThanOrEqual(4);
    let tested = 0;
    for (const w of want) {
      const test = res.body.data.abTests.find((t: { id: string }) => t.id === w.ab_test_id);
      const v = test.results.variants.find((x: { variant: string }) => x.variant === w.variant);
      expect({ exposures: v.exposures, opens: v.opens, clicks: v.clicks, replies: v.replies }).toEqual({
        exposures: w.exposures,
        opens: w.opens,
        clicks: w.clicks,
        replies: w.replies,
      });
      expect(v.replyRate).toBeCloseTo(w.replies / w.exposures, 12);
      const control = test.results.variants[0];
      expect(control.variant).toBe(test.variantIds[0]);
      expect(control.isControl).toBe(true);
      if (!v.isControl) {
        // Pooled two-proportion z-test, computed here from the control's and this variant's counts; there is no test
        // (null) when neither or every exposure replied: the pooled proportion has no variance.
        const pooled = (v.replies + control.replies) / (v.exposures + control.exposures);
        if (pooled === 0 || pooled === 1 || Number.isNaN(pooled)) expect(v.significance).toBeNull();
        else {
          expect(v.significance.method).toMatch(/two-proportion z-test/);
          const se = Math.sqrt(pooled * (1 - pooled) * (1 / v.exposures + 1 / control.exposures));
          expect(v.significance.z).toBeCloseTo((v.replyRate - control.replyRate) / se, 9);
          tested += 1;
        }
        // The lift is relative to the control's rate: none when that is 0.
        if (control.replyRate)
          expect(v.replyRateLift).toBeCloseTo((v.replyRate - control.replyRate) / control.replyRate, 12);
        else expect(v.replyRateLift).toBeNull();
      }
    }
    expect(tested, "variants with a significance test").toBeGreaterThan(0);
  });
}

/**
 * Writes that land on days the first refresh closed (before its horizon): late opens, bounces that move the first
 * touch, meetings, positive replies, won deals, AI-GYM rows and leads dated weeks back, deletions. The triggers of
 * migration 0011 must record every such day, or the closed rollups miss them and the second suite fails.
 */
async function writeToClosedDays(): Promise<void> {
  const closedBefore = `(SELECT horizon FROM rollup_horizon)`;
  const old = (column: string) => `${column} < ${closedBefore} - interval '2 days'`;
  const counts = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM email_sends WHERE status = 'sent' AND ${old("sent_at")}`,
  );
  expect(counts.rows[0]?.n, "closed days hold sent emails").toBeGreaterThan(100);
  await pool.query(
    `UPDATE email_sends SET opened_at = sent_at + interval '3 hours'
      WHERE id IN (SELECT id FROM email_sends WHERE status = 'sent' AND opened_at IS NULL AND ${old("sent_at")}
                    ORDER BY id LIMIT 25)`,
  );
  // Bounce first touches of leads that booked meetings: the credit moves to their next email, or goes.
  await pool.query(
    `UPDATE email_sends SET status = 'bounced'
      WHERE id IN (SELECT DISTINCT ON (e.lead_id, e.campaign_id) e.id
                     FROM email_sends e JOIN meetings m ON m.lead_id = e.lead_id AND m.campaign_id = e.campaign_id
                    WHERE e.status = 'sent' AND ${old("e.sent_at")}
                    ORDER BY e.lead_id, e.campaign_id, e.sent_at, e.id LIMIT 6)`,
  );
  await pool.query(
    `INSERT INTO meetings (lead_id, campaign_id, booked_at)
     SELECT e.lead_id, e.campaign_id, e.sent_at + interval '2 days'
       FROM email_sends e
      WHERE e.status = 'sent' AND ${old("e.sent_at")} AND e.lead_id IS NOT NULL AND e.campaign_id IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM meetings m WHERE m.lead_id = e.lead_id AND m.campaign_id = e.campaign_id)
      ORDER BY e.id LIMIT 8`,
  );
  await pool.query(
    `INSERT INTO conversation_messages (conversation_id, direction, sentiment, body)
     SELECT c.id, 'inbound', 'positive', 'late reply'
       FROM conversations c
      WHERE EXISTS (SELECT 1 FROM email_sends e WHERE e.lead_id = c.lead_id AND e.campaign_id = c.campaign_id
                       AND e.status = 'sent' AND e.replied_at IS NOT NULL AND ${old("e.sent_at")})
        AND NOT EXISTS (SELECT 1 FROM conversation_messages m WHERE m.conversation_id = c.id
                           AND m.direction = 'inbound' AND m.sentiment = 'positive')
      ORDER BY c.id LIMIT 8`,
  );
  // A reviewer corrects replies on closed days (reply taxonomy): a human reply found to be an out-of-office stops
  // counting as a reply, and a reply filed as not interested becomes a positive one.
  for (const [from, to] of [
    ["information_request", "out_of_office"],
    ["interested", "auto_reply"],
    ["not_interested", "interested"],
  ]) {
    await pool.query(
      `UPDATE conversation_messages SET reply_category_corrected = $2, reply_category_corrected_at = now(),
                                        reply_category_corrected_by = 'user:exactness'
        WHERE id IN (SELECT m.id FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
                      WHERE m.direction = 'inbound' AND m.reply_category = $1 AND m.reply_category_corrected IS NULL
                        AND EXISTS (SELECT 1 FROM email_sends e WHERE e.lead_id = c.lead_id
                                       AND e.campaign_id = c.campaign_id AND e.status = 'sent'
                                       AND e.replied_at IS NOT NULL AND ${old("e.sent_at")})
                      ORDER BY m.id LIMIT 6)`,
      [from, to],
    );
  }
  await pool.query(
    `UPDATE deals SET status = 'won', amount = 1234.5, won_at = ${closedBefore} - interval '20 days'
      WHERE id IN (SELECT id FROM deals WHERE status <> 'won' AND campaign_id IS NOT NULL ORDER BY id LIMIT 4)`,
  );
  await pool.query(
    `INSERT INTO ai_gym_performance (task_type, model_name, cost, duration_seconds, quality_score, conversion_metric,
                                     created_at)
     SELECT task_type, model_name, cost * 3, duration_seconds + 7, quality_score, conversion_metric,
            created_at - interval '1 day'
       FROM ai_gym_performance WHERE ${old("created_at")} ORDER BY id LIMIT 40`,
  );
  await pool.query(
    `DELETE FROM ai_gym_performance WHERE id IN (SELECT id FROM ai_gym_performance WHERE ${old("created_at")}
                                                   ORDER BY id DESC LIMIT 15)`,
  );
  await pool.query(
    `UPDATE leads SET created_at = ${closedBefore} - interval '33 days'
      WHERE id IN (SELECT id FROM leads ORDER BY id LIMIT 5)`,
  );
  const dirty = await pool.query<{ n: number }>(
    "SELECT count(DISTINCT day)::int AS n FROM rollup_dirty_days",
  );
  expect(dirty.rows[0]?.n, "the writes were recorded as dirty closed days").toBeGreaterThan(10);
}

describe("analytics numbers equal an independent aggregation over the base tables", () => {
  it("the refresh closed most of the seeded history and left the rest open", async () => {
    for (const view of refresh.views) expect(view.closed_ranges[0]?.from, view.view_name).toBe("-infinity");
    const { rows } = await pool.query<{ closed: number; open: number }>(
      `SELECT (SELECT count(*) FROM campaign_kpis_15m_closed)::int AS closed,
              (SELECT count(*) FROM campaign_kpis_15m_open)::int AS open`,
    );
    expect(rows[0]?.closed).toBeGreaterThan(0);
    expect(rows[0]?.open).toBeGreaterThan(0);
  });
  exactnessSuite();
});

describe("…and still after late writes to closed days and a second refresh (incremental maintenance)", () => {
  beforeAll(async () => {
    await writeToClosedDays();
    const second = await refreshViews(pool, "test");
    const ranges = Object.fromEntries(second.views.map((v) => [v.view_name, v.closed_ranges]));
    expect(Object.values(ranges).flat().length).toBeGreaterThan(0);
    expect(
      Object.values(ranges)
        .flat()
        .every((r) => r.from !== "-infinity"),
    ).toBe(true);
    // Late opens, bounces, meetings and replies recount their campaigns' rows of a day, not the whole day.
    expect(ranges.campaign_kpis_15m?.some((r) => r.keys !== undefined)).toBe(true);
    expect(ranges.campaign_revenue_15m?.some((r) => r.keys !== undefined)).toBe(true);
    asOf = second.as_of;
    if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
  });
  exactnessSuite();
});
