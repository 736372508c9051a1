import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { SNAPSHOT_PERIOD_DAYS, storeLeaderboardSnapshots } from "./get-model-leaderboard.js";

/**
 * The read side's rollups, in refresh order, by the view readers use: the names the REST refresh answer and `asOf`
 * know. Each is declared once in SQL (views/<rollup>.sql, `CALL rollup_define(...)`), which records its parts in
 * the `rollups` table; a refresh reads them from there and refuses to run when the two lists differ (a rollup
 * declared but not listed here would never be closed).
 */
export const ROLLUPS = [
  "campaign_kpis_15m",
  "campaign_revenue_15m",
  "platform_kpis_15m",
  "outreach_kpis_15m",
  "ai_gym_daily",
  "ai_gym_15m",
  "ai_gym_durations_daily",
  "ai_gym_costs_daily",
  "ab_variant_results",
] as const;
export type Rollup = (typeof ROLLUPS)[number];

/**
 * A rollup's declaration as the refresh needs it (`rollups`, views/rollup-machinery.sql): its parts' prefix
 * (`<parts>_between`, `<parts>_closed`, `<parts>_open`), the column that places a row in time and the width of its
 * buckets, and for a rollup kept per campaign or per A/B test the key column: its `_between` takes the keys to
 * recount, and writes record which keys of a day (or open bucket) changed.
 */
export type RollupParts = {
  rollup: string;
  parts: string;
  bucket: string;
  key: string | null;
  bucketSeconds: number;
};

