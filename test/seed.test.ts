import { describe, expect, it } from "vitest";
import { refreshViews } from "../src/analytics/refresh-views.js";
import { migrate } from "../src/db/migrate.js";
import { evaluateActiveAbTests } from "../src/domain/ab-evaluation.js";
import { EventValidator } from "../src/events/schemas.js";
import { FIRST_START_LEADS, FIRST_START_SEED } from "../src/seed/catalog.js";
import { APPLICATION_TABLES, SeedConflictError, seedDemoData } from "../src/seed/seed-demo-data.js";
import { startApi } from "./support/api.js";
import { logger, scratchDatabase } from "./support/db.js";

const anchor = new Date("2026-06-01T00:00:00Z");

describe("demo data seeder", async () => {
  const { url, pool: db } = await scratchDatabase();
  await migrate(url, { logger });
  const report = await seedDemoData(db, { leads: 1_500, seed: 11, anchor });
  const one = async <T>(sql: string): Promise<T> => (await db.query(sql)).rows[0] as T;

  it("fills every table and reports what it wrote", async () => {
    for (const table of APPLICATION_TABLES) {
      const { n } = await one<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
      expect(n, table).toBeGreaterThan(0);
      expect(report.rows[table], table).toBe(n);
    }
    expect(report.totalRows).toBeGreaterThan(10_000);
  });

  it("is internally consistent", async () => {
    const violations = await one<Record<string, number>>(`SELECT
      (SELECT count(*) FROM email_sends WHERE opened_at < sent_at OR clicked_at < opened_at OR replied_at < sent_at)::int AS event_order,
      (SELECT count(*) FROM email_sends WHERE (opened_at IS NOT NULL OR replied_at IS NOT NULL) AND status <> 'sent')::int AS events_on_unsent,
      (SELECT count(*) FROM email_sends WHERE clicked_at IS NOT NULL AND opened_at IS NULL)::int AS click_without_open,
      (SELECT count(*) FROM email_sends WHERE (status = 'queued') <> (sent_at IS NULL))::int AS queued_vs_sent_at,
      (SELECT count(*) FROM email_sends WHERE sent_at < created_at)::int AS sent_before_queued,
      (SELECT count(*) FROM email_sends e JOIN leads l ON l.id = e.lead_id WHERE e.created_at < l.created_at)::int AS emailed_before_scraped,
      (SELECT count(*) FROM email_sends WHERE greatest(sent_at, opened_at, clicked_at, replied_at) > '${anchor.toISOString().slice(0, 19)}')::int AS in_the_future,
      (SELECT count(*) FROM demo_sites d JOIN website_analyses a ON a.id = d.analysis_id WHERE a.lead_id <> d.lead_id OR a.status <> 'completed')::int AS demo_without_analysis,
      (SELECT count(*) FROM videos v JOIN demo_sites d ON d.id = v.demo_site_id WHERE v.lead_id <> d.lead_id)::int AS video_lead_mismatch,
      (SELECT count(*) FROM demo_sites WHERE (status IN ('deployed', 'archived')) <> (deployment_url IS NOT NULL))::int AS demo_url_vs_status,
      (SELECT count(*) FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM email_sends e WHERE e.lead_id = c.lead_id AND e.campaign_id = c.campaign_id AND e.replied_at IS NOT NULL))::int AS conversation_without_reply,
      (SELECT count(*) FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.sent_at > c.last_message_at)::int AS message_after_last,
      (SELECT count(*) FROM meetings m JOIN conversations c ON c.id = m.conversation_id WHERE m.lead_id <> c.lead_id OR m.booked_at < c.created_at)::int AS meeting_mismatch,
      (SELECT count(*) FROM deals WHERE status = 'won' AND (amount IS NULL OR won_at IS NULL))::int AS won_without_amount,
      (SELECT count(*) FROM email_sends WHERE ab_test_id IS NOT NULL AND ab_variant IS NULL)::int AS test_without_variant,
      (SELECT count(*) FROM email_sends e JOIN ab_tests t ON t.id = e.ab_test_id WHERE t.campaign_id <> e.campaign_id)::int AS test_in_wrong_campaign,
      (SELECT count(*) FROM ai_gym_performance WHERE cost < 0 OR quality_score NOT BETWEEN 0 AND 100 OR duration_seconds <= 0)::int AS gym_out_of_range,
      (SELECT count(*) FROM email_sends_default)::int AS rows_in_default_partition,
      (SELECT count(*) FROM leads WHERE consent_source IS NULL OR consent_timestamp IS NULL OR consent_proof_url IS NULL)::int AS lead_without_consent`);
    expect(violations).toEqual(Object.fromEntries(Object.keys(violations).map((k) => [k, 0])));
  });

  it("has realistic rates and every status", async () => {
    const rates = await one<{ open: number; reply: number; bounce: number }>(`SELECT
      count(opened_at)::float8 / count(*) FILTER (WHERE status = 'sent') AS open,
      count(replied_at)::float8 / count(*) FILTER (WHERE status = 'sent') AS reply,
      count(*) FILTER (WHERE status = 'bounced')::float8 / count(sent_at) AS bounce
      FROM email_sends`);
    expect(rates.open).toBeGreaterThan(0.3);
    expect(rates.open).toBeLessThan(0.65);
    expect(rates.reply).toBeGreaterThan(0.02);
    expect(rates.reply).toBeLessThan(0.15);
    expect(rates.bounce).toBeLessThan(0.06);
    const statuses = async (table: string) =>
      (await db.query<{ status: string }>(`SELECT DISTINCT status FROM ${table} ORDER BY 1`)).rows.map(
        (r) => r.status,
      );
    expect(await statuses("demo_sites")).toEqual(["archived", "building", "deployed", "failed"]);
    expect(await statuses("videos")).toEqual(["archived", "failed", "generating", "ready"]);
    expect(await statuses("email_sends")).toEqual(["bounced", "failed", "queued", "sent"]);
    const models = await db.query("SELECT DISTINCT model_name FROM ai_gym_performance");
    expect(models.rowCount).toBe(4);
    const tasks = await db.query("SELECT DISTINCT task_type FROM ai_gym_performance");
    expect(tasks.rowCount).toBe(5);
  });

  it("is deterministic: the same seed and anchor give the same data", async () => {
    const other = await scratchDatabase();
    await migrate(other.url, { logger });
    await seedDemoData(other.pool, { leads: 1_500, seed: 11, anchor });
    const fingerprint = `SELECT md5(string_agg(id::text || company_name || email_token || created_at::text, ',' ORDER BY id)) AS leads,
      (SELECT md5(string_agg(id::text || coalesce(sent_at::text, '-') || status, ',' ORDER BY id)) FROM email_sends) AS sends,
      (SELECT md5(string_agg(id::text || cost::text, ',' ORDER BY id)) FROM ai_gym_performance) AS gym
      FROM leads`;
    expect((await other.pool.query(fingerprint)).rows[0]).toEqual((await db.query(fingerprint)).rows[0]);
  });

  it("refuses to load the same dataset twice, and --reset replaces it", async () => {
    await expect(seedDemoData(db, { leads: 10, seed: 11, anchor })).rejects.toBeInstanceOf(SeedConflictError);
    const again = await seedDemoData(db, { leads: 20, seed: 11, anchor, reset: true });
    expect(again.rows.leads).toBe(20);
    expect((await one<{ n: number }>("SELECT count(*)::int AS n FROM leads")).n).toBe(20);
  });
});

