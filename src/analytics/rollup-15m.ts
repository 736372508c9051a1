import type pg from "pg";
import { prepared } from "../db/prepared.js";
import { addDays, type CalendarPeriod, type Granularity, periodStarts } from "./period.js";

/**
 * Sums the 15-minute materialized views over a calendar period in a time zone: the totals, and (with a
 * granularity) one row per local day/week/month, optionally per campaign and per extra key (currency).
 *
 * Every time zone's offset is a multiple of 15 minutes, so each local day boundary falls on a bucket boundary and
 * the sums are exact. The view, metrics and keys come from the callers in this folder, never from input.
 */
/** One sum of sumRollups: which view, which metrics, grouped how. */
export type RollupPart = {
  view: "campaign_kpis_15m" | "outreach_kpis_15m" | "campaign_revenue_15m" | "platform_kpis_15m";
  /** `sum(x)::int AS x` style select expressions. */
  metrics: readonly string[];
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

/**
 * The parts' sums over one period, in one statement (a round trip costs more than these sums on this hardware):
 * each part's rows, in the parts' order.
 *
 * A bucket counts in the step (local day, week or month) whose start it does not precede: the steps' local
 * midnights are turned into UTC instants once, with the zone's rules (DST included), and width_bucket finds each
 * bucket's step by binary search, instead of converting and formatting every bucket's time.
 */
export async function sumRollups(
  db: pg.Pool,
  q: { period: CalendarPeriod; granularity: Granularity | null },
  parts: readonly RollupPart[],
): Promise<RollupRow[][]> {
  const params: unknown[] = [];
  const param = (value: unknown) => `$${params.push(value)}`;
  const tz = param(q.period.timezone);
  const from = param(q.period.from);
  const to = param(addDays(q.period.to, 1));
  const steps = q.granularity ? param(periodStarts(q.period, q.granularity)) : undefined;
  const sums = parts.map((part, i) => {
    const campaignFilter =
      part.campaignIds && (part.view === "campaign_kpis_15m" || part.view === "campaign_revenue_15m")
        ? `AND v.campaign_id = ANY(${param(part.campaignIds)}::uuid[])`
        : "";
    const key = part.key ? `, ${part.key}` : "";
    const groups = [`(g_campaign, g_step${key})`, ...(steps ? [`(g_campaign${key})`] : [])];
    return `SELECT ${i} AS part, row_to_json(r) AS row FROM (
              SELECT g_campaign AS campaign_id,
                     ${steps ? `CASE WHEN GROUPING(g_step) = 0 THEN (${steps}::text[])[g_step] END` : "NULL::text"}
                       AS period_start${key},
                     ${part.metrics.join(", ")}
                FROM (SELECT ${part.byCampaign ? "v.campaign_id" : "NULL::uuid"} AS g_campaign,
                             ${steps ? "width_bucket(v.bucket, p.b)" : "NULL::int"} AS g_step, v.*
                        FROM ${part.view} v CROSS JOIN p
                       WHERE v.bucket >= p.f AND v.bucket < p.t ${campaignFilter}) AS facts
               GROUP BY GROUPING SETS (${groups.join(", ")})) AS r`;
  });
  const { rows } = await db.query<{ part: number; row: RollupRow }>(
    prepared(
      `WITH p AS (SELECT (${from}::date::timestamp AT TIME ZONE ${tz}) AT TIME ZONE 'UTC' AS f,
                       (${to}::date::timestamp AT TIME ZONE ${tz}) AT TIME ZONE 'UTC' AS t
                       ${steps ? `, ARRAY(SELECT (s::timestamp AT TIME ZONE ${tz}) AT TIME ZONE 'UTC' FROM unnest(${steps}::text[]) AS s) AS b` : ""})
     ${sums.join(" UNION ALL ")}`,
      params,
    ),
  );
  const byPart: RollupRow[][] = parts.map(() => []);
  for (const { part, row } of rows) byPart[part]?.push(row);
  return byPart;
}
