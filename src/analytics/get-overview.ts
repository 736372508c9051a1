import type pg from "pg";
import type { AnalyticsCache } from "./analytics-cache.js";
import { type CampaignKpis, type FunnelRates, funnelRates, getCampaignKpis } from "./get-campaign-kpis.js";
import { getPlatformActivity, type PlatformActivitySeries } from "./get-platform-activity.js";
import { type CalendarPeriod, type Granularity, type PeriodInput, resolveCalendarPeriod } from "./period.js";

export type Overview = {
  as_of: Date;
  period: CalendarPeriod;
  granularity: Granularity;
  platform: PlatformActivitySeries;
  /** The funnel summed over all campaigns. */
  outreach: CampaignKpis;
  rates: FunnelRates;
};

/**
 * Platform KPIs and the all-campaign funnel for a calendar period, with a series at the granularity, as of the
 * rollups' `asOf` (the caller's, or looked up through the cache).
 */
export async function getOverview(
  db: pg.Pool,
  q: PeriodInput & { granularity: Granularity },
  { cache, asOf: knownAsOf }: { cache: AnalyticsCache; asOf?: Date },
): Promise<Overview> {
  const asOf = knownAsOf ?? (await cache.asOf(db));
  const period = resolveCalendarPeriod(q, asOf);
  const key = `overview|${period.from}|${period.to}|${period.timezone}|${q.granularity}`;
  return cache.byAsOf(db, asOf, key, () => queryOverview(db, asOf, period, q.granularity));
}

async function queryOverview(
  db: pg.Pool,
  asOf: Date,
  period: CalendarPeriod,
  granularity: Granularity,
): Promise<Overview> {
  const [platform, outreach] = await Promise.all([
    getPlatformActivity(db, { period, granularity }),
    getCampaignKpis(db, { period, granularity, byCampaign: false, campaignIds: null }),
  ]);
  const all = outreach.get("*");
  if (!all) throw new Error("getCampaignKpis returned no all-campaign entry");
  return {
    as_of: asOf,
    period,
    granularity,
    platform,
    outreach: all,
    rates: funnelRates(all.totals.funnel),
  };
}
