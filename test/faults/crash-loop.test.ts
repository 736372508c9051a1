import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCrashLoop } from "../../bench/crash-loop.js";

/**
 * 20 iterations of SIGKILL to the server's process group at random moments (every third also stopping PostgreSQL
 * with `immediate`) under concurrent keyed writes; see bench/crash-loop.ts. `npm run bench -- --crash` runs 200.
 */
describe("the crash loop", () => {
  it("loses and duplicates no acknowledged write, and every unknown outcome resolves on the first replays", async () => {
    const dataDir = path.join(os.tmpdir(), `reachgraph-crash-${randomBytes(4).toString("hex")}`);
    try {
      const report = await runCrashLoop({ iterations: 20, dataDir, seed: 11 });
      console.log(`[crash loop] ${JSON.stringify(report)}`);
      expect(report.acknowledged).toBeGreaterThan(0);
      expect(report.unknownOutcomes).toBeGreaterThan(0);
      expect(report.postgresImmediateStops).toBeGreaterThan(0);
      expect(report.lost).toBe(0);
      expect(report.duplicated).toBe(0);
      expect(report.missingAudit).toBe(0);
      expect(report.missingEvent).toBe(0);
      // A killed request's key is free as soon as the server is back (it was held by a transaction that died),
      // not after a timeout: the old in-flight rows blocked retries for 5 minutes.
      expect(report.resolveMs.max).toBeLessThan(10_000);
      expect(report.leaderboardUsage).toBe(report.aiGymRows);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 900_000);
});
