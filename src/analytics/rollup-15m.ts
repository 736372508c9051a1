import type pg from "pg";
import { addDays, type CalendarPeriod, type Granularity, periodStarts } from "./period.js";

/**
 * Sums one of the 15-minute materialized views over a calendar period in a time zone: the totals, and (with a
 * granularity) one row per local day/week/month, optionally per campaign and per extra key (currency).
 *
 * Every time zone's offset is a multiple of 15 minutes, so each local day boundary falls on a bucket boundary and
 * the sums are exact. The view, metrics and keys come from the callers in this folder, never from input.
 */
export type RollupQuery = {
  view: "campaign_kpis_15m" | "outreach_kpis_15m" | "campaign_revenue_15m" | "platform_kpis_15m";
  /** `sum(x)::int AS x` style select expressions. */
  metrics: readonly string[];
  period: CalendarPeriod;
  granularity: Granularity | null;
  /** Group per campaign (the view must have campaign_id: not outreach_kpis_15m or platform_kpis_15m). */
  byCampaign: boolean;
  /** Only these campaigns (per campaign, or summed over them); all when null. */
  campaignIds: readonly string[] | null;
  /** An extra key column to group by, e.g. currency. */
  key?: "currency";
};

export type RollupRow = {
  campaign_id: string | null;
  /** Local start date of the day/week/month, or null on a total row. */
  period_start: string | null;
  currency?: string;
} & Record<string, unknown>;

/** Totals and one zero-filled point per granularity step: where the rows of `sumRollup` are written into. */
export type SeriesFrame<T> = { totals: T; series: (T & { start: string })[] };

/** A zero frame and `slot(period_start)` → the totals (null) or the step's point (undefined when outside). */
export function seriesFrame<T extends object>(
  period: CalendarPeriod,
  granularity: Granularity | null,
  empty: () => T,
): { frame: SeriesFrame<T>; slot: (start: string | null) => T | undefined } {
  const frame: SeriesFrame<T> = {
    totals: empty(),
    series: (granularity ? periodStarts(period, granularity) : []).map((start) => ({ start, ...empty() })),
  };
  const byStart = new Map<string, T>(frame.series.map((p) => [p.start, p]));
  return { frame, slot: (start) => (start === null ? frame.totals : byStart.get(start)) };
}

export async function sumRollup(db: pg.Pool, q: RollupQuery): Promise<RollupRow[]> {
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  const tz = param(q.period.timezone);
  const from = param(q.period.from);
  const to = param(addDays(q.period.to, 1));
  const local = `(v.bucket AT TIME ZONE 'UTC') AT TIME ZONE ${tz}`;
  const periodStart = q.granularity
    ? `to_char(date_trunc(${param(q.granularity)}, ${local}), 'YYYY-MM-DD')`
    : "NULL::text";
  const campaignFilter =
    q.campaignIds && (q.view === "campaign_kpis_15m" || q.view === "campaign_revenue_15m")
      ? `AND v.campaign_id = ANY(${param(q.campaignIds)}::uuid[])`
      : "";
  const key = q.key ? `, ${q.key}` : "";
  const groups = [`(g_campaign, g_period${key})`, ...(q.granularity ? [`(g_campaign${key})`] : [])];
  const { rows } = await db.query<RollupRow>(
    `WITH p AS (SELECT (${from}::date::timestamp AT TIME ZONE ${tz}) AT TIME ZONE 'UTC' AS f,
                       (${to}::date::timestamp AT TIME ZONE ${tz}) AT TIME ZONE 'UTC' AS t),
          facts AS (
            SELECT ${q.byCampaign ? "v.campaign_id" : "NULL::uuid"} AS g_campaign, ${periodStart} AS g_period, v.*
              FROM ${q.view} v CROSS JOIN p
             WHERE v.bucket >= p.f AND v.bucket < p.t ${campaignFilter})
     SELECT g_campaign AS campaign_id,
            ${q.granularity ? "CASE WHEN GROUPING(g_period) = 0 THEN g_period END" : "NULL::text"} AS period_start${key},
            ${q.metrics.join(",\n            ")}
       FROM facts
      GROUP BY GROUPING SETS (${groups.join(", ")})`,
    params,
  );
  return rows;
}
