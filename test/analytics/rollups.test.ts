import { describe, expect, it } from "vitest";
import {
  type ClosedRange,
  closedRanges,
  refreshViews,
  type ViewsRefresh,
} from "../../src/analytics/refresh-views.js";
import { migrate } from "../../src/db/migrate.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { logger, scratchDatabase } from "../support/db.js";

// A database of its own: these tests move the rollup horizon and truncate tables.
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });

const DAY_MS = 86_400_000;
/** The UTC day `n` days before today (or before `from`, a YYYY-MM-DD day). */
const daysAgo = (n: number, from?: string) =>
  new Date((from ? Date.parse(`${from}T00:00:00Z`) : Date.now()) - n * DAY_MS).toISOString().slice(0, 10);

/** Each rollup's closed ranges rewritten by a refresh. */
const rangesOf = (refresh: ViewsRefresh): Record<string, ClosedRange[]> =>
  Object.fromEntries(refresh.views.map((v) => [v.view_name, v.closed_ranges]));

/** Whole-day marks, as closedRanges takes them. */
const whole = (...days: string[]) => days.map((day) => ({ day, key: null }));

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
      closedRanges(
        "2026-11-01 00:00:00",
        "2026-11-11 00:00:00",
        whole(
          "2026-10-03",
          "2026-10-01",
          "2026-10-02",
          "2026-10-02",
          "2026-10-20",
          "2026-11-05", // inside [horizon, target): already recounted by the horizon's move
        ),
      ),
    ).toEqual([
      { from: "2026-10-01", to: "2026-10-04" },
      { from: "2026-10-20", to: "2026-10-21" },
      { from: "2026-11-01 00:00:00", to: "2026-11-11 00:00:00" },
    ]);
  });

  it("recounts everything after a TRUNCATE ('-infinity'), and nothing when the horizon stays and no day is dirty", () => {
    expect(
      closedRanges("2026-11-01 00:00:00", "2026-11-11 00:00:00", whole("2026-10-01", "-infinity")),
    ).toEqual([{ from: "-infinity", to: "2026-11-11 00:00:00" }]);
    expect(closedRanges("2026-11-11 00:00:00", "2026-11-11 00:00:00", [])).toEqual([]);
  });

  it("recounts a day marked for some keys as that day with those keys, unless the whole day is marked", () => {
    const a = "00000000-0000-4000-8000-00000000000a";
    const b = "00000000-0000-4000-8000-00000000000b";
    expect(
      closedRanges("2026-11-01 00:00:00", "2026-11-01 00:00:00", [
        { day: "2026-10-05", key: b },
        { day: "2026-10-05", key: a },
        { day: "2026-10-05", key: b },
        { day: "2026-10-06", key: a },
        { day: "2026-10-06", key: null },
        { day: "2026-10-07", key: a },
      ]),
    ).toEqual([
      { from: "2026-10-05", to: "2026-10-06", keys: [a, b] },
      { from: "2026-10-06", to: "2026-10-07" },
      { from: "2026-10-07", to: "2026-10-08", keys: [a] },
    ]);
  });
});

