import { describe, expect, it } from "vitest";
import { foldOpenChanges } from "../../src/analytics/fold-open-changes.js";
import { ROLLUPS, refreshViews } from "../../src/analytics/refresh-views.js";
import { migrate } from "../../src/db/migrate.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { logger, scratchDatabase } from "../support/db.js";
import { insertCampaign, insertEmailSend, insertLead } from "../support/factories-engagement.js";

// A database of its own: the test compares whole open tables with a recount of the whole open window.
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });
await seedDemoData(pool, { leads: 60, seed: 5, spanDays: 40 });
await refreshViews(pool, "test");

const HOUR = 3_600_000;

/**
 * Each rollup's open table next to a recount of the whole open window from the base tables: the rows only one side
 * has (none when the fold recounted every bucket and key that writes changed).
 */
async function openDrift(): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ rollup: string; parts: string; keyed: boolean }>(
    "SELECT rollup, parts, key_column IS NOT NULL AS keyed FROM rollups ORDER BY rollup",
  );
  const drift: Record<string, number> = {};
  for (const r of rows) {
    const all = `SELECT f.* FROM rollup_horizon h CROSS JOIN LATERAL ${r.parts}_between(h.horizon, 'infinity'${r.keyed ? ", NULL" : ""}) AS f`;
    const { rows: n } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ((TABLE ${r.parts}_open EXCEPT ALL ${all})
                                        UNION ALL (${all} EXCEPT ALL TABLE ${r.parts}_open)) AS d`,
    );
    drift[r.rollup] = n[0]?.n ?? -1;
  }
  return drift;
}

const noDrift = (drift: Record<string, number>) =>
  Object.fromEntries(Object.keys(drift).map((rollup) => [rollup, 0]));

describe("the fold", () => {
  it("recounts exactly the open buckets and keys that writes changed, and nothing else", async () => {
    expect(await openDrift()).toEqual(noDrift(await openDrift()));
    // Writes in the open window: two campaigns in the same 15-minute bucket, a third bucket two days back, an open
    // of an older email (its sent bucket, not now), and a lead (a bucket of the unkeyed platform rollup).
    const [a, b] = [await insertCampaign(pool), await insertCampaign(pool)];
    const lead = await insertLead(pool);
    const now = Date.now();
    await insertEmailSend(pool, { lead_id: lead, campaign_id: a, sent_at: new Date(now - HOUR) });
    await insertEmailSend(pool, {
      lead_id: await insertLead(pool),
      campaign_id: b,
      sent_at: new Date(now - HOUR),
    });
    const older = await insertEmailSend(pool, {
      lead_id: lead,
      campaign_id: b,
      sent_at: new Date(now - 48 * HOUR),
    });
    await pool.query("UPDATE email_sends SET opened_at = now(), status = 'opened' WHERE id = $1", [older]);

    const drifted = await openDrift();
    expect(drifted.campaign_kpis_15m).toBeGreaterThan(0);
    expect(drifted.platform_kpis_15m).toBeGreaterThan(0);

    const fold = await foldOpenChanges(pool);
    if (!fold.folded) throw new Error(`fold did not run: ${fold.reason}`);
    expect(await openDrift()).toEqual(noDrift(drifted));
    // Incremental: the buckets written, not the open window (two weeks of 15-minute buckets).
    const ranges = Object.fromEntries(fold.views.map((v) => [v.view_name, v.open_ranges]));
    expect(ranges.campaign_kpis_15m).toBeGreaterThanOrEqual(2);
    expect(ranges.campaign_kpis_15m).toBeLessThan(10);
    expect(ranges.ai_gym_daily).toBe(0);

    // Nothing written since: nothing to fold, and asOf stays.
    expect(await foldOpenChanges(pool)).toEqual({ folded: false, reason: "no changes" });
  });

  it("records its asOf for every rollup, keeping only the latest fold's rows in the refresh log", async () => {
    await insertLead(pool);
    const first = await foldOpenChanges(pool);
    await insertLead(pool);
    const second = await foldOpenChanges(pool);
    if (!first.folded || !second.folded) throw new Error("a fold did not run");
    const { rows } = await pool.query<{ as_of: Date; n: number }>(
      "SELECT as_of, count(*)::int AS n FROM view_refreshes WHERE trigger = 'fold' GROUP BY as_of",
    );
    expect(rows).toEqual([{ as_of: second.as_of, n: ROLLUPS.length }]);
  });
});
