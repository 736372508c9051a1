import type pg from "pg";

/**
 * Answers built on the materialized views change only when a refresh moves `asOf`, so they are cached under
 * (database, query, arguments, asOf): a dashboard polling the same leaderboard costs at most one small `asOf` lookup a
 * second until the next refresh. Least-recently-used entries go first; 0 entries turns caching off.
 *
 * The leaderboard also reads its period's partial first and last days from the base table; a row written later but
 * dated inside those hours shows after the next refresh, like every other change.
 */
let maxEntries = 1000;
const caches = new WeakMap<pg.Pool, Map<string, Promise<unknown>>>();

export function configureAsOfCache(entries: number): void {
  maxEntries = entries;
}

export function cachedByAsOf<T>(db: pg.Pool, asOf: Date, key: string, compute: () => Promise<T>): Promise<T> {
  if (maxEntries <= 0) return compute();
  let cache = caches.get(db);
  if (!cache) {
    cache = new Map();
    caches.set(db, cache);
  }
  const k = `${asOf.toISOString()}|${key}`;
  const hit = cache.get(k) as Promise<T> | undefined;
  if (hit) {
    cache.delete(k);
    cache.set(k, hit);
    return hit;
  }
  const value = compute();
  cache.set(k, value);
  value.catch(() => cache.delete(k));
  while (cache.size > maxEntries) {
    const oldest = cache.keys().next().value;
    if (oldest === undefined) break;
    cache.delete(oldest);
  }
  return value;
}

/**
 * How long a looked-up `asOf` is reused: with it, a cached answer costs no database round trip at all. A refresh in
 * this process forgets it at once; one in another process (or replayed on the replica later) shows within this.
 */
const AS_OF_TTL_MS = 1_000;
let asOfMemo = new WeakMap<pg.Pool, { at: number; value: Promise<Date> }>();

/** `lookup(db)`, reused for a second per database (not at all when caching is off). */
export function memoizedAsOf(db: pg.Pool, lookup: (db: pg.Pool) => Promise<Date>): Promise<Date> {
  if (maxEntries <= 0) return lookup(db);
  const now = performance.now();
  const memo = asOfMemo.get(db);
  if (memo && now - memo.at < AS_OF_TTL_MS) return memo.value;
  const entry = { at: now, value: lookup(db) };
  asOfMemo.set(db, entry);
  entry.value.catch(() => {
    if (asOfMemo.get(db) === entry) asOfMemo.delete(db);
  });
  return entry.value;
}

/** Called after a refresh commits: the next read looks `asOf` up again. */
export function forgetAsOf(): void {
  asOfMemo = new WeakMap();
}
