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

/** Totals and one zero-filled point per granularity step: where the rows of `sumRollups` are written into. */
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

/** The views rollup_coarsen keeps hours and days of (migration 0027). */
const COARSE_VIEWS: ReadonlySet<RollupPart["view"]> = new Set([
  "campaign_kpis_15m",
  "outreach_kpis_15m",
  "platform_kpis_15m",
]);

/**
 * The cover of the steps (st: UTC [a, z)) by levels: `cover(s, r)`, ranges r of rows of width s (86400: day rows,
 * 3600: hour rows, 900: the 15-minute view), each row inside one step. ah/zh are the first and last whole hour
 * boundaries of a step, ad/zd its whole days'.
 */
const COVER_SQL = `cuts AS (
        SELECT a, z,
               date_trunc('hour', a) + CASE WHEN a > date_trunc('hour', a) THEN interval '1 hour' ELSE interval '0' END AS ah,
               date_trunc('hour', z) AS zh,
               date_trunc('day', a) + CASE WHEN a > date_trunc('day', a) THEN interval '1 day' ELSE interval '0' END AS ad,
               date_trunc('day', z) AS zd
          FROM st WHERE a < z),
     cover AS (
        SELECT c.s, unnest(range_agg(c.r)) AS r
          FROM (SELECT 86400 AS s, tsrange(ad, zd) AS r FROM cuts WHERE ad < zd
                UNION ALL SELECT 3600, tsrange(ah, ad) FROM cuts WHERE ad < zd
                UNION ALL SELECT 3600, tsrange(zd, zh) FROM cuts WHERE ad < zd
                UNION ALL SELECT 3600, tsrange(ah, zh) FROM cuts WHERE ad >= zd AND ah < zh
                UNION ALL SELECT 900, tsrange(a, ah) FROM cuts WHERE ah <= zh
                UNION ALL SELECT 900, tsrange(zh, z) FROM cuts WHERE ah <= zh
                UNION ALL SELECT 900, tsrange(a, z) FROM cuts WHERE ah > zh) AS c
         WHERE NOT isempty(c.r)
         GROUP BY c.s)`;

/**
 * A coarse view's rows over the cover: its hour and day rows, and its 15-minute buckets (bucket_seconds 900);
 * `filter(alias)` narrows both (to some campaigns).
 */
function coveredRows(view: RollupPart["view"], filter: (alias: string) => string): string {
  // LATERAL … OFFSET 0: an index range read per range of the cover (a few), never a scan of the level's rows.
  return `(SELECT k.* FROM cover c CROSS JOIN LATERAL (
             SELECT * FROM ${view}_coarse k
              WHERE k.bucket_seconds = c.s AND k.bucket >= lower(c.r) AND k.bucket < upper(c.r) ${filter("k")}
             OFFSET 0) AS k
           WHERE c.s > 900
          UNION ALL
          SELECT v.*, 900 AS bucket_seconds FROM cover c CROSS JOIN LATERAL (
             SELECT * FROM ${view} v WHERE v.bucket >= lower(c.r) AND v.bucket < upper(c.r) ${filter("v")}
             OFFSET 0) AS v
           WHERE c.s = 900)`;
}

/**
 * The parts' sums over one period, in one statement (a round trip costs more than these sums on this hardware):
 * each part's rows, in the parts' order.
 *
 * A bucket counts in the step (local day, week or month) whose start it does not precede: the steps' local
 * midnights are turned into UTC instants once, with the zone's rules (DST included), and width_bucket finds each
 * bucket's step by binary search, instead of converting and formatting every bucket's time.
 *
 * A view with coarser levels (COARSE_VIEWS, `<view>_coarse`: its sums per whole UTC hour and day) is read through
 * a cover of each step: its whole UTC days from the day rows, the whole hours left from the hour rows, and the
 * 15-minute buckets only at its edges; the covers of all steps merged into ranges per level (range_agg). A local
 * day in UTC is then one row instead of 96, in a whole-hour zone 24, in a half-hour zone 24 and 2 buckets.
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
  const coarse = parts.some((part) => COARSE_VIEWS.has(part.view));
  const sums = parts.map((part, i) => {
    const campaigns =
      part.campaignIds && (part.view === "campaign_kpis_15m" || part.view === "campaign_revenue_15m")
        ? param(part.campaignIds)
        : undefined;
    const filter = (alias: string) =>
      campaigns ? `AND ${alias}.campaign_id = ANY(${campaigns}::uuid[])` : "";
    const key = part.key ? `, ${part.key}` : "";
    const groups = [`(g_campaign, g_step${key})`, ...(steps ? [`(g_campaign${key})`] : [])];
    return `SELECT ${i} AS part, row_to_json(r) AS row FROM (
              SELECT g_campaign AS campaign_id,
                     ${steps ? `CASE WHEN GROUPING(g_step) = 0 THEN (${steps}::text[])[g_step] END` : "NULL::text"}
                       AS period_start${key},
                     ${part.metrics.join(", ")}
                FROM (SELECT ${part.byCampaign ? "v.campaign_id" : "NULL::uuid"} AS g_campaign,
                             ${steps ? "width_bucket(v.bucket, p.b)" : "NULL::int"} AS g_step, v.*
                        FROM ${
                          COARSE_VIEWS.has(part.view)
                            ? `${coveredRows(part.view, filter)} AS v CROSS JOIN p`
                            : `${part.view} v CROSS JOIN p
                       WHERE v.bucket >= p.f AND v.bucket < p.t ${filter("v")}`
                        }) AS facts
               GROUP BY GROUPING SETS (${groups.join(", ")})) AS r`;
  });
  const { rows } = await db.query<{ part: number; row: RollupRow }>(
    prepared(
      `WITH p AS (SELECT (${from}::date::timestamp AT TIME ZONE ${tz}) AT TIME ZONE 'UTC' AS f,
                       (${to}::date::timestamp AT TIME ZONE ${tz}) AT TIME ZONE 'UTC' AS t
                       ${steps ? `, ARRAY(SELECT (s::timestamp AT TIME ZONE ${tz}) AT TIME ZONE 'UTC' FROM unnest(${steps}::text[]) AS s) AS b` : ""})
     ${coarse ? `, st AS (${steps ? "SELECT greatest(p.b[i], p.f) AS a, least(COALESCE(p.b[i + 1], p.t), p.t) AS z FROM p, generate_subscripts(p.b, 1) AS i" : "SELECT p.f AS a, p.t AS z FROM p"}), ${COVER_SQL}` : ""}
     ${sums.join(" UNION ALL ")}`,
      params,
    ),
  );
  const byPart: RollupRow[][] = parts.map(() => []);
  for (const { part, row } of rows) byPart[part]?.push(row);
  return byPart;
}
