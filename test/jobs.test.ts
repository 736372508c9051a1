import graphileWorker from "graphile-worker";
import { describe, expect, inject, it } from "vitest";
import { CRONTAB, maintenanceTasks, startScheduler } from "../src/jobs/scheduler.js";
import { logger, primaryPool } from "./support/db.js";

const { parseCrontab, quickAddJob } = graphileWorker;

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("job scheduler (graphile-worker)", () => {
  const pool = primaryPool();
  const options = {
    url: inject("primaryUrl"),
    primary: pool,
    logger,
    partitionMonthsAhead: 3,
    pollIntervalMs: 100,
  };

  it("has a task for every crontab entry, and the crontab parses", () => {
    const items = parseCrontab(CRONTAB);
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
});
