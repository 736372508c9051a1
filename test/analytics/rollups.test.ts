import { describe, expect, it } from "vitest";
import { closedRanges, refreshViews } from "../../src/analytics/refresh-views.js";
import { migrate } from "../../src/db/migrate.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { logger, scratchDatabase } from "../support/db.js";

// A database of its own: these tests move the rollup horizon and truncate tables.
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });

const DAY_MS = 86_400_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY_MS).toISOString().slice(0, 10);

async function dirtyDays(): Promise<string[]> {
  const { rows } = await pool.query<{ day: string }>(
    "SELECT DISTINCT day::text AS day FROM rollup_dirty_days ORDER BY 1",
  );
  return rows.map((r) => r.day);
}

async function aiGymRowsOn(day: string): Promise<{ rollup: number; base: number }> {
  const { rows } = await pool.query<{ rollup: number; base: number }>(
    `SELECT (SELECT COALESCE(sum(usage_count), 0) FROM ai_gym_daily WHERE day = $1::date)::int AS rollup,
            (SELECT count(*) FROM ai_gym_performance
              WHERE created_at::date = $1::date AND task_type IS NOT NULL AND model_name IS NOT NULL)::int AS base`,
    [day],
  );
  return rows[0] ?? { rollup: -1, base: -2 };
}

const insertAiGym = (client: { query: typeof pool.query }, createdAt: string) =>
  client.query(
    `INSERT INTO ai_gym_performance (task_type, model_name, cost, duration_seconds, created_at)
     VALUES ('website_analysis', 'rollup-test-model', 0.01, 5, $1::timestamp)`,
    [createdAt],
  );

describe("closedRanges", () => {
  it("merges consecutive recorded days, keeps only days before the horizon, and adds the days the horizon passes", () => {
    expect(
      closedRanges("2026-11-01 00:00:00", "2026-11-11 00:00:00", [
        "2026-10-03",
        "2026-10-01",
        "2026-10-02",
        "2026-10-02",
        "2026-10-20",
        "2026-11-05", // inside [horizon, target): already recounted by the horizon's move
      ]),
    ).toEqual([
      { from: "2026-10-01", to: "2026-10-04" },
      { from: "2026-10-20", to: "2026-10-21" },
      { from: "2026-11-01 00:00:00", to: "2026-11-11 00:00:00" },
    ]);
  });

  it("recounts everything after a TRUNCATE ('-infinity'), and nothing when the horizon stays and no day is dirty", () => {
    expect(closedRanges("2026-11-01 00:00:00", "2026-11-11 00:00:00", ["2026-10-01", "-infinity"])).toEqual([
      { from: "-infinity", to: "2026-11-11 00:00:00" },
    ]);
    expect(closedRanges("2026-11-11 00:00:00", "2026-11-11 00:00:00", [])).toEqual([]);
  });
});

describe("incremental rollups", () => {
  it("the first refresh closes all history before the open window; a write in the open window records no day", async () => {
    await seedDemoData(pool, { leads: 60, seed: 5, spanDays: 60 });
    const first = await refreshViews(pool, "test");
    expect(first.closed_ranges).toEqual([{ from: "-infinity", to: `${daysAgo(14)} 00:00:00` }]);
    expect(first.horizon).toBe(`${daysAgo(14)} 00:00:00`);

    await insertAiGym(pool, new Date().toISOString());
    expect(await dirtyDays()).toEqual([]);
    await insertAiGym(pool, `${daysAgo(30)}T12:00:00Z`);
    expect(await dirtyDays()).toEqual([daysAgo(30)]);

    const second = await refreshViews(pool, "test");
    expect(second.closed_ranges).toEqual([{ from: daysAgo(30), to: daysAgo(29) }]);
    expect(await dirtyDays()).toEqual([]);
    const day = await aiGymRowsOn(daysAgo(30));
    expect(day.rollup).toBe(day.base);
  });

  it("a write that was in flight when a refresh began is in the days that refresh closes (the refresh waits for it)", async () => {
    // As if the last refresh ran ten days ago: the next one moves the horizon ten days on.
    await pool.query(`UPDATE rollup_horizon SET horizon = $1::timestamp, mark_below = $1::timestamp`, [
      `${daysAgo(24)} 00:00:00`,
    ]);
    const day = daysAgo(20); // open now, closed by the next refresh

    const writer = await pool.connect();
    try {
      await writer.query("BEGIN");
      await insertAiGym(writer, `${day}T08:00:00Z`);
      // It was open when written: no day recorded (seen from inside its own transaction).
      const marked = await writer.query("SELECT count(*)::int AS n FROM rollup_dirty_days");
      expect(marked.rows[0]?.n).toBe(0);
      let refreshed = false;
      const refresh = refreshViews(pool, "test").then((r) => {
        refreshed = true;
        return r;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(refreshed, "the refresh waits for the open write transaction").toBe(false);
      await writer.query("COMMIT");
      const r = await refresh;
      expect(r.closed_ranges).toContainEqual({
        from: `${daysAgo(24)} 00:00:00`,
        to: `${daysAgo(14)} 00:00:00`,
      });
    } finally {
      writer.release();
    }
    const counts = await aiGymRowsOn(day);
    expect(counts.base).toBeGreaterThan(0);
    expect(counts.rollup).toBe(counts.base);
  });

  it("a TRUNCATE recounts every closed day", async () => {
    await seedDemoData(pool, { leads: 40, seed: 6, spanDays: 60, reset: true });
    expect(await dirtyDays()).toContain("-infinity");
    const r = await refreshViews(pool, "test");
    expect(r.closed_ranges).toEqual([{ from: "-infinity", to: `${daysAgo(14)} 00:00:00` }]);
    const { rows } = await pool.query<{ rollup: number; base: number }>(
      `SELECT (SELECT sum(sent) FROM campaign_kpis_15m)::int AS rollup,
              (SELECT count(*) FROM email_sends
                WHERE campaign_id IS NOT NULL AND sent_at IS NOT NULL AND status IN ('sent', 'bounced'))::int AS base`,
    );
    expect(rows[0]?.base).toBeGreaterThan(0);
    expect(rows[0]?.rollup).toBe(rows[0]?.base);
  });
});
