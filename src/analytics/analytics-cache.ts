import { LRUCache } from "lru-cache";
import type pg from "pg";
import { getViewsAsOf } from "./get-views-as-of.js";

export type AnalyticsCacheOptions = {
  /** Answers kept (computed analytics answers and GraphQL responses together); 0 turns caching off. */
  maxEntries: number;
  /**
   * How long a database's looked-up `asOf` is reused (ms): with it, a cached answer costs no database round trip.
   * `forgetAsOf()` (a refresh notification, see refresh-listener.ts) ends it early; 0 looks `asOf` up every time.
   */
  asOfTtlMs: number;
};

/**
 * The read side's one cache, built at the composition root (main.ts, createApp) and passed to whoever reads.
 *
 * Answers built on the rollups change only when a refresh moves `asOf`, so they are kept under (database, asOf,
 * key): an answer is never stale, it only stops being asked for once `asOf` moves, and the least recently used
 * entries go first. That makes it correct across app instances too — every instance keys by the `asOf` it read.
 * What can lag is the `asOf` itself, reused for `asOfTtlMs` per database; a refresh in any instance ends that at once
 * when its notification arrives (`forgetAsOf`).
 *
 * Values are promises while they compute, so concurrent misses for one key share one computation; a rejected one
 * is dropped, never cached.
 */
export class AnalyticsCache {
  private readonly entries: LRUCache<string, object> | undefined;
  private readonly databases = new WeakMap<pg.Pool, number>();
  private nextDatabaseId = 0;
  /** Bumped by forgetAsOf: memoised asOf lookups are keyed by it, so the old ones are never read again. */
  private generation = 0;

  constructor(private readonly options: AnalyticsCacheOptions) {
    // The asOf memos live in the same LRU (one per database, with a TTL), so one more slot per database.
    this.entries = options.maxEntries > 0 ? new LRUCache({ max: options.maxEntries + 8 }) : undefined;
  }

  /** A cache that keeps nothing: every call computes (benchmarks' bare servers, tests that count statements). */
  static disabled(): AnalyticsCache {
    return new AnalyticsCache({ maxEntries: 0, asOfTtlMs: 0 });
  }

  get enabled(): boolean {
    return this.entries !== undefined;
  }

  /** What the rollups `db` serves are current to (getViewsAsOf), reused for `asOfTtlMs`. */
  asOf(db: pg.Pool): Promise<Date> {
    if (!this.entries || this.options.asOfTtlMs <= 0) return getViewsAsOf(db);
    const key = `asOf|${this.databaseId(db)}|${this.generation}`;
    return this.memo(key, () => getViewsAsOf(db), this.options.asOfTtlMs);
  }

  /** The next `asOf(db)` looks it up again: a refresh committed (in this instance or another). */
  forgetAsOf(): void {
    this.generation += 1;
  }

  /** `compute()`'s answer for `key` at `asOf` on `db`, computed once while it stays in the cache. */
  byAsOf<T>(db: pg.Pool, asOf: Date, key: string, compute: () => Promise<T>): Promise<T> {
    if (!this.entries) return compute();
    return this.memo(this.answerKey(db, asOf, key), compute);
  }

  /** A finished value stored for `key` at `asOf` on `db` (GraphQL responses), if there is one. */
  peek<T extends object>(db: pg.Pool, asOf: Date, key: string): T | undefined {
    return this.entries?.get(this.answerKey(db, asOf, key)) as T | undefined;
  }

  store(db: pg.Pool, asOf: Date, key: string, value: object): void {
    this.entries?.set(this.answerKey(db, asOf, key), value);
  }

  private memo<T>(key: string, compute: () => Promise<T>, ttl?: number): Promise<T> {
    const entries = this.entries;
    if (!entries) return compute();
    const hit = entries.get(key) as Promise<T> | undefined;
    if (hit) return hit;
    const value = compute();
    entries.set(key, value, ttl ? { ttl } : undefined);
    value.catch(() => {
      if (entries.peek(key) === value) entries.delete(key);
    });
    return value;
  }

  private answerKey(db: pg.Pool, asOf: Date, key: string): string {
    return `${this.databaseId(db)}|${asOf.toISOString()}|${key}`;
  }

  /** Pools are told apart by identity: the primary's answers never stand in for a replica's, nor one replica's. */
  private databaseId(db: pg.Pool): number {
    let id = this.databases.get(db);
    if (id === undefined) {
      id = this.nextDatabaseId++;
      this.databases.set(db, id);
    }
    return id;
  }
}
