import type pg from "pg";
import type { CalendarPeriod, Granularity } from "./period.js";
import { type SeriesFrame, seriesFrame, sumRollup } from "./rollup-15m.js";

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

export async function getPlatformActivity(
  db: pg.Pool,
  q: { period: CalendarPeriod; granularity: Granularity | null },
): Promise<PlatformActivitySeries> {
  const rows = await sumRollup(db, {
    ...q,
    view: "platform_kpis_15m",
    byCampaign: false,
    campaignIds: null,
    metrics: [
      ...PLATFORM_METRICS.map((m) => `sum(${m})::int AS ${m}`),
      "COALESCE(sum(ai_spend), 0)::float8 AS ai_spend",
    ],
  });
  const { frame, slot } = seriesFrame(q.period, q.granularity, empty);
  for (const row of rows) {
    const target = slot(row.period_start);
    if (!target) continue;
    for (const m of PLATFORM_METRICS) target[m] = Number(row[m]);
    target.ai_spend = Number(row.ai_spend);
  }
  return frame;
}
