import graphileWorker from "graphile-worker";
import { describe, expect, inject, it } from "vitest";
import { getViewsAsOf } from "../src/analytics/get-views-as-of.js";
import { ROLLUPS } from "../src/analytics/refresh-views.js";
import { crontab, maintenanceTasks, startScheduler } from "../src/jobs/scheduler.js";
import { logger, primaryPool } from "./support/db.js";
import { until } from "./support/until.js";

const { parseCrontab, quickAddJob } = graphileWorker;

describe("job scheduler (graphile-worker)", () => {
  const pool = primaryPool();
  const options = {
    url: inject("primaryUrl"),
    primary: pool,
    logger,
    partitionMonthsAhead: 3,
    viewRefreshIntervalMinutes: 5,
    pollIntervalMs: 100,
  };

  it("has a task for every crontab entry, and the crontab parses", () => {
    const items = parseCrontab(crontab(5));
    expect(items.map((i) => i.task).sort()).toEqual(Object.keys(maintenanceTasks(options)).sort());
  });

  it("runs the idempotency purge as a job: expired stored responses go, live ones stay", async () => {
    const { rows } = await pool.query<{ id: string }>(
      "INSERT INTO api_keys (name, prefix, key_hash, scopes) VALUES ('jobs', 'rg_j0b5j0b5', repeat('a', 64), '{admin}') RETURNING id",
    );
    const keyId = rows[0]?.id;
    await pool.query(
      `INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_method, request_path, request_hash, expires_at)
       VALUES ($1, 'expired', 'POST', '/x', repeat('0', 64), NOW() - interval '1 minute'),
              ($1, 'live', 'POST', '/x', repeat('0', 64), NOW() + interval '1 day')`,
      [keyId],
    );
    const runner = await startScheduler(options);
    try {
      await quickAddJob({ connectionString: options.url }, "purge_idempotency_keys", {});
      const left = await until(async () => {
        const r = await pool.query<{ idempotency_key: string }>(
          "SELECT idempotency_key FROM idempotency_keys WHERE api_key_id = $1 ORDER BY 1",
          [keyId],
        );
        return r.rows.length === 1 ? r.rows.map((x) => x.idempotency_key) : undefined;
      });
      expect(left).toEqual(["live"]);
    } finally {
      await runner.stop();
    }
  });

  it("refreshes the analytics views as a job, and the views' as-of moves forward", async () => {
    const before = await getViewsAsOf(pool);
    const runner = await startScheduler(options);
    try {
      await quickAddJob({ connectionString: options.url }, "refresh_views", {}, { jobKey: "refresh_views" });
      // Other test files refresh this shared database too; this waits for the job's own refresh.
      const after = await until(async () => {
        const r = await pool.query<{ as_of: Date }>(
          "SELECT max(as_of) AS as_of FROM view_refreshes WHERE trigger = 'schedule' AND as_of > $1",
          [before.toISOString()],
        );
        return r.rows[0]?.as_of ?? undefined;
      });
      const { rows } = await pool.query<{ view_name: string; trigger: string }>(
        "SELECT view_name, trigger FROM view_refreshes WHERE as_of = $1 ORDER BY view_name",
        [after.toISOString()],
      );
      expect(rows.map((r) => r.view_name)).toEqual([...ROLLUPS].sort());
      expect(new Set(rows.map((r) => r.trigger))).toEqual(new Set(["schedule"]));
      expect((await getViewsAsOf(pool)).getTime()).toBeGreaterThanOrEqual(after.getTime());
    } finally {
      await runner.stop();
    }
  });

  it("is not blocked by a refresh job that a killed process left locked", async () => {
    // What a SIGKILLed server leaves: its refresh_views job locked by a worker that no longer exists.
    await quickAddJob({ connectionString: options.url }, "refresh_views", {}, { jobKey: "refresh_views" });
    const locked = await pool.query(
      `UPDATE graphile_worker._private_jobs j SET locked_at = now(), locked_by = 'killed-worker', attempts = 1
         FROM graphile_worker._private_tasks t
        WHERE t.id = j.task_id AND t.identifier = 'refresh_views' AND j.locked_at IS NULL`,
    );
    expect(locked.rowCount).toBeGreaterThan(0);
    const before = new Date();
    const runner = await startScheduler(options);
    try {
      await runner.addJob("refresh_views", {}, { jobKey: "refresh_views" });
      const after = await until(async () => {
        const r = await pool.query<{ as_of: Date }>(
          "SELECT max(as_of) AS as_of FROM view_refreshes WHERE trigger = 'schedule' AND as_of > $1",
          [before.toISOString()],
        );
        return r.rows[0]?.as_of ?? undefined;
      });
      expect(after.getTime()).toBeGreaterThan(before.getTime());
    } finally {
      await runner.stop();
    }
  });
});
