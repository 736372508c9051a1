import type pg from "pg";
import type { AnalyticsCache } from "./analytics-cache.js";
import {
  type CampaignKpis,
  campaignKpiParts,
  campaignKpisOf,
  type FunnelRates,
  funnelRates,
} from "./get-campaign-kpis.js";
import {
  PLATFORM_ACTIVITY,
  type PlatformActivitySeries,
  platformActivityOf,
} from "./get-platform-activity.js";
import { type CalendarPeriod, type Granularity, type PeriodInput, resolveCalendarPeriod } from "./period.js";
import { sumRollups } from "./rollup-15m.js";

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
 * rollups' `asOf` (the caller's, or looked up through the cache): one statement (sumRollups) for all three sums.
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
  const q = { period, granularity, byCampaign: false, campaignIds: null };
  const [platform = [], funnels = [], revenue = []] = await sumRollups(db, q, [
    PLATFORM_ACTIVITY,
    ...campaignKpiParts(q),
  ]);
  const all = campaignKpisOf(q, funnels, revenue).get("*");
  if (!all) throw new Error("campaignKpisOf returned no all-campaign entry");
  return {
    as_of: asOf,
    period,
    granularity,
    platform: platformActivityOf(q, platform),
    outreach: all,
    rates: funnelRates(all.totals.funnel),
  };
}
