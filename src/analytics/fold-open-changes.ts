import type pg from "pg";
import {
  changesOf,
  declaredRollups,
  openRanges,
  REFRESH_LOCK_KEY,
  type Rollup,
  recount,
  takeOpenChanges,
  VIEWS_REFRESHED_CHANNEL,
} from "./refresh-views.js";

export type OpenFold =
  /** Another fold or a refresh holds the lock (it folds the same changes), or no write was recorded since the last. */
  | { folded: false; reason: "busy" | "no changes" }
  | {
      folded: true;
      /** What the rollups are now current to: the fold transaction's snapshot time, recorded in view_refreshes. */
      as_of: Date;
      duration_ms: number;
      /** Change-log rows taken (rollup_open_changes). */
      changes: number;
      views: { view_name: Rollup; duration_ms: number; open_ranges: number; rows_recounted: number }[];
    };

/**
 * The fold: recounts, from the base tables, the open buckets (and keys) that writes recorded in rollup_open_changes
 * since the last fold or refresh (views/rollup-marks.sql), so that the analytics are current to within a fold
 * interval (config ROLLUP_FOLD_INTERVAL_MS) instead of a refresh interval. Its cost follows the new rows — the
 * buckets they touched — not the history nor the open window.
 *
 * One REPEATABLE READ transaction: the change log is taken in the same snapshot the buckets are recounted from (a
 * write committed after it keeps its change for the next fold), every rollup's rows are rewritten with DELETE +
 * INSERT through `<parts>_between` (exact for distinct counts and percentiles too, not deltas), and the new asOf is
 * recorded in view_refreshes (trigger 'fold', one row per rollup, as a refresh does: answers and caches key on
 * it) and notified, as a refresh's is. A fold that finds nothing to do records nothing, so asOf stays where it is (the answers did not change).
 *
 * The refresh's advisory lock is tried, not waited for: only one fold or refresh runs at a time across processes,
 * and a fold that finds it taken skips its turn (the holder takes the same changes). The horizon and the closed
 * days stay the refresh's (refreshViews, on its slower schedule). Leaderboard snapshots are not stored per fold:
 * a read at a fold's asOf computes its leaderboard from the rollups (getModelLeaderboard), the same numbers.
 */
export async function foldOpenChanges(primary: pg.Pool): Promise<OpenFold> {
  const client = await primary.connect();
  let locked = false;
  try {
    const lock = await client.query<{ locked: boolean }>(
      "SELECT pg_try_advisory_lock(hashtext($1)) AS locked",
      [REFRESH_LOCK_KEY],
    );
    locked = lock.rows[0]?.locked === true;
    if (!locked) return { folded: false, reason: "busy" };
    const started = performance.now();
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
    try {
      // The first statement takes the snapshot; now() is the transaction's start, just before it.
      const { rows } = await client.query<{ as_of: Date; horizon: string }>(
        "SELECT date_trunc('milliseconds', now())::timestamp AS as_of, horizon::text AS horizon FROM rollup_horizon",
      );
      const state = rows[0];
      if (!state) throw new Error("fold: rollup_horizon is empty");
      const changes = await takeOpenChanges(client);
      if (changes.length === 0) {
        await client.query("COMMIT");
        return { folded: false, reason: "no changes" };
      }
      const views: Extract<OpenFold, { folded: true }>["views"] = [];
      for (const { rollup: view, parts, bucket, key, bucketSeconds } of await declaredRollups(client)) {
        const t0 = performance.now();
        const ranges = openRanges(state.horizon, changesOf(changes, view, key), bucketSeconds);
        const recounted = await recount(client, `${parts}_open`, { parts, bucket, key }, ranges);
        views.push({
          view_name: view,
          duration_ms: Math.round(performance.now() - t0),
          open_ranges: ranges.length,
          rows_recounted: recounted,
        });
      }
      await client.query(
        `INSERT INTO view_refreshes (view_name, as_of, duration_ms, row_count, trigger)
         SELECT v.view_name, date_trunc('milliseconds', now()), v.duration_ms, v.row_count, 'fold'
           FROM unnest($1::text[], $2::int[], $3::bigint[]) AS v(view_name, duration_ms, row_count)`,
        [views.map((v) => v.view_name), views.map((v) => v.duration_ms), views.map((v) => v.rows_recounted)],
      );
      // One a second would fill the refresh log: only the latest fold's rows stay (the refreshes' stay 30 days).
      await client.query(
        "DELETE FROM view_refreshes WHERE trigger = 'fold' AND as_of < date_trunc('milliseconds', now())",
      );
      // As a refresh does: every instance's listener ends its asOf memo on commit (refresh-listener.ts).
      await client.query("SELECT pg_notify($1, $2)", [VIEWS_REFRESHED_CHANNEL, state.as_of.toISOString()]);
      await client.query("COMMIT");
      return {
        folded: true,
        as_of: state.as_of,
        duration_ms: Math.round(performance.now() - started),
        changes: changes.length,
        views,
      };
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