describe("the first-start dataset", async () => {
  // What `npm start` seeds on a fresh machine (src/main.ts), then the start-up ab_evaluate look.
  const { url, pool: db } = await scratchDatabase();
  await migrate(url, { logger });
  await seedDemoData(db, { leads: FIRST_START_LEADS, seed: FIRST_START_SEED });
  const looks = await evaluateActiveAbTests(db, {
    now: new Date(),
    events: new EventValidator(),
    runId: "first-start-test",
  });
  await refreshViews(db, "test");
  const api = await startApi({ databaseUrl: url });

  it("has a test the job decided by itself, with its evidence in GraphQL", async () => {
    expect(looks.filter((l) => l.state === "decided")).toHaveLength(1);
    const res = await api.graphql(`{ abTests { name status winningVariant
      decision { state decidedBy stoppedVariants comparisons { variant samples pValue effect significant } } } }`);
    expect(res.body.errors).toBeUndefined();
    const decided = res.body.data.abTests.filter(
      (t: { decision: { state: string } }) => t.decision.state === "decided",
    );
    expect(decided).toEqual([
      expect.objectContaining({
        status: "completed",
        winningVariant: "B",
        decision: expect.objectContaining({ decidedBy: "sequential_test", stoppedVariants: ["A"] }),
      }),
    ]);
    const [comparison] = decided[0].decision.comparisons;
    expect(comparison).toMatchObject({ variant: "B", significant: true });
    expect(comparison.pValue).toBeLessThan(0.05);
    expect(comparison.samples).toBeGreaterThanOrEqual(60);
    // The others keep collecting.
    expect(res.body.data.abTests.filter((t: { status: string }) => t.status === "active").length).toBe(2);
  });

  it("shows outcome leaderboards, classifier accuracy and step analytics", async () => {
    // Outcomes over the whole seeded history: won deals are rare (1,500 leads win 3–5 of them, depending on the day
    // the dataset is anchored at), so a 90-day window misses all of them on some days.
    const res = await api.graphql(`{
      modelOutcomes(period: "366d", minSamples: 5) { entries { modelName positiveReplyLeads meetingLeads wonDeals } }
      replyClassifiers(period: "90d") { entries { modelName reviewed accuracy } }
      campaigns(first: 10) { nodes { steps(period: "90d") { rows { step variant sent humanReplies meetings } } } } }`);
    expect(res.body.errors).toBeUndefined();
    const outcomes = res.body.data.modelOutcomes.entries;
    expect(outcomes.some((e: { wonDeals: number }) => e.wonDeals > 0)).toBe(true);
    expect(outcomes.some((e: { positiveReplyLeads: number }) => e.positiveReplyLeads > 0)).toBe(true);
    const classifiers = res.body.data.replyClassifiers.entries;
    expect(classifiers.length).toBeGreaterThanOrEqual(2);
    expect(
      classifiers.every((c: { reviewed: number; accuracy: number }) => c.reviewed > 0 && c.accuracy > 0),
    ).toBe(true);
    const steps = res.body.data.campaigns.nodes.flatMap(
      (n: { steps: { rows: { step: number }[] } }) => n.steps.rows,
    );
    expect(new Set(steps.map((r: { step: number }) => r.step)).size).toBeGreaterThanOrEqual(3);
  });
});
