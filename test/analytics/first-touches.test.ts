import { describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { logger, scratchDatabase } from "../support/db.js";

// A database of its own: these tests bounce, move, delete and truncate emails.
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });
await seedDemoData(pool, { leads: 400, seed: 5, anchor: new Date("2026-06-01T00:00:00Z") });

/**
 * Pairs where campaign_first_touches differs from its definition recomputed over email_sends: the delivered email
 * with the smallest (sent_at, id) of each (lead, campaign).
 */
async function drift(): Promise<unknown[]> {
  const { rows } = await pool.query(
    `WITH expected AS (
       SELECT DISTINCT ON (lead_id, campaign_id) lead_id, campaign_id, id AS email_send_id, sent_at
         FROM email_sends
        WHERE status = 'sent' AND sent_at IS NOT NULL AND lead_id IS NOT NULL AND campaign_id IS NOT NULL
        ORDER BY lead_id, campaign_id, sent_at, id)
     SELECT e.*, t.email_send_id AS kept_email_send_id, t.sent_at AS kept_sent_at
       FROM expected e
       FULL JOIN campaign_first_touches t USING (lead_id, campaign_id)
      WHERE e.email_send_id IS DISTINCT FROM t.email_send_id OR e.sent_at IS DISTINCT FROM t.sent_at
      LIMIT 5`,
  );
  return rows;
}

/** Emails of pairs with at least two delivered emails: their first touch (rank 1) and the next one (rank 2). */
async function firstTouchPairs(limit: number): Promise<{ first: string; second: string; lead: string }[]> {
  const { rows } = await pool.query<{ first: string; second: string; lead: string }>(
    `SELECT max(id::text) FILTER (WHERE rank = 1) AS first, max(id::text) FILTER (WHERE rank = 2) AS second,
            lead_id AS lead
       FROM (SELECT id, lead_id, campaign_id,
                    row_number() OVER (PARTITION BY lead_id, campaign_id ORDER BY sent_at, id) AS rank
               FROM email_sends
              WHERE status = 'sent' AND sent_at IS NOT NULL AND lead_id IS NOT NULL AND campaign_id IS NOT NULL) r
      WHERE rank <= 2
      GROUP BY lead_id, campaign_id
     HAVING count(*) = 2
      ORDER BY lead_id, campaign_id
      LIMIT $1`,
    [limit],
  );
  return rows;
}

describe("campaign_first_touches (kept by triggers on email_sends)", () => {
  it("holds each pair's first delivered email after a seed (inserts)", async () => {
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM campaign_first_touches");
    expect(rows[0]?.n).toBeGreaterThan(100);
    expect(await drift()).toEqual([]);
  });

  it("moves to the next email when the first touch bounces, is unsent, or loses its lead (erasure)", async () => {
    const [a, b, c] = await firstTouchPairs(3);
    if (!a || !b || !c) throw new Error("the seed has too few pairs with two delivered emails");
    await pool.query("UPDATE email_sends SET status = 'bounced' WHERE id = $1", [a.first]);
    await pool.query("UPDATE email_sends SET status = 'queued', sent_at = NULL WHERE id = $1", [b.first]);
    await pool.query("UPDATE email_sends SET lead_id = NULL WHERE id = $1", [c.first]);
    const moved = await pool.query<{ email_send_id: string }>(
      "SELECT email_send_id FROM campaign_first_touches WHERE email_send_id = ANY($1::uuid[])",
      [[a.second, b.second, c.second]],
    );
    expect(moved.rowCount).toBe(3);
    expect(await drift()).toEqual([]);
  });

  it("takes an email that becomes delivered earlier than the first touch, and ignores opens", async () => {
    const [pair] = await firstTouchPairs(1);
    if (!pair) throw new Error("no pair");
    await pool.query(
      `INSERT INTO email_sends (lead_id, campaign_id, status, sent_at, created_at)
       SELECT lead_id, campaign_id, 'sent', sent_at - interval '1 hour', created_at - interval '1 hour'
         FROM email_sends WHERE id = $1`,
      [pair.first],
    );
    await pool.query("UPDATE email_sends SET opened_at = sent_at + interval '1 minute' WHERE id = $1", [
      pair.second,
    ]);
    expect(await drift()).toEqual([]);
    // A bounced email that is later marked delivered (a correction) competes again.
    await pool.query("UPDATE email_sends SET status = 'bounced' WHERE id = $1", [pair.first]);
    await pool.query("UPDATE email_sends SET status = 'sent' WHERE id = $1", [pair.first]);
    expect(await drift()).toEqual([]);
  });

  it("recounts the pairs whose first touch is deleted, and drops pairs left without a delivered email", async () => {
    const pairs = await firstTouchPairs(5);
    await pool.query("DELETE FROM email_sends WHERE id = ANY($1::uuid[])", [pairs.map((p) => p.first)]);
    const [gone] = pairs;
    if (!gone) throw new Error("no pair");
    await pool.query("DELETE FROM email_sends WHERE lead_id = $1", [gone.lead]);
    const left = await pool.query("SELECT 1 FROM campaign_first_touches WHERE lead_id = $1", [gone.lead]);
    expect(left.rowCount).toBe(0);
    expect(await drift()).toEqual([]);
  });

  it("stays right when two transactions bounce a pair's first and second email at once", async () => {
    const [pair] = await firstTouchPairs(1);
    if (!pair) throw new Error("no pair");
    const first = await pool.connect();
    const second = await pool.connect();
    try {
      await first.query("BEGIN");
      await second.query("BEGIN");
      // The first touch moves to the second email, which the other transaction is bouncing meanwhile: it must
      // wait for the pair's row and then see the move, or the pair would keep a bounced email as its first touch.
      await first.query("UPDATE email_sends SET status = 'bounced' WHERE id = $1", [pair.first]);
      const bouncing = second.query("UPDATE email_sends SET status = 'bounced' WHERE id = $1", [pair.second]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await first.query("COMMIT");
      await bouncing;
      await second.query("COMMIT");
    } finally {
      first.release();
      second.release();
    }
    expect(await drift()).toEqual([]);
  });

  it("follows a random mix of writes in one transaction", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(
        `UPDATE email_sends SET status = CASE WHEN status = 'sent' THEN 'bounced' ELSE 'sent' END
          WHERE id IN (SELECT id FROM email_sends WHERE sent_at IS NOT NULL ORDER BY md5(id::text) LIMIT 300)`,
      );
      await client.query(
        `UPDATE email_sends SET sent_at = sent_at - interval '3 days'
          WHERE id IN (SELECT id FROM email_sends WHERE sent_at IS NOT NULL ORDER BY md5(id::text || 'x') LIMIT 200)`,
      );
      await client.query(
        `DELETE FROM email_sends WHERE id IN (SELECT id FROM email_sends ORDER BY md5(id::text || 'y') LIMIT 100)`,
      );
      await client.query("COMMIT");
    } finally {
      client.release();
    }
    expect(await drift()).toEqual([]);
  });

  it("is emptied by a TRUNCATE of email_sends", async () => {
    await pool.query("TRUNCATE email_sends CASCADE");
    const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM campaign_first_touches");
    expect(rows[0]?.n).toBe(0);
  });
});
