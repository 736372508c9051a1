import type pg from "pg";
import { describe, expect, it } from "vitest";
import { AnalyticsCache } from "../../src/analytics/analytics-cache.js";

// byAsOf never touches the pool: it only tells databases apart by identity.
const poolA = {} as pg.Pool;
const poolB = {} as pg.Pool;
const asOf = new Date("2026-12-01T00:00:00Z");
const later = new Date("2026-12-01T00:00:01Z");

/** A computation that counts its runs. */
function counted<T>(value: T) {
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    compute: async () => {
      runs += 1;
      return value;
    },
  };
}

describe("AnalyticsCache (answers keyed by database, asOf and key)", () => {
  it("computes an answer once per (database, asOf, key), concurrent misses included", async () => {
    const cache = new AnalyticsCache({ maxEntries: 10, asOfTtlMs: 0 });
    const c = counted(42);
    const both = await Promise.all([
      cache.byAsOf(poolA, asOf, "k", c.compute),
      cache.byAsOf(poolA, asOf, "k", c.compute),
    ]);
    expect(both).toEqual([42, 42]);
    expect(await cache.byAsOf(poolA, asOf, "k", c.compute)).toBe(42);
    expect(c.runs).toBe(1);
    // Another database, another asOf or another key is another answer.
    await cache.byAsOf(poolB, asOf, "k", c.compute);
    await cache.byAsOf(poolA, later, "k", c.compute);
    await cache.byAsOf(poolA, asOf, "other", c.compute);
    expect(c.runs).toBe(4);
  });

  it("keeps no failed computation: the next call computes again", async () => {
    const cache = new AnalyticsCache({ maxEntries: 10, asOfTtlMs: 0 });
    await expect(cache.byAsOf(poolA, asOf, "k", () => Promise.reject(new Error("down")))).rejects.toThrow(
      "down",
    );
    const c = counted("fine");
    expect(await cache.byAsOf(poolA, asOf, "k", c.compute)).toBe("fine");
    expect(c.runs).toBe(1);
  });

  it("holds at most maxEntries answers, the least recently used out first", async () => {
    const cache = new AnalyticsCache({ maxEntries: 3, asOfTtlMs: 0 });
    const c = counted(1);
    for (const k of ["a", "b", "c"]) await cache.byAsOf(poolA, asOf, k, c.compute);
    await cache.byAsOf(poolA, asOf, "a", c.compute); // a is now the most recent
    // The asOf memos share the LRU with a few slots of their own, so fill past them too.
    for (let i = 0; i < 20; i++) await cache.byAsOf(poolA, asOf, `filler-${i}`, c.compute);
    const runs = c.runs;
    await cache.byAsOf(poolA, asOf, "a", c.compute);
    expect(c.runs, "an old entry was evicted").toBe(runs + 1);
  });

  it("stores and finds finished values (GraphQL responses) under the same keys", () => {
    const cache = new AnalyticsCache({ maxEntries: 10, asOfTtlMs: 0 });
    cache.store(poolA, asOf, "q", { data: { x: 1 } });
    expect(cache.peek(poolA, asOf, "q")).toEqual({ data: { x: 1 } });
    expect(cache.peek(poolB, asOf, "q")).toBeUndefined();
    expect(cache.peek(poolA, later, "q")).toBeUndefined();
  });

  it("disabled (0 entries): computes every time and keeps nothing", async () => {
    const cache = AnalyticsCache.disabled();
    expect(cache.enabled).toBe(false);
    const c = counted(1);
    await cache.byAsOf(poolA, asOf, "k", c.compute);
    await cache.byAsOf(poolA, asOf, "k", c.compute);
    expect(c.runs).toBe(2);
    cache.store(poolA, asOf, "q", { data: {} });
    expect(cache.peek(poolA, asOf, "q")).toBeUndefined();
  });
});
