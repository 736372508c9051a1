import { describe, expect, it } from "vitest";
import { type Settled, WriteGroups } from "../../src/rest/write-groups.js";

/** A batch runner whose batches finish when the test says so, recording what each batch held. */
function gate() {
  const batches: number[][] = [];
  const open: (() => void)[] = [];
  let running = 0;
  let most = 0;
  const run = async (members: number[]): Promise<Settled<number>[]> => {
    batches.push(members);
    running++;
    most = Math.max(most, running);
    await new Promise<void>((resolve) => open.push(resolve));
    running--;
    return members.map((m) => ({ ok: true, value: m * 10 }));
  };
  const release = async () => {
    while (open.length) {
      for (const done of open.splice(0)) done();
      await new Promise((r) => setImmediate(r));
    }
  };
  return { run, batches, release, most: () => most };
}

describe("WriteGroups", () => {
  it("starts a request at once when a slot is free and batches what queues while slots are busy", async () => {
    const groups = new WriteGroups({ maxRequests: 100, maxInFlight: 2 });
    const g = gate();
    const answers = Promise.all(Array.from({ length: 10 }, (_, i) => groups.submit("k", i, g.run)));
    expect(g.batches).toEqual([[0], [1]]);
    await g.release();
    expect(await answers).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect(g.batches.slice(2)).toEqual([[2, 3, 4, 5, 6, 7, 8, 9]]);
    expect(g.most()).toBe(2);
    expect(groups.pending).toBe(0);
  });

  it("never puts more than maxRequests in a batch, nor runs more than maxInFlight batches of a key", async () => {
    const groups = new WriteGroups({ maxRequests: 3, maxInFlight: 1 });
    const g = gate();
    const answers = Promise.all(Array.from({ length: 10 }, (_, i) => groups.submit("k", i, g.run)));
    await g.release();
    await answers;
    expect(g.batches).toEqual([[0], [1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(g.most()).toBe(1);
  });

  it("keeps keys apart", async () => {
    const groups = new WriteGroups({ maxRequests: 10, maxInFlight: 1 });
    const g = gate();
    const answers = Promise.all(Array.from({ length: 6 }, (_, i) => groups.submit(`k${i % 2}`, i, g.run)));
    await g.release();
    await answers;
    expect(g.batches).toEqual([[0], [1], [2, 4], [3, 5]]);
  });

  it("settles each member on its own, and rejects the whole batch when the runner fails", async () => {
    const groups = new WriteGroups({ maxRequests: 10, maxInFlight: 1 });
    const mixed = (members: number[]): Promise<Settled<number>[]> =>
      Promise.resolve(
        members.map((m) => (m % 2 ? { ok: false, error: new Error(`odd ${m}`) } : { ok: true, value: m })),
      );
    const results = await Promise.allSettled([1, 2].map((m) => groups.submit("mixed", m, mixed)));
    expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);

    const broken = () => Promise.reject(new Error("no connection"));
    await expect(groups.submit("broken", 1, broken)).rejects.toThrow("no connection");
    const short = () => Promise.resolve([]);
    await expect(groups.submit("short", 1, short)).rejects.toThrow("wrong number");
    expect(groups.pending).toBe(0);
  });

  it("is off with maxRequests 1, and refuses sizes below 1", () => {
    expect(new WriteGroups({ maxRequests: 1, maxInFlight: 1 }).enabled).toBe(false);
    expect(new WriteGroups().enabled).toBe(true);
    expect(() => new WriteGroups({ maxRequests: 0, maxInFlight: 1 })).toThrow();
    expect(() => new WriteGroups({ maxRequests: 2, maxInFlight: 0 })).toThrow();
  });
});