describe("incremental rollups", () => {
  it("the first refresh closes all history before the open window; a write in the open window records no day", async () => {
    await seedDemoData(pool, { leads: 60, seed: 5, spanDays: 60 });
    const first = await refreshViews(pool, "test");
    for (const ranges of Object.values(rangesOf(first)))
      expect(ranges).toEqual([{ from: "-infinity", to: `${daysAgo(14)} 00:00:00` }]);
    expect(first.horizon).toBe(`${daysAgo(14)} 00:00:00`);

    await insertAiGym(pool, new Date().toISOString());
    expect(await dirtyDays()).toEqual([]);
    await insertAiGym(pool, `${daysAgo(30)}T12:00:00Z`);
    expect(await dirtyDays()).toEqual([daysAgo(30)]);

    const second = await refreshViews(pool, "test");
    // An AI-GYM row is in the AI-GYM rollups and the platform's AI spend; the campaign rollups are not recounted.
    expect(rangesOf(second)).toEqual({
      campaign_kpis_15m: [],
      campaign_revenue_15m: [],
      platform_kpis_15m: [{ from: daysAgo(30), to: daysAgo(29) }],
      outreach_kpis_15m: [],
      ai_gym_daily: [{ from: daysAgo(30), to: daysAgo(29) }],
      ai_gym_15m: [{ from: daysAgo(30), to: daysAgo(29) }],
      ai_gym_durations_daily: [{ from: daysAgo(30), to: daysAgo(29) }],
      ai_gym_costs_daily: [{ from: daysAgo(30), to: daysAgo(29) }],
      ab_variant_results: [],
    });
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
      expect(rangesOf(r).ai_gym_daily).toContainEqual({
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

  it("a late open recounts only its campaign's (and A/B test's) rows of its day", async () => {
    const { rows } = await pool.query<{ id: string; a: string; test: string | null; day: string; b: string }>(
      `SELECT e.id, e.campaign_id AS a, e.ab_test_id AS test, e.sent_at::date::text AS day, other.campaign_id AS b
         FROM email_sends e
         JOIN campaign_kpis_15m_closed other
           ON other.bucket::date = e.sent_at::date AND other.campaign_id <> e.campaign_id
        WHERE e.status = 'sent' AND e.opened_at IS NULL AND e.campaign_id IS NOT NULL
          AND e.sent_at < (SELECT horizon FROM rollup_horizon)
        ORDER BY e.id LIMIT 1`,
    );
    const late = rows[0];
    if (!late) throw new Error("the seed has no closed day with two campaigns");
    // Campaign B's rows of that day are made wrong on purpose: a recount of the whole day would repair them.
    await pool.query(
      `UPDATE campaign_kpis_15m_closed SET opened = opened + 1000 WHERE campaign_id = $1 AND bucket::date = $2::date`,
      [late.b, late.day],
    );
    await pool.query("UPDATE email_sends SET opened_at = sent_at + interval '1 hour' WHERE id = $1", [
      late.id,
    ]);
    const marks = await pool.query<{ rollup: string; key: string }>(
      "SELECT DISTINCT rollup, key::text AS key FROM rollup_dirty_days ORDER BY 1",
    );
    expect(marks.rows).toEqual([
      ...(late.test ? [{ rollup: "ab_variant_results", key: late.test }] : []),
      { rollup: "campaign_kpis_15m", key: late.a },
      // The all-campaign funnel is not keyed: its whole day is recounted.
      { rollup: "outreach_kpis_15m", key: null },
    ]);

    const ranges = rangesOf(await refreshViews(pool, "test"));
    expect(ranges.campaign_kpis_15m).toEqual([{ from: late.day, to: daysAgo(-1, late.day), keys: [late.a] }]);
    expect(ranges.platform_kpis_15m).toEqual([]);
    expect(ranges.outreach_kpis_15m).toEqual([{ from: late.day, to: daysAgo(-1, late.day) }]);
    const opened = async (campaign: string) =>
      (
        await pool.query<{ rollup: number; base: number }>(
          `SELECT (SELECT sum(opened) FROM campaign_kpis_15m WHERE campaign_id = $1 AND bucket::date = $2::date)::int
                    AS rollup,
                  (SELECT count(*) FROM email_sends WHERE campaign_id = $1 AND sent_at::date = $2::date
                      AND status = 'sent' AND opened_at IS NOT NULL)::int AS base`,
          [campaign, late.day],
        )
      ).rows[0];
    const a = await opened(late.a);
    expect(a?.rollup).toBe(a?.base);
    const b = await opened(late.b);
    expect(b?.rollup, "campaign B's rows were not recounted").toBe((b?.base ?? 0) + 1000);
  });

  it("a new rollup is one declaration: its parts, history, registry row and marks (beside the email outcome marks)", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ lead: string; campaign: string }>(
        `SELECT lead_id AS lead, campaign_id AS campaign FROM email_sends
          WHERE campaign_id IS NOT NULL AND sent_at < (SELECT horizon FROM rollup_horizon) LIMIT 1`,
      );
      const email = rows[0];
      if (!email) throw new Error("the seed has no closed email");
      const bookMeeting = (day: string) =>
        client.query(
          `INSERT INTO meetings (lead_id, campaign_id, booked_at) VALUES ($1, $2, $3::timestamp)`,
          [email.lead, email.campaign, `${day} 10:00:00`],
        );
      await bookMeeting(daysAgo(40)); // history before the horizon
      // The lines views/README.md gives for a new rollup ("A new rollup, exactly").
      await client.query(`
        CALL rollup_define(
            name => 'campaign_meetings_daily',
            columns => 'campaign_id UUID NOT NULL, day DATE NOT NULL, meetings INTEGER NOT NULL',
            primary_key => 'campaign_id, day',
            bucket => 'day',
            key_column => 'campaign_id',
            marks => '{meetings.booked_at}',
            aggregate => $$
        SELECT campaign_id, booked_at::date, count(*)::int
          FROM meetings
         WHERE campaign_id IS NOT NULL AND booked_at >= lo AND booked_at < hi
           AND (keys IS NULL OR campaign_id = ANY (keys))
         GROUP BY campaign_id, booked_at::date
        $$)`);
      const closed = await client.query(
        `SELECT day::text, meetings FROM campaign_meetings_daily_closed WHERE campaign_id = $1 AND day = $2::date`,
        [email.campaign, daysAgo(40)],
      );
      expect(closed.rows, "the history before the horizon is closed at once").toEqual([
        { day: daysAgo(40), meetings: expect.any(Number) },
      ]);
      const perDay = `SELECT campaign_id::text, day::text, meetings FROM campaign_meetings_daily ORDER BY 1, 2`;
      const fromBase = `SELECT campaign_id::text, booked_at::date::text AS day, count(*)::int AS meetings FROM meetings
                         WHERE campaign_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`;
      expect((await client.query(perDay)).rows).toEqual((await client.query(fromBase)).rows);
      const registry = await client.query(
        `SELECT r.parts, r.bucket, r.key_column, m.source, m.at_column
           FROM rollups r JOIN rollup_marks m USING (rollup) WHERE rollup = 'campaign_meetings_daily'`,
      );
      expect(registry.rows).toEqual([
        {
          parts: "campaign_meetings_daily",
          bucket: "day",
          key_column: "campaign_id",
          source: "meetings",
          at_column: "booked_at",
        },
      ]);
      const triggers = await client.query<{ name: string; fn: string }>(
        `SELECT tgname AS name, tgfoid::regproc::text AS fn FROM pg_trigger
          WHERE tgrelid = 'meetings'::regclass AND tgname LIKE '%inserted' ORDER BY 1`,
      );
      expect(triggers.rows).toEqual([
        { name: "meetings_rollup_inserted", fn: "rollup_mark_rows" },
        { name: "meetings_rollup_outcomes_inserted", fn: "rollup_mark_lead_campaign" },
      ]);

      // A meeting booked on a closed day marks that day of its campaign for the new rollup, and — as before — the
      // sent days of the lead's emails in the campaign for the email outcome rollups.
      await client.query("DELETE FROM rollup_dirty_days");
      await bookMeeting(daysAgo(30));
      const marks = await client.query<{ rollup: string; day: string; key: string }>(
        `SELECT DISTINCT rollup, day::text, key::text FROM rollup_dirty_days WHERE key = $1 ORDER BY 1, 2`,
        [email.campaign],
      );
      expect(marks.rows).toContainEqual({
        rollup: "campaign_meetings_daily",
        day: daysAgo(30),
        key: email.campaign,
      });
      expect(marks.rows.map((m) => m.rollup)).toContain("campaign_kpis_15m");
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });

  it("a declaration must match the closed table it finds (the record of sealed days is never rebuilt)", async () => {
    const client = await pool.connect();
    try {
      await client.query("BEGIN");
      await expect(
        client.query(`
          CALL rollup_define(
              name => 'ai_gym_daily',
              columns => 'task_type VARCHAR(50) NOT NULL, model_name VARCHAR(50) NOT NULL, day DATE NOT NULL,
                          usage_count BIGINT NOT NULL',
              primary_key => 'task_type, day, model_name',
              bucket => 'day',
              marks => '{ai_gym_performance.created_at}',
              aggregate => $$ SELECT task_type, model_name, created_at::date, count(*) FROM ai_gym_performance
                               WHERE created_at >= lo AND created_at < hi GROUP BY 1, 2, 3 $$)`),
      ).rejects.toThrow(/ai_gym_daily_closed exists with other columns or another key than declared/);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });

  it("any change to an inbound message marks its thread's emails, a reply category correction too", async () => {
    const { rows } = await pool.query<{ id: string; campaign: string }>(
      `SELECT m.id, cv.campaign_id AS campaign
         FROM conversation_messages m
         JOIN conversations cv ON cv.id = m.conversation_id
        WHERE m.direction = 'inbound' AND EXISTS (
              SELECT 1 FROM email_sends e WHERE e.lead_id = cv.lead_id AND e.campaign_id = cv.campaign_id
                 AND e.sent_at < (SELECT horizon FROM rollup_horizon))
        LIMIT 1`,
    );
    const message = rows[0];
    if (!message) throw new Error("the seed has no inbound message on a closed email");
    await pool.query("DELETE FROM rollup_dirty_days");
    await pool.query(
      `UPDATE conversation_messages SET reply_category_corrected = 'auto_reply', reply_category_corrected_at = now()
        WHERE id = $1`,
      [message.id],
    );
    const marks = await pool.query<{ rollup: string }>(
      "SELECT DISTINCT rollup FROM rollup_dirty_days WHERE key = $1 ORDER BY 1",
      [message.campaign],
    );
    expect(marks.rows).toEqual([{ rollup: "campaign_kpis_15m" }]);
    await refreshViews(pool, "test");
  });

  it("a refresh refuses to run when a declared rollup is not in ROLLUPS (it would never be closed)", async () => {
    await pool.query(
      `INSERT INTO rollups (rollup, parts, bucket) VALUES ('undeclared_in_typescript', 'undeclared_in_typescript', 'day')`,
    );
    try {
      await expect(refreshViews(pool, "test")).rejects.toThrow(/undeclared_in_typescript.*are not ROLLUPS/);
    } finally {
      await pool.query("DELETE FROM rollups WHERE rollup = 'undeclared_in_typescript'");
    }
  });

  it("a TRUNCATE recounts every closed day", async () => {
    await seedDemoData(pool, { leads: 40, seed: 6, spanDays: 60, reset: true });
    expect(await dirtyDays()).toContain("-infinity");
    const r = await refreshViews(pool, "test");
    for (const ranges of Object.values(rangesOf(r)))
      expect(ranges).toEqual([{ from: "-infinity", to: `${daysAgo(14)} 00:00:00` }]);
    const { rows } = await pool.query<{ rollup: number; base: number }>(
      `SELECT (SELECT sum(sent) FROM campaign_kpis_15m)::int AS rollup,
              (SELECT count(*) FROM email_sends
                WHERE campaign_id IS NOT NULL AND sent_at IS NOT NULL AND status IN ('sent', 'bounced'))::int AS base`,
    );
    expect(rows[0]?.base).toBeGreaterThan(0);
    expect(rows[0]?.rollup).toBe(rows[0]?.base);
  });
});