/** A name the refresh writes into its SQL: only plain lower-case identifiers (the declarations' own names). */
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * The declared rollups in ROLLUPS order. Throws when the declarations and ROLLUPS disagree, or a declared name is
 * not a plain identifier (they are spliced into the refresh's SQL).
 */
export async function declaredRollups(client: pg.PoolClient): Promise<(RollupParts & { rollup: Rollup })[]> {
  const { rows } = await client.query<RollupParts>(
    `SELECT rollup, parts, bucket, key_column AS key, bucket_seconds AS "bucketSeconds"
       FROM rollups ORDER BY rollup`,
  );
  const byName = new Map(rows.map((r) => [r.rollup, r]));
  const declared = ROLLUPS.flatMap((rollup) => {
    const parts = byName.get(rollup);
    return parts ? [{ ...parts, rollup }] : [];
  });
  if (declared.length !== rows.length || declared.length !== ROLLUPS.length)
    throw new Error(
      `refresh: the declared rollups (table rollups: ${rows.map((r) => r.rollup).join(", ")}) are not ROLLUPS ` +
        `(src/analytics/refresh-views.ts: ${ROLLUPS.join(", ")})`,
    );
  const odd = declared.flatMap((r) => [r.parts, r.bucket, r.key ?? "_"]).filter((n) => !IDENTIFIER.test(n));
  if (odd.length)
    throw new Error(`refresh: declared rollup names that are not plain identifiers: ${odd.join(", ")}`);
  return declared;
}

/** A [from, to) UTC range of closed (or open) buckets to recount: all of its rows, or only those of `keys`. */
export type ClosedRange = {
  from: string;
  to: string;
  /** Campaign ids (campaign rollups) or A/B test ids (ab_variant_results) whose rows are recounted; absent: all. */
  keys?: string[];
};

/** A closed day a write changed: for one rollup (null: every rollup), one key of it (null: every key). */
type Mark = { day: string; rollup: string | null; key: string | null };

export type RefreshTrigger = "startup" | "schedule" | "admin" | "test" | "retention";

export type RefreshOptions = {
  /**
   * Moves the seal up to this UTC timestamp (day-aligned, "YYYY-MM-DD" or "YYYY-MM-DD 00:00:00"), after this
   * refresh has recounted the pending marks: closed buckets before the seal are never rewritten again. It never
   * moves back, nor past the horizon this refresh moves to. Retention seals the days it is about to purge.
   */
  sealBefore?: string;
};

export type ViewsRefresh = {
  /** What the refreshed data is current to: the refresh transaction's snapshot time. */
  as_of: Date;
  duration_ms: number;
  /** Buckets before this are in the closed tables, the rest in the open materialized views. */
  horizon: string;
  /**
   * Closed buckets before this are sealed: never recounted, since the base rows of purged periods are gone and the
   * closed rollups are their record ('-infinity': nothing is sealed).
   */
  sealed_before: string;
  views: {
    view_name: Rollup;
    duration_ms: number;
    /** Rows of the open window (the materialized view), plus closed rows rewritten. */
    row_count: number;
    /** The closed ranges rewritten: the days the horizon passed, and the closed days (and keys) writes changed. */
    closed_ranges: ClosedRange[];
  }[];
  /** The model leaderboards stored for this as_of (every task type, each of `period_days`), after the rollups. */
  leaderboard_snapshots: { period_days: number[]; duration_ms: number; row_count: number };
};

/**
 * Every refresh notifies this channel on commit (payload: its as_of), so that each app instance forgets the asOf it
 * memoised at once (refresh-listener.ts, AnalyticsCache.forgetAsOf).
 */
export const VIEWS_REFRESHED_CHANNEL = "reachgraph_views_refreshed";

/** Refresh rows older than this are pruned (the newest of each view always stays). */
const REFRESH_LOG_RETENTION_DAYS = 30;
/**
 * Serialises refreshes and folds (and rollup_define) across processes: a second refresh waits, then refreshes from
 * a newer snapshot; a fold that finds it taken skips its turn.
 */
export const REFRESH_LOCK_KEY = "reachgraph:refresh_views";
/** How long a refresh waits for write transactions older than it before giving up (it is retried on schedule). */
const WAIT_FOR_WRITERS_MS = 60_000;

/**
 * Refreshes the rollups in one REPEATABLE READ transaction, so all of them reflect the same snapshot and share one
 * `as_of`, recorded in `view_refreshes` in the same transaction. Its cost follows the open window and the changes,
 * not the history (views/README.md):
 *
 * 1. It announces the horizon it will move to (`rollup_horizon.mark_below`, the start of the UTC day `open_days`
 *    before now) and waits for the write transactions that began before that, so every later write to a day
 *    before it is recorded in `rollup_dirty_days` by the mark triggers (views/rollup-marks.sql).
 * 2. In the snapshot: it rewrites, per rollup, the closed buckets of the days the horizon passes and of the days
 *    recorded for it (of only the recorded campaigns or A/B tests when the marks name them), moves the horizon,
 *    drops from the open tables the buckets it closed, and recounts the open buckets writes recorded since the last
 *    fold (foldOpenRanges, as the fold does every second: src/analytics/fold-open-changes.ts). Row writes only:
 *    writers are never blocked, readers keep the previous contents until commit, and no ACCESS EXCLUSIVE lock is
 *    replayed on a standby to cancel replica readers.
 * 3. From the refreshed rollups, still in the snapshot, it stores the model leaderboards ending at its as_of
 *    (storeLeaderboardSnapshots in get-model-leaderboard.ts).
 *
 * Closed days before `rollup_horizon.sealed_before` are never recounted (their marks are discarded, a '-infinity'
 * mark recounts from the seal): retention purges their base rows, so the closed rollups are their only record.
 * `options.sealBefore` moves the seal up after this refresh's recount (migration 0016, views/README.md).
 *
 * The advisory lock is taken before the snapshot, so a refresh that waited for another one never writes older data
 * over newer. Call it outside any transaction that has written: it would wait for that one (and give up after
 * WAIT_FOR_WRITERS_MS).
 */
export async function refreshViews(
  primary: pg.Pool,
  trigger: RefreshTrigger,
  options: RefreshOptions = {},
): Promise<ViewsRefresh> {
  const client = await primary.connect();
  let locked = false;
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [REFRESH_LOCK_KEY]);
    locked = true;
    const started = performance.now();
    await announceHorizon(client);
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
    try {
      // The first statement takes the snapshot; now() is the transaction's start, just before it.
      const { rows } = await client.query<{ as_of: Date; horizon: string; target: string; sealed: string }>(
        `SELECT date_trunc('milliseconds', now())::timestamp AS as_of, horizon::text AS horizon,
                mark_below::text AS target, sealed_before::text AS sealed
           FROM rollup_horizon`,
      );
      const state = rows[0];
      if (!state) throw new Error("refresh: rollup_horizon is empty");
      const dirty = await client.query<Mark>(
        "DELETE FROM rollup_dirty_days RETURNING day::text AS day, rollup, key::text AS key",
      );
      const changes = await takeOpenChanges(client);
      // The closed ranges are explicit (from the seal as it was: the pending marks of days about to be sealed are
      // recounted first); only the open views read the horizon. The seal moves up, never past the new horizon.
      const moved = await client.query<{ sealed: string }>(
        `UPDATE rollup_horizon
            SET horizon = $1::timestamp,
                sealed_before = CASE WHEN $2::timestamp IS NULL THEN sealed_before
                                     ELSE least(greatest(sealed_before, $2::timestamp), $1::timestamp) END
         RETURNING sealed_before::text AS sealed`,
        [state.target, options.sealBefore ?? null],
      );
      const sealedBefore = moved.rows[0]?.sealed ?? state.sealed;
      const views: ViewsRefresh["views"] = [];
      for (const { rollup: view, parts, bucket, key, bucketSeconds } of await declaredRollups(client)) {
        const t0 = performance.now();
        const ranges = closedRanges(
          state.horizon,
          state.target,
          dirty.rows
            .filter((m) => m.rollup === null || m.rollup === view)
            .map((m) => ({ day: m.day, key: key ? m.key : null })),
          state.sealed,
        );
        const closedRows = await recount(client, `${parts}_closed`, { parts, bucket, key }, ranges);
        // The buckets just closed leave the open table; the open ones writes recorded are recounted.
        if (state.horizon !== state.target)
          await client.query(`DELETE FROM ${parts}_open WHERE ${bucket} < $1::timestamp`, [state.target]);
        await recount(
          client,
          `${parts}_open`,
          { parts, bucket, key },
          openRanges(state.target, changesOf(changes, view, key), bucketSeconds),
        );
        const open = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${parts}_open`);
        views.push({
          view_name: view,
          duration_ms: Math.round(performance.now() - t0),
          row_count: (open.rows[0]?.n ?? 0) + closedRows,
          closed_ranges: ranges,
        });
      }
      const t0 = performance.now();
      const leaderboardRows = await storeLeaderboardSnapshots(client, state.as_of);
      const leaderboards = {
        period_days: [...SNAPSHOT_PERIOD_DAYS],
        duration_ms: Math.round(performance.now() - t0),
        row_count: leaderboardRows,
      };
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
      await client.query("SELECT pg_notify($1, $2)", [VIEWS_REFRESHED_CHANNEL, state.as_of.toISOString()]);
      await client.query("COMMIT");
      return {
        as_of: state.as_of,
        duration_ms: Math.round(performance.now() - started),
        horizon: state.target,
        sealed_before: sealedBefore,
        views,
        leaderboard_snapshots: leaderboards,
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

/**
 * Step 1: sets `mark_below` to the horizon this refresh moves to (it never moves back), then waits until every
 * transaction that had a transaction id then has ended. A write's trigger reads `mark_below` after the write took
 * its id (READ COMMITTED, a fresh snapshot per statement), so a write not waited for saw the new value and recorded
 * its days; one waited for is in the refresh's snapshot.
 */
async function announceHorizon(client: pg.PoolClient): Promise<void> {
  await client.query(
    `UPDATE rollup_horizon
        SET mark_below = greatest(mark_below, date_trunc('day', now()::timestamp) - make_interval(days => open_days))`,
  );
  const { rows } = await client.query<{ xmax: string }>(
    "SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax",
  );
  const xmax = rows[0]?.xmax;
  const deadline = performance.now() + WAIT_FOR_WRITERS_MS;
  for (;;) {
    const done = await client.query<{ done: boolean }>(
      "SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS done",
      [xmax],
    );
    if (done.rows[0]?.done) return;
    if (performance.now() > deadline)
      throw new Error(
        `refresh: write transactions older than ${WAIT_FOR_WRITERS_MS / 1000} s are still open; retrying later`,
      );
    await sleep(20);
  }
}

const DAY_MS = 86_400_000;
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * One rollup's closed ranges to rewrite: [horizon, target) when the horizon moves; each marked day before the
 * horizon, consecutive whole days merged; a day marked only for some keys as that day with those keys (all of
 * [sealed, target) after a TRUNCATE). Marks of sealed days (before `sealed`) are dropped: their base rows may be
 * purged, and the closed rollups are the record of them.
 */
export function closedRanges(
  horizon: string,
  target: string,
  marks: readonly { day: string; key: string | null }[],
  sealed = "-infinity",
): ClosedRange[] {
  const ms = (timestamp: string) =>
    timestamp === "-infinity" ? Number.NEGATIVE_INFINITY : Date.parse(`${timestamp.replace(" ", "T")}Z`);
  const sealedMs = ms(sealed);
  if (marks.some((m) => m.day === "-infinity"))
    return sealedMs < ms(target) ? [{ from: sealed, to: target }] : [];
  const horizonMs = ms(horizon);
  const targetMs = ms(target);
  const closed = marks
    .map((m) => ({ day: Date.parse(`${m.day}T00:00:00Z`), key: m.key }))
    .filter((m) => m.day < horizonMs && m.day >= sealedMs);
  const wholeDays = new Set(closed.filter((m) => m.key === null).map((m) => m.day));
  const keyedDays = new Map<number, Set<string>>();
  for (const { day, key } of closed) {
    if (key === null || wholeDays.has(day)) continue;
    keyedDays.set(day, (keyedDays.get(day) ?? new Set()).add(key));
  }
  const ranges: { from: number; to: number; keys?: string[] }[] = [];
  for (const day of [...wholeDays].sort((a, b) => a - b)) {
    const last = ranges.at(-1);
    if (last && last.to === day) last.to = day + DAY_MS;
    else ranges.push({ from: day, to: day + DAY_MS });
  }
  for (const [day, keys] of keyedDays) ranges.push({ from: day, to: day + DAY_MS, keys: [...keys].sort() });
  ranges.sort((a, b) => a.from - b.from);
  const out: ClosedRange[] = ranges.map(({ from, to, keys }) => ({
    from: isoDay(from),
    to: isoDay(to),
    ...(keys ? { keys } : {}),
  }));
  if (horizonMs < targetMs) out.push({ from: horizon, to: target });
  return out;
}

/** A bucket of the open window a write changed (rollup_open_changes): for one rollup (null: every rollup), one key. */
export type OpenChange = { rollup: string | null; bucket: string; key: string | null };

/**
 * Takes the open window's change log in the caller's snapshot: the rows it deletes are the writes committed before
 * it, whose rows that snapshot sees; a later write's change stays for the next refresh or fold.
 */
export async function takeOpenChanges(client: pg.PoolClient): Promise<OpenChange[]> {
  const { rows } = await client.query<OpenChange>(
    "DELETE FROM rollup_open_changes RETURNING rollup, bucket::text AS bucket, key::text AS key",
  );
  return rows;
}

/** One rollup's open changes; a rollup without keys recounts whole buckets. */
export function changesOf(changes: readonly OpenChange[], rollup: string, key: string | null) {
  return changes
    .filter((c) => c.rollup === null || c.rollup === rollup)
    .map((c) => ({ bucket: c.bucket, key: key ? c.key : null }));
}

/**
 * Above this many ranges in one rollup, the fold recounts the whole open window instead (one statement, what a
 * refresh of the old materialized view cost): after a bulk load, not in steady ingest.
 */
export const MAX_OPEN_RANGES = 1000;

/**
 * One rollup's open ranges to recount: each changed bucket from `horizon` on, `bucketSeconds` wide, with the keys
 * recorded for it (none when a change named every key); all of [horizon, infinity) after a TRUNCATE or when there
 * are more than MAX_OPEN_RANGES. Buckets before the horizon are the refresh's (closed days, marked dirty).
 */
export function openRanges(
  horizon: string,
  changes: readonly { bucket: string; key: string | null }[],
  bucketSeconds: number,
): ClosedRange[] {
  const horizonMs = timestampMs(horizon);
  const whole = [{ from: horizon, to: "infinity" }];
  if (changes.some((c) => c.bucket === "-infinity")) return whole;
  const byBucket = new Map<number, Set<string> | null>();
  for (const { bucket, key } of changes) {
    const at = timestampMs(bucket);
    if (at < horizonMs) continue;
    const keys = byBucket.get(at);
    if (key === null || keys === null) byBucket.set(at, null);
    else byBucket.set(at, (keys ?? new Set()).add(key));
  }
  if (byBucket.size > MAX_OPEN_RANGES) return whole;
  return [...byBucket.entries()]
    .sort(([a], [b]) => a - b)
    .map(([at, keys]) => ({
      from: isoTimestamp(at),
      to: isoTimestamp(at + bucketSeconds * 1000),
      ...(keys ? { keys: [...keys].sort() } : {}),
    }));
}

/**
 * Rewrites the rows of `table` (a rollup's _closed or _open table) in each range from the base tables, through
 * the rollup's `_between`: DELETE then INSERT in the caller's transaction and snapshot. Returns the rows inserted.
 */
export async function recount(
  client: pg.PoolClient,
  table: string,
  { parts, bucket, key }: Pick<RollupParts, "parts" | "bucket" | "key">,
  ranges: readonly ClosedRange[],
): Promise<number> {
  if (ranges.length === 0) return 0;
  const recordset = `jsonb_to_recordset($1::jsonb) AS r(lo timestamp, hi timestamp, keys uuid[])`;
  const jobs = JSON.stringify(ranges.map((r) => ({ lo: r.from, hi: r.to, keys: r.keys ?? null })));
  await client.query(
    `DELETE FROM ${table} c USING ${recordset}
      WHERE c.${bucket} >= r.lo AND c.${bucket} < r.hi
        ${key ? `AND (r.keys IS NULL OR c.${key} = ANY (r.keys))` : ""}`,
    [jobs],
  );
  const inserted = await client.query(
    `INSERT INTO ${table}
     SELECT f.* FROM ${recordset} CROSS JOIN LATERAL ${parts}_between(r.lo, r.hi${key ? ", r.keys" : ""}) AS f`,
    [jobs],
  );
  return inserted.rowCount ?? 0;
}

const timestampMs = (timestamp: string) =>
  timestamp === "-infinity"
    ? Number.NEGATIVE_INFINITY
    : Date.parse(`${timestamp.replace(" ", "T")}${timestamp.length > 10 ? "" : "T00:00:00"}Z`);
const isoTimestamp = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");
