import type { CalendarPeriod, Granularity } from "./period.js";
import { type RollupPart, type RollupRow, type SeriesFrame, seriesFrame } from "./rollup-15m.js";

/**
 * Platform activity over a calendar period: leads scraped, analyses completed, demos deployed, videos ready, emails
 * sent (any campaign, or none) and AI runs and spend (USD, the sum of AI-GYM cost) — totals and a zero-filled series.
 */
export const PLATFORM_METRICS = [
  "leads_scraped",
  "analyses_completed",
  "demos_deployed",
  "videos_ready",
  "emails_sent",
  "ai_runs",
] as const;
export type PlatformActivity = Record<(typeof PLATFORM_METRICS)[number], number> & { ai_spend: number };
export type PlatformActivitySeries = SeriesFrame<PlatformActivity>;

const empty = (): PlatformActivity => ({
  ...(Object.fromEntries(PLATFORM_METRICS.map((m) => [m, 0])) as Record<
    (typeof PLATFORM_METRICS)[number],
    number
  >),
  ai_spend: 0,
});

/** The platform activity's sum, for sumRollups. */
export const PLATFORM_ACTIVITY: RollupPart = {
  view: "platform_kpis_15m",
  byCampaign: false,
  campaignIds: null,
  metrics: [
    ...PLATFORM_METRICS.map((m) => `sum(${m})::int AS ${m}`),
    "COALESCE(sum(ai_spend), 0)::float8 AS ai_spend",
  ],
};

/** The totals and series of PLATFORM_ACTIVITY's rows. */
export function platformActivityOf(
  q: { period: CalendarPeriod; granularity: Granularity | null },
  rows: readonly RollupRow[],
): PlatformActivitySeries {
  const { frame, slot } = seriesFrame(q.period, q.granularity, empty);
  for (const row of rows) {
    const target = slot(row.period_start);
    if (!target) continue;
    for (const m of PLATFORM_METRICS) target[m] = Number(row[m]);
    target.ai_spend = Number(row.ai_spend);
  }
  return frame;
}
