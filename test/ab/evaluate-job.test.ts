import { randomBytes, randomUUID } from "node:crypto";
import graphileWorker from "graphile-worker";
import { describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { assignVariant } from "../../src/domain/ab-assignment.js";
import { evaluateActiveAbTests, getAbTestSamples } from "../../src/domain/ab-evaluation.js";
import { EventValidator } from "../../src/events/schemas.js";
import { startScheduler } from "../../src/jobs/scheduler.js";
import { Rng } from "../../src/seed/rng.js";
import { startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { insertCampaign } from "../support/factories-engagement.js";
import { until } from "../support/until.js";

/**
 * The A/B decision against a real, migrated PostgreSQL. A database of its own: the job evaluates every active test
 * in the database, and demo_style / video_script tests apply to every queued demo or video, so other files' rows
 * must not meet these.
 */

const { quickAddJob } = graphileWorker;

const { url, pool: db } = await scratchDatabase();
await migrate(url, { logger });
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
const api = await startApi({ now: NOW, databaseUrl: url });
const events = new EventValidator();

type Exposure = {
  variant: string | null;
  replied?: boolean;
  lead_id?: string;
  ab_test_id?: string | null;
  demo_site_id?: string | null;
  video_id?: string | null;
  status?: "sent" | "queued";
};

/** Leads (one per exposure unless it names one) and one email each, delivered an hour before NOW by default. */
async function insertLeads(n: number): Promise<string[]> {
  const slugs = Array.from({ length: n }, () => randomBytes(6).toString("hex"));
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO leads (company_name, website, domain, source_platform, contact_email)
     SELECT 'AB ' || s, 'https://ab-' || s || '.example', 'ab-' || s || '.example', 'google_maps',
            'owner@ab-' || s || '.example'
       FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i) ORDER BY i
     RETURNING id`,
    [slugs],
  );
  return rows.map((r) => r.id);
}

async function insertSends(
  campaignId: string,
  testId: string | null,
  exposures: Exposure[],
): Promise<string[]> {
  const missing = exposures.filter((e) => !e.lead_id).length;
  const fresh = await insertLeads(missing);
  const leads = exposures.map((e) => e.lead_id ?? (fresh.shift() as string));
  const sentAt = new Date(NOW.getTime() - 3_600_000).toISOString();
  await db.query(
    `INSERT INTO email_sends (id, campaign_id, lead_id, subject_variant, body, tracking_token, sent_at, status,
                              ab_test_id, ab_variant, replied_at, created_at, demo_site_id, video_id)
     SELECT gen_random_uuid(), $1, u.lead_id, 'Hello', 'Body', gen_random_uuid(),
            CASE WHEN u.status = 'sent' THEN $3::timestamp END, u.status,
            COALESCE(u.ab_test_id, $2), u.variant, CASE WHEN u.replied THEN $4::timestamp END, $3::timestamp,
            u.demo_site_id, u.video_id
       FROM unnest($5::uuid[], $6::text[], $7::boolean[], $8::uuid[], $9::uuid[], $10::text[], $11::uuid[])
            AS u(lead_id, variant, replied, demo_site_id, video_id, status, ab_test_id)`,
    [
      campaignId,
      testId,
      sentAt,
      new Date(NOW.getTime() - 1_800_000).toISOString(),
      leads,
      exposures.map((e) => e.variant),
      exposures.map((e) => e.replied ?? false),
      exposures.map((e) => e.demo_site_id ?? null),
      exposures.map((e) => e.video_id ?? null),
      exposures.map((e) => e.status ?? "sent"),
      exposures.map((e) => e.ab_test_id ?? null),
    ],
  );
  return leads;
}

async function createTest(body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await api.request("POST", "/api/v2/ab-tests", {
    body: { name: `Decide ${randomBytes(4).toString("hex")}`, ...body },
  });
  expect(res.status, res.text).toBe(201);
  return res.body;
}

async function testRow(id: string) {
  const { rows } = await db.query<{
    status: string;
    winning_variant: string | null;
    decided_by: string | null;
    decision_state: string;
    stopped_variants: string[];
    evidence: { looks: number; comparisons: Record<string, unknown>[] } | null;
  }>(
    `SELECT status, winning_variant, decided_by, decision_state, stopped_variants, evidence FROM ab_tests
      WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new Error(`no test ${id}`);
  return row;
}

/**
 * A new active test in a new campaign, the only active test of the database: the others are paused first, as the
 * job looks at every active test and demo/video tests apply to every queued item.
 */
async function soleTest(body: Record<string, unknown>): Promise<{ campaign: string; test: { id: string } }> {
  await db.query(`UPDATE ab_tests SET status = 'paused' WHERE status = 'active'`);
  const campaign = await insertCampaign(db);
  return { campaign, test: await createTest({ campaign_id: campaign, ...body }) };
}

describe("the ab_evaluate job", () => {
  it("decides a real effect (10% vs 20% reply rate) within the expected sample: winner, stopped loser, event", async () => {
    const { campaign, test } = await soleTest({
      element_type: "subject_line",
      variants: [
        { id: "A", subject: "Quick question" },
        { id: "B", subject: "I rebuilt your homepage" },
      ],
      split_ratio: { A: 0.5, B: 0.5 },
      metric: "reply_rate",
    });
    const runner = await startScheduler({
      url,
      primary: db,
      logger,
      partitionMonthsAhead: 3,
      viewRefreshIntervalMinutes: 5,
      pollIntervalMs: 100,
      clock: () => NOW,
    });
    const rng = new Rng(20261203);
    const truth = { A: { n: 0, replied: 0 }, B: { n: 0, replied: 0 } };
    let looks = 0;
    try {
      // Batches of 100 new leads, assigned by the test's own hash; one job run (one look) after each.
      while (looks < 30) {
        const leads = await insertLeads(100);
        const exposures = leads.map((lead_id) => {
          const variant = assignVariant(test.id, lead_id, [{ id: "A" }, { id: "B" }], { A: 0.5, B: 0.5 })
            .id as "A" | "B";
          const replied = rng.chance(variant === "A" ? 0.1 : 0.2);
          truth[variant].n++;
          if (replied) truth[variant].replied++;
          return { lead_id, variant, replied };
        });
        await insertSends(campaign, test.id, exposures);
        await quickAddJob({ connectionString: url }, "ab_evaluate", {});
        looks++;
        const row = await until(async () => {
          const r = await testRow(test.id);
          return (r.evidence?.looks ?? 0) >= looks ? r : undefined;
        });
        if (row.status === "completed") break;
      }
    } finally {
      await runner.stop();
    }

    const row = await testRow(test.id);
    expect(row).toMatchObject({
      status: "completed",
      winning_variant: "B",
      decided_by: "sequential_test",
      decision_state: "decided",
      stopped_variants: ["A"],
    });
    // Expected ≈ 270 per arm at the true rates (test/ab/sequential-test.test.ts: 95 % of streams by 800).
    expect(Math.max(truth.A.n, truth.B.n)).toBeLessThanOrEqual(800);
    // The evidence counts what was inserted (an oracle kept in this test, not a query).
    expect(row.evidence?.comparisons[0]).toMatchObject({
      variant: "B",
      samples: truth.B.n,
      successes: truth.B.replied,
      control_samples: truth.A.n,
      control_successes: truth.A.replied,
      significant: true,
    });
    const c = row.evidence?.comparisons[0] as { p_value: number; interval_low: number; effect: number };
    expect(c.p_value).toBeLessThanOrEqual(0.05);
    expect(c.interval_low).toBeGreaterThan(0);
    expect(c.effect).toBeCloseTo(truth.B.replied / truth.B.n - truth.A.replied / truth.A.n, 12);

    const { rows: emitted } = await db.query<{ payload: Record<string, unknown> }>(
      `SELECT payload FROM event_outbox WHERE type = 'abtest.decided' AND payload ->> 'ab_test_id' = $1`,
      [test.id],
    );
    expect(emitted).toHaveLength(1);
    expect(emitted[0]?.payload).toMatchObject({
      ab_test_id: test.id,
      campaign_id: campaign,
      winning_variant: "B",
      decided_by: "sequential_test",
      statistics: {
        method: "msprt",
        metric: "reply_rate",
        alpha: 0.05,
        min_sample_per_variant: 200,
        control: "A",
        looks,
        comparisons: [{ variant: "B", samples: truth.B.n, significant: true }],
      },
    });
    const { rows: audits } = await db.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_log WHERE action = 'ab_test.decided' AND resource_id = $1`,
      [test.id],
    );
    expect(audits).toEqual([{ details: { winning_variant: "B", decided_by: "sequential_test", looks } }]);

    // Everyone gets the winner now; GraphQL shows the decision and its evidence.
    const lead = (await insertLeads(1))[0];
    const assignment = await api.request("GET", `/api/v2/ab-tests/${test.id}/assignment?lead_id=${lead}`);
    expect(assignment.body.variant).toBe("B");
    const gql = await api.request("POST", "/graphql", {
      body: {
        query: `{ abTests(status: ["completed"]) { id decision { state decidedBy metric alpha minSamplePerVariant
                  looks control stoppedVariants comparisons { variant samples controlSamples effect pValue eValue
                  intervalLow intervalHigh holmThreshold significant minSampleMet samplesToMinimum samplesNeeded } } } }`,
      },
    });
    expect(gql.status, gql.text).toBe(200);
    const decided = gql.body.data.abTests.find((t: { id: string }) => t.id === test.id);
    expect(decided.decision).toMatchObject({
      state: "decided",
      decidedBy: "sequential_test",
      metric: "reply_rate",
      alpha: 0.05,
      minSamplePerVariant: 200,
      looks,
      control: "A",
      stoppedVariants: ["A"],
      comparisons: [
        {
          variant: "B",
          samples: truth.B.n,
          controlSamples: truth.A.n,
          pValue: c.p_value,
          significant: true,
          minSampleMet: true,
          samplesToMinimum: 0,
        },
      ],
    });
  });

  it("leaves a test below the minimum sample collecting, however large the observed effect", async () => {
    const { campaign, test } = await soleTest({
      element_type: "subject_line",
      variants: [
        { id: "A", subject: "One" },
        { id: "B", subject: "Two" },
      ],
      split_ratio: { A: 0.5, B: 0.5 },
      min_sample_per_variant: 100,
    });
    await insertSends(campaign, test.id, [
      ...Array.from({ length: 99 }, () => ({ variant: "A", replied: false })),
      ...Array.from({ length: 99 }, () => ({ variant: "B", replied: true })),
    ]);
    await evaluateActiveAbTests(db, { now: NOW, events, runId: `test-${randomUUID()}` });
    expect(await testRow(test.id)).toMatchObject({
      status: "active",
      decision_state: "collecting",
      winning_variant: null,
      stopped_variants: [],
    });
  });

  it("stops a variant that is significantly worse than the control; new sends never get it, others keep theirs", async () => {
    const variants = [
      { id: "A", subject: "Subject A" },
      { id: "B", subject: "Subject B" },
      { id: "C", subject: "Subject C" },
    ];
    const split = { A: 0.34, B: 0.33, C: 0.33 };
    const { campaign, test } = await soleTest({ element_type: "subject_line", variants, split_ratio: split });
    // 20 % / 2 % / 20 %: B is clearly worse; A and C are alike, so the test goes on without B.
    const rng = new Rng(5);
    const rates: Record<string, number> = { A: 0.2, B: 0.02, C: 0.2 };
    await insertSends(
      campaign,
      test.id,
      ["A", "B", "C"].flatMap((variant) =>
        Array.from({ length: 400 }, () => ({ variant, replied: rng.chance(rates[variant] ?? 0) })),
      ),
    );
    const [look] = await evaluateActiveAbTests(db, { now: NOW, events, runId: `test-${randomUUID()}` });
    expect(look).toMatchObject({ ab_test_id: test.id, state: "testing", winner: null, newly_stopped: ["B"] });
    expect(await testRow(test.id)).toMatchObject({ status: "active", stopped_variants: ["B"] });

    const leads = await insertLeads(150);
    const res = await api.request("POST", "/api/v2/email/send", {
      body: {
        campaign_id: campaign,
        emails: leads.map((lead_id) => ({ lead_id, subject: "Given subject", body: "Given body" })),
      },
    });
    expect(res.status, res.text).toBe(202);
    const sends = res.body.data as { lead_id: string; ab_variant: string; subject_variant: string }[];
    expect(sends.filter((s) => s.ab_variant === "B")).toEqual([]);
    let rehashed = 0;
    for (const s of sends) {
      const hashed = assignVariant(test.id, s.lead_id, variants, split).id;
      if (hashed === "B") rehashed++;
      else expect(s.ab_variant).toBe(hashed);
      expect(s.subject_variant).toBe(`Subject ${s.ab_variant}`);
    }
    // About a third of 150 leads hashed to B and were re-hashed to A or C (P(none of 150) is nil).
    expect(rehashed).toBeGreaterThan(0);
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM email_sends WHERE ab_test_id = $1 AND ab_variant = 'B' AND lead_id = ANY($2)`,
      [test.id, leads],
    );
    expect(rows[0]?.n).toBe(0);
  });

  it("exposes email_body tests at send: the variant's content is the body", async () => {
    const { campaign, test } = await soleTest({
      element_type: "email_body",
      variants: [
        { id: "short", content: "Short body" },
        { id: "long", content: "Long body" },
      ],
      split_ratio: { short: 0.5, long: 0.5 },
      metric: "positive_reply_rate",
    });
    const leads = await insertLeads(20);
    const res = await api.request("POST", "/api/v2/email/send", {
      body: {
        campaign_id: campaign,
        emails: leads.map((lead_id) => ({ lead_id, subject: "Hi", body: "Given" })),
      },
    });
    expect(res.status, res.text).toBe(202);
    const { rows } = await db.query<{
      lead_id: string;
      ab_test_id: string;
      ab_variant: string;
      body: string;
    }>(
      `SELECT lead_id, ab_test_id, ab_variant, body, subject_variant FROM email_sends WHERE lead_id = ANY($1)`,
      [leads],
    );
    expect(rows).toHaveLength(20);
    for (const r of rows) {
      expect(r).toMatchObject({ ab_test_id: test.id, subject_variant: "Hi" });
      expect(r.body).toBe(r.ab_variant === "short" ? "Short body" : "Long body");
    }
  });

  it("exposes demo_style and video_script tests when work is queued, never a stopped variant; the worker sees it", async () => {
    const styles = [
      { id: "minimal", content: "Minimal, one page" },
      { id: "bold", content: "Bold hero video" },
      { id: "classic", content: "Classic three sections" },
    ];
    // Demos and videos belong to no campaign: the newest active test of their type applies to every queued item.
    const { test: demoTest } = await soleTest({
      element_type: "demo_style",
      variants: styles,
      split_ratio: { minimal: 0.4, bold: 0.3, classic: 0.3 },
    });
    const videoTest = await createTest({
      element_type: "video_script",
      variants: [
        { id: "story", content: "Tell a story" },
        { id: "facts", content: "List the facts" },
      ],
      split_ratio: { story: 0.5, facts: 0.5 },
    });
    // What an evaluation that found `bold` worse would have left (the stop itself is covered above).
    await db.query(`UPDATE ab_tests SET stopped_variants = '{bold}' WHERE id = $1`, [demoTest.id]);

    const leads = await insertLeads(40);
    for (const lead of leads) {
      const demo = await api.request("POST", `/api/v2/demos/${lead}`, { body: {} });
      expect(demo.status, demo.text).toBe(202);
    }
    const { rows: demos } = await db.query<{
      id: string;
      lead_id: string;
      ab_test_id: string;
      ab_variant: string;
    }>(`SELECT id, lead_id, ab_test_id, ab_variant FROM demo_sites WHERE lead_id = ANY($1)`, [leads]);
    expect(demos).toHaveLength(40);
    for (const d of demos) {
      expect(d.ab_test_id).toBe(demoTest.id);
      expect(d.ab_variant).not.toBe("bold");
      const hashed = assignVariant(demoTest.id, d.lead_id, styles, {
        minimal: 0.4,
        bold: 0.3,
        classic: 0.3,
      }).id;
      if (hashed !== "bold") expect(d.ab_variant).toBe(hashed);
    }
    const claim = await api.request("POST", "/api/v2/work/demo/claim", {
      body: { worker_id: "demo-worker", limit: 40 },
    });
    expect(claim.status, claim.text).toBe(200);
    const claimed = claim.body.data as { id: string; ab_variant: Record<string, unknown> | null }[];
    expect(claimed.length).toBeGreaterThan(0);
    for (const item of claimed) {
      const d = demos.find((x) => x.id === item.id);
      expect(item.ab_variant).toEqual({
        ab_test_id: demoTest.id,
        variant: d?.ab_variant,
        content: styles.find((s) => s.id === d?.ab_variant)?.content,
      });
    }

    const lead = leads[0] as string;
    const video = await api.request("POST", `/api/v2/videos/${lead}`, { body: {} });
    expect(video.status, video.text).toBe(202);
    const { rows: videos } = await db.query<{ ab_test_id: string; ab_variant: string }>(
      `SELECT ab_test_id, ab_variant FROM videos WHERE lead_id = $1`,
      [lead],
    );
    expect(videos).toEqual([
      {
        ab_test_id: videoTest.id,
        ab_variant: assignVariant(videoTest.id, lead, [{ id: "story" }, { id: "facts" }], {
          story: 0.5,
          facts: 0.5,
        }).id,
      },
    ]);
  });

  it("counts a demo_style test on the delivered emails that carried its demos, one sample per exposed lead", async () => {
    const { campaign, test } = await soleTest({
      element_type: "demo_style",
      variants: [{ id: "minimal" }, { id: "bold" }],
      split_ratio: { minimal: 0.5, bold: 0.5 },
      metric: "reply_rate",
    });
    const leads = await insertLeads(6);
    const variantOf = (i: number) => (i < 3 ? "minimal" : "bold");
    const { rows: demos } = await db.query<{ id: string; lead_id: string }>(
      `INSERT INTO demo_sites (lead_id, status, ab_test_id, ab_variant)
       SELECT l, 'deployed', $2, v FROM unnest($1::uuid[], $3::text[]) AS u(l, v) RETURNING id, lead_id`,
      [leads, test.id, leads.map((_, i) => variantOf(i))],
    );
    const demoOf = (lead: string) => demos.find((d) => d.lead_id === lead)?.id ?? null;
    const other = await insertCampaign(db);
    await insertSends(campaign, null, [
      // minimal: lead 0 replied to its follow-up (two emails, one sample, a success); lead 1 did not reply;
      // lead 2's email is still queued (not an exposure).
      { lead_id: leads[0], variant: null, demo_site_id: demoOf(leads[0] as string) },
      { lead_id: leads[0], variant: null, demo_site_id: demoOf(leads[0] as string), replied: true },
      { lead_id: leads[1], variant: null, demo_site_id: demoOf(leads[1] as string) },
      { lead_id: leads[2], variant: null, demo_site_id: demoOf(leads[2] as string), status: "queued" },
      // bold: leads 3 and 4 replied; lead 5 replied only without the demo (not this test's exposure).
      { lead_id: leads[3], variant: null, demo_site_id: demoOf(leads[3] as string), replied: true },
      { lead_id: leads[4], variant: null, demo_site_id: demoOf(leads[4] as string), replied: true },
      { lead_id: leads[5], variant: null, replied: true },
    ]);
    // An email of another campaign carrying a demo does not count for a test of this campaign.
    await insertSends(other, null, [
      { lead_id: leads[1], variant: null, demo_site_id: demoOf(leads[1] as string), replied: true },
    ]);
    const samples = await getAbTestSamples(
      db,
      { id: test.id, campaign_id: campaign, element_type: "demo_style", metric: "reply_rate" },
      ["minimal", "bold"],
    );
    expect(samples).toEqual([
      { variant: "minimal", n: 2, successes: 1 },
      { variant: "bold", n: 2, successes: 2 },
    ]);
  });

  it.each([
    ["reply_rate", "replied"],
    ["positive_reply_rate", "positive_reply"],
    ["meeting_rate", "meeting_booked"],
  ] as const)("counts %s as the exposed leads with email_send_outcomes.%s", async (metric, column) => {
    const { campaign, test } = await soleTest({
      element_type: "subject_line",
      variants: [{ id: "A" }, { id: "B" }],
      split_ratio: { A: 0.5, B: 0.5 },
      metric,
    });
    const leads = await insertLeads(12);
    // Leads 0–5 replied; 0, 1 and 6 answered positively in a thread of the campaign; 7–9 booked a meeting.
    await insertSends(
      campaign,
      test.id,
      leads.map((lead_id, i) => ({ lead_id, variant: i % 2 ? "B" : "A", replied: i < 6 })),
    );
    for (const i of [0, 1, 6]) {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO conversations (lead_id, campaign_id) VALUES ($1, $2) RETURNING id`,
        [leads[i], campaign],
      );
      await db.query(
        `INSERT INTO conversation_messages (conversation_id, direction, sentiment, sent_at)
         VALUES ($1, 'inbound', 'positive', $2)`,
        [rows[0]?.id, NOW.toISOString()],
      );
    }
    await db.query(
      `INSERT INTO meetings (lead_id, campaign_id, booked_at) SELECT l, $2, $3 FROM unnest($1::uuid[]) AS l`,
      [leads.slice(7, 10), campaign, NOW.toISOString()],
    );
    // The oracle: the view's own column, per lead, with no join to the test's exposure rules.
    const oracle = async (col: string) => {
      const { rows } = await db.query<{ variant: string; n: number; successes: number }>(
        `SELECT ab_variant AS variant, count(DISTINCT lead_id)::int AS n,
                count(DISTINCT lead_id) FILTER (WHERE ${col})::int AS successes
           FROM email_send_outcomes WHERE ab_test_id = $1 AND delivered GROUP BY ab_variant ORDER BY ab_variant`,
        [test.id],
      );
      return rows;
    };
    const expected = await oracle(column);
    const others = await Promise.all(
      ["replied", "positive_reply", "meeting_booked"].filter((c) => c !== column).map(oracle),
    );
    for (const other of others)
      expect(other, "the data must tell the three outcomes apart").not.toEqual(expected);
    const samples = await getAbTestSamples(
      db,
      { id: test.id, campaign_id: campaign, element_type: "subject_line", metric },
      ["A", "B"],
    );
    expect(samples).toEqual(expected);
  });
});
