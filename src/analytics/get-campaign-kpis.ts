import type pg from "pg";
import type { CalendarPeriod, Granularity } from "./period.js";
import { type RollupPart, type RollupRow, type SeriesFrame, seriesFrame, sumRollups } from "./rollup-15m.js";
import { rate } from "./statistics.js";

/**
 * The outreach funnel (README "KPI definitions"): emails count in the local day they were sent (queued: the day they
 * were queued); delivered = sent − bounced; opens, clicks, replies, positive replies and booked meetings are counted
 * on the delivered emails of the period; deals and revenue count on the day the deal was won.
 */
export const FUNNEL_METRICS = [
  "queued",
  "sent",
  "bounced",
  "delivered",
  "opened",
  "clicked",
  "replied",
  "positive_replies",
  "meetings_booked",
] as const;
export type FunnelMetric = (typeof FUNNEL_METRICS)[number];
export type Funnel = Record<FunnelMetric, number>;

/** Money is exact: a decimal string per ISO 4217 currency (amounts are never converted between currencies). */
export type Money = { currency: string; amount: string };

export type KpiSlice = { funnel: Funnel; deals_won: number; revenue: Money[] };
export type KpiSeriesPoint = KpiSlice & { start: string };
export type CampaignKpis = SeriesFrame<KpiSlice>;

export type FunnelRates = {
  delivery_rate: number | null;
  bounce_rate: number | null;
  open_rate: number | null;
  click_rate: number | null;
  reply_rate: number | null;
  positive_reply_rate: number | null;
  meeting_booking_rate: number | null;
};

/** The contract's rates; a zero denominator gives null. */
export function funnelRates(f: Funnel): FunnelRates {
  return {
    delivery_rate: rate(f.delivered, f.sent),
    bounce_rate: rate(f.bounced, f.sent),
    open_rate: rate(f.opened, f.delivered),
    click_rate: rate(f.clicked, f.delivered),
    reply_rate: rate(f.replied, f.delivered),
    positive_reply_rate: rate(f.positive_replies, f.delivered),
    meeting_booking_rate: rate(f.meetings_booked, f.delivered),
  };
}

const emptyFunnel = (): Funnel => Object.fromEntries(FUNNEL_METRICS.map((m) => [m, 0])) as Funnel;
const emptySlice = (): KpiSlice => ({ funnel: emptyFunnel(), deals_won: 0, revenue: [] });

type KpiQuery = {
  period: CalendarPeriod;
  granularity: Granularity | null;
  byCampaign: boolean;
  campaignIds: readonly string[] | null;
};

/**
 * Funnel, deals won and revenue over a calendar period for `campaignIds` (all campaigns when null): per campaign,
 * or summed over them (`byCampaign: false`), with a zero-filled series when a granularity is given. One statement
 * on the views, whatever the number of campaigns. The map is keyed by campaign id ("*" when summed).
 */
export async function getCampaignKpis(db: pg.Pool, q: KpiQuery): Promise<Map<string, CampaignKpis>> {
  const [funnels = [], revenue = []] = await sumRollups(db, q, campaignKpiParts(q));
  return campaignKpisOf(q, funnels, revenue);
}

/**
 * The funnel's and the revenue's sums, for sumRollups. Summed over all campaigns (the overview), the funnel comes
 * from outreach_kpis_15m, which holds that sum per bucket (and its hours and days), however many campaigns and
 * emails there are.
 */
export function campaignKpiParts(q: KpiQuery): [funnels: RollupPart, revenue: RollupPart] {
  return [
    {
      ...q,
      view: !q.byCampaign && q.campaignIds === null ? "outreach_kpis_15m" : "campaign_kpis_15m",
      metrics: FUNNEL_METRICS.map((m) => `sum(${m})::int AS ${m}`),
    },
    {
      ...q,
      view: "campaign_revenue_15m",
      key: "currency",
      metrics: ["sum(deals_won)::int AS deals_won", "sum(revenue)::text AS revenue"],
    },
  ];
}

/** The KPIs per campaign (or "*") of campaignKpiParts' rows. */
export function campaignKpisOf(
  q: KpiQuery,
  funnels: readonly RollupRow[],
  revenue: readonly RollupRow[],
): Map<string, CampaignKpis> {
  const frames = new Map<string, ReturnType<typeof seriesFrame<KpiSlice>>>();
  const entry = (campaignId: string | null) => {
    const id = campaignId ?? "*";
    let f = frames.get(id);
    if (!f) {
      f = seriesFrame(q.period, q.granularity, emptySlice);
      frames.set(id, f);
    }
    return f;
  };
  for (const row of funnels) {
    const target = entry(row.campaign_id).slot(row.period_start);
    if (target) for (const m of FUNNEL_METRICS) target.funnel[m] = Number(row[m]);
  }
  for (const row of revenue) {
    const target = entry(row.campaign_id).slot(row.period_start);
    if (!target) continue;
    target.deals_won += Number(row.deals_won);
    target.revenue.push({ currency: String(row.currency), amount: String(row.revenue) });
  }
  if (!q.byCampaign) entry(null);
  for (const id of q.byCampaign ? (q.campaignIds ?? []) : []) entry(id);
  const result = new Map<string, CampaignKpis>();
  for (const [id, { frame }] of frames) {
    for (const s of [frame.totals, ...frame.series])
      s.revenue.sort((a, b) => a.currency.localeCompare(b.currency));
    result.set(id, frame);
  }
  return result;
}
