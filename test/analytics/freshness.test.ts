import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, inject, it } from "vitest";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { loadConfig } from "../../src/config.js";
import { migrate } from "../../src/db/migrate.js";
import { waitForReplica } from "../../src/db/replication.js";
import { startFoldLoop } from "../../src/jobs/fold-loop.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { createLead } from "../support/factories.js";
import { aiGymRecord } from "../support/factories-work.js";
import { until } from "../support/until.js";
import { withDatabase } from "../support/urls.js";

// Issue 14 target 3: a write is counted by the analytics within seconds, not at the next refresh. A database of its
// own (the fold loop records a new asOf every time it folds: other files compare asOf with their refreshes).
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });
await seedDemoData(pool, { leads: 40, seed: 7, spanDays: 30 });
// The horizon moves to a few days back; from here on, only the fold counts what is written.
await refreshViews(pool, "test");
const replicaUrl = inject("replicaUrl")
  ? withDatabase(inject("replicaUrl") as string, new URL(url).pathname.slice(1))
  : undefined;

// The bound comes from configuration: the app's defaults (ROLLUP_FOLD_INTERVAL_MS) and the replica lag it accepts.
const config = loadConfig({
  ...process.env,
  ROLLUP_FOLD_INTERVAL_MS: undefined,
  REPLICA_MAX_LAG_SECONDS: "1",
});
const foldIntervalMs = config.rollupFoldIntervalMs;
// A write committed just after a fold took its snapshot is folded by the next one, which starts an interval after
// that fold ended and itself takes up to about an interval; then the replica replays it (reads leave a replica
// further behind than REPLICA_MAX_LAG_SECONDS). The fold in this process forgets the memoised asOf at once.
const COUNTED_WITHIN_MS = 3 * foldIntervalMs + config.replicaMaxLagSeconds * 1000;

const api = await startApi({
  databaseUrl: url,
  replicaUrl,
  replicaMaxLagSeconds: config.replicaMaxLagSeconds,
});
if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
const fold = startFoldLoop({ primaryUrl: url, intervalMs: foldIntervalMs, logger });
afterAll(() => fold.stop());

const ingest = await api.keyWith("ingest");

async function overviewPlatform(): Promise<{ leads_scraped: number; ai_runs: number; as_of: string }> {
  const res = await api.request("GET", "/api/v2/analytics/overview?period=7d");
  expect(res.status, res.text).toBe(200);
  return { ...res.body.data.platform.totals, as_of: res.body.meta.as_of };
}

describe(`a write is counted by the analytics within ${COUNTED_WITHIN_MS} ms (fold every ${foldIntervalMs} ms)`, () => {
  it("REST: a new lead shows in the overview's leads scraped", async () => {
    const before = await overviewPlatform();
    await createLead(api);
    const written = Date.now();
    const after = await until(async () => {
      const now = await overviewPlatform();
      return now.leads_scraped === before.leads_scraped + 1 ? now : undefined;
    }, COUNTED_WITHIN_MS);
    // Counted because asOf moved past the write: the answer says what it is current to.
    expect(Date.parse(after.as_of)).toBeGreaterThan(Date.parse(before.as_of));
    expect(Date.parse(after.as_of)).toBeGreaterThanOrEqual(written - 1000);
  });

  it("GraphQL: AI-GYM runs show in the overview and in the model leaderboard", async () => {
    const model = `fresh-${randomBytes(4).toString("hex")}`;
    const query = `query($task: String!) {
      overview(period: "7d") { asOf platform { aiRuns } }
      modelLeaderboard(taskType: $task, period: "7d") { asOf entries { modelName usageCount } }
    }`;
    const read = async () => {
      const res = await api.graphql(query, { task: "email_copy" });
      expect(res.status, res.text).toBe(200);
      expect(res.body.errors).toBeUndefined();
      return res.body.data as {
        overview: { asOf: string; platform: { aiRuns: number } };
        modelLeaderboard: { asOf: string; entries: { modelName: string; usageCount: number }[] };
      };
    };
    const before = await read();
    const records = [aiGymRecord({ model_name: model }), aiGymRecord({ model_name: model })];
    const res = await api.request("POST", "/api/v2/ai-gym/records", { key: ingest, body: { records } });
    expect(res.status, res.text).toBe(200);
    const after = await until(async () => {
      const now = await read();
      const entry = now.modelLeaderboard.entries.find((e) => e.modelName === model);
      return now.overview.platform.aiRuns === before.overview.platform.aiRuns + 2 && entry?.usageCount === 2
        ? now
        : undefined;
    }, COUNTED_WITHIN_MS);
    expect(after.overview.asOf).toBe(after.modelLeaderboard.asOf);
  });
});
