import { describe, expect, it } from "vitest";
import { listenForRefreshes } from "../../src/analytics/refresh-listener.js";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { migrate } from "../../src/db/migrate.js";
import { waitForReplica } from "../../src/db/replication.js";
import { startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { until } from "../support/until.js";

// A database of its own: no other test file's refresh can move asOf between two requests here.
const { url } = await scratchDatabase();
await migrate(url, { logger });
const api = await startApi({ databaseUrl: url });
const LEADERBOARD =
  '{ modelLeaderboard(taskType: "website_analysis", period: "7d") { asOf entries { modelName } } }';

describe("the asOf-keyed GraphQL response cache", () => {
  it("answers a repeated view-backed query from the cache until a refresh moves asOf", async () => {
    const first = await api.graphql(LEADERBOARD);
    const second = await api.graphql(LEADERBOARD);
    expect(second.headers.get("x-cache")).toBe("hit");
    expect(second.text).toBe(first.text);

    await refreshViews(api.db.primary, "test");
    if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
    const after = await api.graphql(LEADERBOARD);
    expect(after.headers.get("x-cache")).toBe("miss");
    expect(new Date(after.body.data.modelLeaderboard.asOf).getTime()).toBeGreaterThan(
      new Date(first.body.data.modelLeaderboard.asOf).getTime(),
    );
  });

  it("writes through REST show up in GraphQL after a refresh (POST /api/v2/analytics/refreshes), and asOf moves", async () => {
    const query =
      '{ modelLeaderboard(taskType: "website_analysis", period: "1d") { asOf entries { modelName usageCount avgQuality } } }';
    const before = await api.graphql(query);
    const written = await api.request("POST", "/api/v2/ai-gym/records", {
      body: {
        records: [1, 2, 3].map((i) => ({
          task_type: "website_analysis",
          model_name: "rest-written-model",
          cost: 0.01 * i,
          duration_seconds: 10 * i,
          quality_score: 80 + i,
        })),
      },
    });
    expect(written.status).toBe(200);
    const stale = await api.graphql(query);
    expect(stale.body.data.modelLeaderboard.entries).toEqual(before.body.data.modelLeaderboard.entries);

    const refresh = await api.request("POST", "/api/v2/analytics/refreshes");
    expect(refresh.status).toBe(200);
    const fresh = await api.graphql(query);
    expect(fresh.body.data.modelLeaderboard.asOf).toBe(refresh.body.as_of);
    expect(new Date(refresh.body.as_of).getTime()).toBeGreaterThan(
      new Date(before.body.data.modelLeaderboard.asOf).getTime(),
    );
    expect(fresh.body.data.modelLeaderboard.entries).toContainEqual({
      modelName: "rest-written-model",
      usageCount: 3,
      avgQuality: 82,
    });
  });

  it("reuses a looked-up asOf until a refresh notification (from any instance) or the TTL ends it", async () => {
    // A long memo, ended only by the listener: without the notification this test would wait a minute.
    const memo = await startApi({ databaseUrl: url, asOfTtlMs: 60_000 });
    const listener = listenForRefreshes(url, () => memo.cache.forgetAsOf(), logger);
    await listener.ready;
    try {
      const first = await memo.graphql(LEADERBOARD);
      // Only the log moves, with no notification: the memo keeps answering from the cache.
      await memo.db.primary.query(
        `INSERT INTO view_refreshes (view_name, as_of, duration_ms, row_count, trigger)
         SELECT view_name, max(as_of) + interval '1 millisecond', 0, 0, 'test' FROM view_refreshes GROUP BY view_name`,
      );
      const memoised = await memo.graphql(LEADERBOARD);
      expect(memoised.headers.get("x-cache")).toBe("hit");
      expect(memoised.body.data.modelLeaderboard.asOf).toBe(first.body.data.modelLeaderboard.asOf);

      // A refresh by "another instance" (nothing in this app runs it): its NOTIFY ends the memo.
      const refresh = await refreshViews(memo.db.primary, "test");
      const fresh = await until(async () => {
        const r = await memo.graphql(LEADERBOARD);
        return new Date(r.body.data.modelLeaderboard.asOf).getTime() === refresh.as_of.getTime()
          ? r
          : undefined;
      }, 10_000);
      expect(fresh.headers.get("x-cache")).toBe("miss");

      // The listener's connection is dropped: it reconnects and the next refresh is heard again.
      await memo.db.primary.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'reachgraph_refresh_listener'",
      );
      const again = await refreshViews(memo.db.primary, "test");
      await until(async () => {
        const r = await memo.graphql(LEADERBOARD);
        return new Date(r.body.data.modelLeaderboard.asOf).getTime() === again.as_of.getTime()
          ? r
          : undefined;
      });
    } finally {
      await listener.close();
    }
  });

  it("without a notification, a looked-up asOf is reused no longer than its TTL", async () => {
    const short = await startApi({ databaseUrl: url, asOfTtlMs: 300 });
    const first = await short.graphql(LEADERBOARD);
    await short.db.primary.query(
      `INSERT INTO view_refreshes (view_name, as_of, duration_ms, row_count, trigger)
       SELECT view_name, max(as_of) + interval '1 millisecond', 0, 0, 'test' FROM view_refreshes GROUP BY view_name`,
    );
    await new Promise((resolve) => setTimeout(resolve, 400));
    const later = await short.graphql(LEADERBOARD);
    expect(later.headers.get("x-cache")).toBe("miss");
    expect(new Date(later.body.data.modelLeaderboard.asOf).getTime()).toBe(
      new Date(first.body.data.modelLeaderboard.asOf).getTime() + 1,
    );
  });

  it("keys responses by variables and operation, and keeps the read source in each answer", async () => {
    const query = 'query L($t: String!) { modelLeaderboard(taskType: $t, period: "7d") { taskType } }';
    const a = await api.graphql(query, { t: "website_analysis" });
    const b = await api.graphql(query, { t: "email_copy" });
    expect(b.headers.get("x-cache")).toBe("miss");
    expect(b.body.data.modelLeaderboard.taskType).toBe("email_copy");
    const aAgain = await api.graphql(query, { t: "website_analysis" });
    expect(aAgain.headers.get("x-cache")).toBe("hit");
    expect(aAgain.body).toEqual(a.body);
    expect(aAgain.body.extensions.readSource).toEqual(a.body.extensions.readSource);
  });

  it("never caches queries that read base tables (campaign lists), or answers with errors", async () => {
    const campaigns = await api.graphql("{ campaigns(first: 1) { totalCount } }");
    expect(campaigns.headers.get("x-cache")).toBeNull();
    const bad = '{ modelLeaderboard(taskType: "NOT VALID") { asOf } }';
    await api.graphql(bad);
    const again = await api.graphql(bad);
    expect(again.headers.get("x-cache")).toBe("miss");
    expect(again.body.errors).toBeDefined();
  });
});
