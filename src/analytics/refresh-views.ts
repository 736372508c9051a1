import type pg from "pg";
import { forgetAsOf } from "./as-of-cache.js";

/** The read side's materialized views (views/*.sql), in refresh order. */
export const MATERIALIZED_VIEWS = [
  "campaign_kpis_15m",
  "campaign_revenue_15m",
  "platform_kpis_15m",
  "ai_gym_daily",
  "ai_gym_durations_daily",
  "ab_variant_results",
] as const;
export type MaterializedView = (typeof MATERIALIZED_VIEWS)[number];

export type RefreshTrigger = "startup" | "schedule" | "admin" | "test";

export type ViewsRefresh = {
  /** What the refreshed data is current to: the refresh transaction's snapshot time. */
  as_of: Date;
  duration_ms: number;
  views: { view_name: MaterializedView; duration_ms: number; row_count: number }[];
};

/** Refresh rows older than this are pruned (the newest of each view always stays). */
const REFRESH_LOG_RETENTION_DAYS = 30;
/** Serialises refreshes across processes: the second waits, then refreshes from a newer snapshot. */
const REFRESH_LOCK_KEY = "reachgraph:refresh_views";

/**
 * Refreshes every materialized view in one REPEATABLE READ transaction, so all of them reflect the same snapshot and
 * share one `as_of`, and records the refresh in `view_refreshes` in the same transaction.
 *
 * `REFRESH … CONCURRENTLY` takes only an EXCLUSIVE lock on the view: writers to the base tables are never blocked
 * and readers of the view keep reading the previous contents until commit. Unlike a plain REFRESH it takes no
 * ACCESS EXCLUSIVE lock, whose replay on a standby would cancel replica readers. The advisory lock is taken before
 * the transaction's snapshot, so a refresh that waited for another one never writes older data over newer.
 */
export async function refreshViews(primary: pg.Pool, trigger: RefreshTrigger): Promise<ViewsRefresh> {
  const client = await primary.connect();
  let locked = false;
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [REFRESH_LOCK_KEY]);
    locked = true;
    const started = performance.now();
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
    try {
      // The first statement takes the snapshot; now() is the transaction's start, just before it.
      const asOf = (
        await client.query<{ as_of: Date }>("SELECT date_trunc('milliseconds', now())::timestamp AS as_of")
      ).rows[0]?.as_of;
      if (!asOf) throw new Error("refresh: no transaction time");
      const views: ViewsRefresh["views"] = [];
      for (const view of MATERIALIZED_VIEWS) {
        const t0 = performance.now();
        await client.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY ${view}`);
        const duration = Math.round(performance.now() - t0);
        const count = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${view}`);
        views.push({ view_name: view, duration_ms: duration, row_count: count.rows[0]?.n ?? 0 });
      }
      await client.query(
        `INSERT INTO view_refreshes (view_name, as_of, duration_ms, row_count, trigger)
         SELECT v.view_name, date_trunc('milliseconds', now()), v.duration_ms, v.row_count, $1
           FROM unnest($2::text[], $3::int[], $4::bigint[]) AS v(view_name, duration_ms, row_count)`,
        [
          trigger,
          views.map((v) => v.view_name),
          views.map((v) => v.duration_ms),
          views.map((v) => v.row_count),
        ],
      );
      await client.query(`DELETE FROM view_refreshes WHERE as_of < now() - make_interval(days => $1)`, [
        REFRESH_LOG_RETENTION_DAYS,
      ]);
      await client.query("COMMIT");
      forgetAsOf();
      return { as_of: asOf, duration_ms: Math.round(performance.now() - started), views };
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  } finally {
    if (locked)
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [REFRESH_LOCK_KEY]).catch(() => {});
    client.release();
  }
}
