import type pg from "pg";

/**
 * Answers built on the materialized views change only when a refresh moves `asOf`, so they are cached under
 * (database, query, arguments, asOf): a dashboard polling the same leaderboard costs one small `asOf` lookup per
 * request until the next refresh. Least-recently-used entries go first; 0 entries turns caching off.
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
