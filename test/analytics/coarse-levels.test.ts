import type pg from "pg";
import { describe, expect, it } from "vitest";
import { foldOpenChanges } from "../../src/analytics/fold-open-changes.js";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { migrate } from "../../src/db/migrate.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { logger, scratchDatabase } from "../support/db.js";
import { insertCampaign, insertEmailSend, insertLead } from "../support/factories-engagement.js";

// A database of its own: the test compares whole coarse tables with the whole views.
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });

/** The rollups with coarse levels, and the key columns (besides the bucket) their sums are kept per. */
const COARSE = { campaign_kpis_15m: ["campaign_id"], outreach_kpis_15m: [], platform_kpis_15m: [] } as const;
const HOUR = 3_600_000;

/**
 * The rows that only one side has, per rollup: its coarse table, and its view summed per key, UTC hour and day
 * (what rollup_coarsen promises). Zero when the triggers kept every hour and day the writes touched.
 */
async function coarseDrift(db: pg.Pool | pg.PoolClient = pool): Promise<Record<string, number>> {
  const drift: Record<string, number> = {};
  for (const [view, keys] of Object.entries(COARSE)) {
    const { rows: columns } = await db.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_attribute a
        WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
      [view],
    );
    const bin = "date_bin(make_interval(secs => w.s), v.bucket, TIMESTAMP '2000-01-01')";
    const select = columns
      .map((c) =>
        c.name === "bucket" ? bin : (keys as readonly string[]).includes(c.name) ? c.name : `sum(${c.name})`,
      )
      .join(", ");
    const expected = `SELECT ${select}, w.s FROM ${view} v CROSS JOIN (VALUES (3600), (86400)) AS w(s)
                       GROUP BY ${[bin, ...keys, "w.s"].join(", ")}`;
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ((TABLE ${view}_coarse EXCEPT ALL ${expected})
                                        UNION ALL (${expected} EXCEPT ALL TABLE ${view}_coarse)) AS d`,
    );
    drift[view] = rows[0]?.n ?? -1;
  }
  return drift;
}

const none = { campaign_kpis_15m: 0, outreach_kpis_15m: 0, platform_kpis_15m: 0 };

describe("the coarse levels of the overview's rollups (rollup_coarsen, migration 0027)", () => {
  it("equal the views summed per UTC hour and day through seeding, refreshes, late writes and folds", async () => {
    await seedDemoData(pool, { leads: 60, seed: 9, spanDays: 40 });
    await refreshViews(pool, "test");
    const { rows } = await pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM outreach_kpis_15m_coarse WHERE bucket_seconds = 86400",
    );
    expect(rows[0]?.n).toBeGreaterThan(20);
    expect(await coarseDrift()).toEqual(none);

    // Open-window writes (folded), and a late open of an old email (a closed day, recounted by the refresh).
    const campaign = await insertCampaign(pool);
    const now = Date.now();
    await insertEmailSend(pool, {
      lead_id: await insertLead(pool),
      campaign_id: campaign,
      sent_at: new Date(now),
    });
    const old = await insertEmailSend(pool, {
      lead_id: await insertLead(pool),
      campaign_id: campaign,
      sent_at: new Date(now - 30 * 24 * HOUR),
    });
    const fold = await foldOpenChanges(pool);
    expect(fold.folded).toBe(true);
    expect(await coarseDrift()).toEqual(none);
    await pool.query("UPDATE email_sends SET opened_at = sent_at + interval '1 hour' WHERE id = $1", [old]);
    await refreshViews(pool, "test");
    expect(await coarseDrift()).toEqual(none);
  });

  it("re-sums an hour whose buckets all went away, and everything after a TRUNCATE", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      // A whole day of open buckets deleted: its hours and its day go too (no row with a zero sum stays behind).
      await client.query(
        `DELETE FROM outreach_kpis_15m_open
          WHERE bucket >= (SELECT date_trunc('day', max(bucket)) FROM outreach_kpis_15m_open)`,
      );
      await client.query("TRUNCATE platform_kpis_15m_closed");
      expect(await coarseDrift(client)).toEqual(none);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});
