import { randomUUID } from "node:crypto";
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { logger, scratchDatabase } from "../support/db.js";

/** Migration 0020's one-time backfill, run on rows written before it: steps by created_at, links by the lead's own URL. */
describe("migration 0020 backfill", () => {
  it("numbers each lead's emails per campaign by created_at and links demo/video by the same lead's URL", async () => {
    const { url, pool } = await scratchDatabase();
    const before = readdirSync("migrations").filter((f) => f < "0020").length;
    await migrate(url, { logger, count: before });

    const [lead, other, campaign] = [randomUUID(), randomUUID(), randomUUID()];
    await pool.query(
      `INSERT INTO leads (id, company_name, website) VALUES ($1, 'a', 'https://a.test'), ($2, 'b', 'https://b.test')`,
      [lead, other],
    );
    await pool.query(`INSERT INTO campaigns (id, name) VALUES ($1, 'c')`, [campaign]);
    const [demo, otherDemo, video] = [randomUUID(), randomUUID(), randomUUID()];
    await pool.query(
      `INSERT INTO demo_sites (id, lead_id, deployment_url, created_at)
       VALUES ($1, $2, 'https://demo.test/a', '2026-01-01'), ($3, $4, 'https://demo.test/shared', '2026-01-01')`,
      [demo, lead, otherDemo, other],
    );
    await pool.query(`INSERT INTO videos (id, lead_id, video_url) VALUES ($1, $2, 'https://video.test/a')`, [
      video,
      lead,
    ]);
    const send = (createdAt: string, demoUrl: string | null, videoUrl: string | null, l = lead) =>
      pool.query<{ id: string }>(
        `INSERT INTO email_sends (campaign_id, lead_id, created_at, demo_url, video_url) VALUES ($1, $2, $3, $4, $5)
         RETURNING id`,
        [campaign, l, createdAt, demoUrl, videoUrl],
      );
    const third = await send("2026-03-03", null, null);
    const first = await send("2026-01-01", "https://demo.test/a", "https://video.test/a");
    const second = await send("2026-02-02", "https://demo.test/shared", "https://video.test/nowhere");
    const otherLeads = await send("2026-02-15", "https://demo.test/shared", null, other);

    await migrate(url, { logger, count: 1 });
    const { rows } = await pool.query(
      `SELECT id, sequence_step, demo_site_id, video_id FROM email_sends ORDER BY created_at`,
    );
    expect(rows).toEqual([
      { id: first.rows[0]?.id, sequence_step: 1, demo_site_id: demo, video_id: video },
      // Another lead's demo at the same URL is never linked.
      { id: second.rows[0]?.id, sequence_step: 2, demo_site_id: null, video_id: null },
      { id: otherLeads.rows[0]?.id, sequence_step: 1, demo_site_id: otherDemo, video_id: null },
      { id: third.rows[0]?.id, sequence_step: 3, demo_site_id: null, video_id: null },
    ]);
  });
});
