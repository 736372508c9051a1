import { randomBytes, randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import graphileWorker from "graphile-worker";
import { pino } from "pino";
import { beforeAll, describe, expect, it } from "vitest";
import { getCampaignKpis } from "../../src/analytics/get-campaign-kpis.js";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { type RetentionReport, runRetention } from "../../src/compliance/retention.js";
import { DEFAULT_RETENTION_POLICY } from "../../src/compliance/retention-policy.js";
import { migrate } from "../../src/db/migrate.js";
import { EventValidator } from "../../src/events/schemas.js";
import { startScheduler } from "../../src/jobs/scheduler.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { oracleFunnel } from "../support/kpi-oracle.js";

// A database of its own: retention drops partitions, erases leads and moves the rollup seal of the whole database.
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });
const api = await startApi({ databaseUrl: url });
const events = new EventValidator();

/**
 * The policy's clock: today at noon UTC. Retention never reads the real clock (it gets `now`); the refresh's horizon
 * and the partitions made at migration follow the real date, and every row below is months away from both.
 */
const real = new Date();
const NOW = new Date(Date.UTC(real.getUTCFullYear(), real.getUTCMonth(), real.getUTCDate(), 12));
const DAY_MS = 86_400_000;
/** Day `day` of the month `k` months before NOW's month, at `hour` UTC. */
const inMonth = (k: number, day = 10, hour = 10) =>
  new Date(Date.UTC(NOW.getUTCFullYear(), NOW.getUTCMonth() - k, day, hour));
const monthStart = (k: number) => inMonth(k, 1, 0);
const isoDay = (d: Date) => d.toISOString().slice(0, 10);
const partition = (table: string, k: number) =>
  `${table}_p${monthStart(k).toISOString().slice(0, 7).replace("-", "_")}`;
const later = (d: Date, ms: number) => new Date(d.getTime() + ms);

const retention = (options: { now?: Date; dryRun?: boolean } = {}) =>
  runRetention(pool, {
    now: options.now ?? NOW,
    policy: DEFAULT_RETENTION_POLICY,
    dryRun: options.dryRun,
    events,
  }).then((r) => {
    if ("skipped" in r) throw new Error(r.skipped);
    return r;
  });

// --- rows, written straight into the tables with the times a test needs ---------------------------------------

async function insertLead(o: { created: Date; updated?: Date }): Promise<string> {
  const slug = randomBytes(5).toString("hex");
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO leads (company_name, website, domain, source_platform, contact_name, contact_email, consent_source,
                        consent_timestamp, created_at, updated_at)
     VALUES ($1, $2, $3, 'google_maps', 'Jane Doe', $4, 'public_business_listing', '2020-01-01', $5, $6)
     RETURNING id`,
    [
      `Retained ${slug}`,
      `https://retained-${slug}.example/`,
      `retained-${slug}.example`,
      `jane@retained-${slug}.example`,
      o.created.toISOString(),
      (o.updated ?? o.created).toISOString(),
    ],
  );
  return rows[0]?.id ?? "";
}

async function insertEmail(o: {
  lead: string;
  campaign: string;
  created: Date;
  sent?: Date;
  opened?: Date;
  replied?: Date;
}): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO email_sends (id, campaign_id, lead_id, subject_variant, body, tracking_token, status, created_at,
                              sent_at, opened_at, replied_at)
     VALUES ($1, $2, $3, 'Hello', 'A body with the lead''s name', $4, $5, $6, $7, $8, $9) RETURNING id`,
    [
      randomUUID(),
      o.campaign,
      o.lead,
      randomUUID(),
      o.sent ? "sent" : "queued",
      o.created.toISOString(),
      o.sent?.toISOString() ?? null,
      o.opened?.toISOString() ?? null,
      o.replied?.toISOString() ?? null,
    ],
  );
  return rows[0]?.id ?? "";
}

async function insertThread(o: {
  lead: string;
  campaign: string;
  email: string | null;
  messages: { direction: "inbound" | "outbound"; sentiment: string | null; at: Date }[];
}): Promise<{ conversation: string; messages: string[] }> {
  const first = o.messages[0]?.at ?? NOW;
  const last = o.messages.at(-1)?.at ?? NOW;
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO conversations (lead_id, campaign_id, email_send_id, thread_metadata, last_message_at, created_at)
     VALUES ($1, $2, $3, '{"subject": "Re: Hello"}', $4, $5) RETURNING id`,
    [o.lead, o.campaign, o.email, last.toISOString(), first.toISOString()],
  );
  const conversation = rows[0]?.id ?? "";
  const messages: string[] = [];
  for (const m of o.messages) {
    const r = await pool.query<{ id: string }>(
      `INSERT INTO conversation_messages (conversation_id, direction, from_email, to_email, subject, body, sentiment,
                                          gmail_message_id, sent_at)
       VALUES ($1, $2, 'jane@lead.example', 'sales@reachgraph.example', 'Re: Hello', 'Yes, call me', $3, $4, $5)
       RETURNING id`,
      [conversation, m.direction, m.sentiment, `gm-${randomUUID()}`, m.at.toISOString()],
    );
    messages.push(r.rows[0]?.id ?? "");
  }
  return { conversation, messages };
}

async function insertMeetingAndDeal(o: {
  lead: string;
  campaign: string;
  conversation: string | null;
  at: Date;
  amount: string;
  currency: string;
}): Promise<void> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO meetings (lead_id, campaign_id, conversation_id, booked_at, created_at) VALUES ($1, $2, $3, $4, $4)
     RETURNING id`,
    [o.lead, o.campaign, o.conversation, o.at.toISOString()],
  );
  await pool.query(
    `INSERT INTO deals (lead_id, campaign_id, meeting_id, status, amount, currency, won_at, created_at, updated_at)
     VALUES ($1, $2, $3, 'won', $4, $5, $6, $6, $6)`,
    [o.lead, o.campaign, rows[0]?.id, o.amount, o.currency, later(o.at, DAY_MS).toISOString()],
  );
}

async function insertDemo(o: { lead: string; at: Date; caseStudy?: boolean }): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO demo_sites (lead_id, deployment_url, status, created_at, deployed_at, is_case_study)
     VALUES ($1, $2, 'deployed', $3, $3, $4) RETURNING id`,
    [o.lead, `https://demos.example/${randomUUID()}`, o.at.toISOString(), o.caseStudy ?? false],
  );
  return rows[0]?.id ?? "";
}

async function insertVideo(o: { lead: string; demo: string | null; at: Date }): Promise<string> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO videos (lead_id, demo_site_id, video_url, status, created_at) VALUES ($1, $2, $3, 'ready', $4)
     RETURNING id`,
    [o.lead, o.demo, `https://videos.example/${randomUUID()}`, o.at.toISOString()],
  );
  return rows[0]?.id ?? "";
}

async function insertAiGym(o: { at: Date; lead?: string; hashed?: boolean }): Promise<string> {
  const hash = (c: string) => (o.hashed === false ? null : c.repeat(64));
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO ai_gym_performance (task_type, model_name, lead_id, cost, duration_seconds, quality_score,
                                     conversion_metric, prompt_hash, response_hash, created_at)
     VALUES ('website_analysis', 'retention-model', $1, 0.0125, 40, 80, 1, $2, $3, $4)
     RETURNING id`,
    [o.lead ?? null, hash("a"), hash("b"), o.at.toISOString()],
  );
  return rows[0]?.id ?? "";
}

// --- what a user of the KPIs sees --------------------------------------------------------------------------------

const PERIOD = { from: isoDay(monthStart(28)), to: isoDay(NOW), timezone: "UTC" };

type KpiAnswers = { overview: unknown; campaign: unknown; closed: Record<string, unknown> };

const CLOSED_TABLES = {
  campaign_kpis_15m_closed: "bucket",
  campaign_revenue_15m_closed: "bucket",
  platform_kpis_15m_closed: "bucket",
  ai_gym_daily_closed: "day",
  ai_gym_durations_daily_closed: "day",
  ai_gym_costs_daily_closed: "day",
  ab_variant_daily_closed: "day",
} as const;

/** The REST overview and the campaign KPIs over the whole period by month, and the closed rollups' rows. */
async function kpiAnswers(campaign: string, closedBefore: string): Promise<KpiAnswers> {
  const res = await api.request(
    "GET",
    `/api/v2/analytics/overview?from=${PERIOD.from}&to=${PERIOD.to}&granularity=month`,
  );
  expect(res.status, res.text).toBe(200);
  const kpis = await getCampaignKpis(pool, {
    period: PERIOD,
    granularity: "month",
    byCampaign: true,
    campaignIds: [campaign],
  });
  const closed: Record<string, unknown> = {};
  for (const [table, column] of Object.entries(CLOSED_TABLES)) {
    const { rows } = await pool.query<{ rows: unknown }>(
      `SELECT COALESCE(jsonb_agg(to_jsonb(t) ORDER BY t::text), '[]') AS rows FROM ${table} t WHERE ${column} < $1`,
      [closedBefore],
    );
    closed[table] = rows[0]?.rows;
  }
  return { overview: res.body.data, campaign: kpis.get(campaign), closed };
}

/** Every table's rows (as text), the partitions and the rollup state: equal fingerprints, nothing changed. */
async function fingerprint(): Promise<Record<string, string>> {
  const { rows: tables } = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { name } of tables) {
    const { rows } = await pool.query<{ h: string }>(
      `SELECT md5(COALESCE(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS h FROM "${name}" t`,
    );
    out[name] = rows[0]?.h ?? "";
  }
  const parts = await pool.query<{ names: string }>(
    `SELECT string_agg(c.relname, ',' ORDER BY c.relname) AS names FROM pg_inherits i
       JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent IN ('email_sends'::regclass, 'ai_gym_performance'::regclass)`,
  );
  out["(partitions)"] = parts.rows[0]?.names ?? "";
  return out;
}

const exists = async (relation: string) =>
  (await pool.query<{ r: string | null }>("SELECT to_regclass($1)::text AS r", [relation])).rows[0]?.r !==
  null;

// --- the data set ------------------------------------------------------------------------------------------------

const ids = {
  campaign: "",
  idleLead: "",
  activeByEmail: "",
  extended: "",
  oldEmails: "",
  assets: "",
  idleLeadDemo: "",
  idleLeadVideo: "",
  oldDemo: "",
  oldVideo: "",
  caseStudyDemo: "",
  newDemo: "",
  newVideo: "",
  oldMessages: [] as string[],
  newMessage: "",
  keptMonthEmail: "",
  aiOld: [] as string[],
  aiNew: "",
};
let before: KpiAnswers;
let horizonAtStart = "";
let report: RetentionReport;
let expectedSeal = "";

beforeAll(async () => {
  // Old months need partitions of their own, made before their rows arrive: a row of a month without one lands in
  // the DEFAULT partition, and that month's partition can then no longer be created the normal way
  // (../shared/notes/stack.md). Month −27 is left without one on purpose: retention must move it out to drop it.
  await pool.query(
    "SELECT reachgraph_ensure_monthly_partitions('email_sends'::regclass, $1::date, $2::date)",
    [isoDay(monthStart(26)), isoDay(monthStart(20))],
  );
  await pool.query(
    "SELECT reachgraph_ensure_monthly_partitions('ai_gym_performance'::regclass, $1::date, $2::date)",
    [isoDay(monthStart(14)), isoDay(monthStart(10))],
  );
  const c = await pool.query<{ id: string }>(
    "INSERT INTO campaigns (name, status, created_at) VALUES ('Retention campaign', 'active', $1) RETURNING id",
    [monthStart(28).toISOString()],
  );
  ids.campaign = c.rows[0]?.id ?? "";
  const campaign = ids.campaign;

  // A lead idle for 19 months, with the whole funnel then: to be erased, its metrics kept.
  ids.idleLead = await insertLead({ created: inMonth(19, 5) });
  {
    const email = await insertEmail({
      lead: ids.idleLead,
      campaign,
      created: inMonth(19, 6),
      sent: inMonth(19, 6, 11),
      opened: inMonth(19, 6, 12),
      replied: inMonth(19, 7),
    });
    const thread = await insertThread({
      lead: ids.idleLead,
      campaign,
      email,
      messages: [{ direction: "inbound", sentiment: "positive", at: inMonth(19, 7) }],
    });
    await insertMeetingAndDeal({
      lead: ids.idleLead,
      campaign,
      conversation: thread.conversation,
      at: inMonth(19, 8),
      amount: "1000.00",
      currency: "EUR",
    });
    await pool.query(
      `INSERT INTO website_analyses (lead_id, status, overall_score, findings, created_at, completed_at)
       VALUES ($1, 'completed', 71, '{"note": "slow"}', $2, $2)`,
      [ids.idleLead, inMonth(19, 5, 12).toISOString()],
    );
    ids.idleLeadDemo = await insertDemo({ lead: ids.idleLead, at: inMonth(19, 5, 13) });
    ids.idleLeadVideo = await insertVideo({
      lead: ids.idleLead,
      demo: ids.idleLeadDemo,
      at: inMonth(19, 5, 14),
    });
    ids.aiOld.push(await insertAiGym({ at: inMonth(19, 5, 12), lead: ids.idleLead }));
  }

  // Idle as long, but emailed last month: kept.
  ids.activeByEmail = await insertLead({ created: inMonth(19, 5) });
  await insertEmail({ lead: ids.activeByEmail, campaign, created: inMonth(1, 10), sent: inMonth(1, 10, 11) });

  // Idle as long, but an admin extended its retention (through the API, below): kept.
  ids.extended = await insertLead({ created: inMonth(19, 5) });

  // An active lead (updated two months ago) whose email history reaches back 27 months: months −27, −26 and −25 are
  // past the 24-month email retention, month −24 is not over yet.
  ids.oldEmails = await insertLead({ created: inMonth(27, 2), updated: inMonth(2) });
  await insertEmail({
    lead: ids.oldEmails,
    campaign,
    created: inMonth(27, 10),
    sent: inMonth(27, 10, 11),
    opened: inMonth(27, 11),
  });
  await insertEmail({ lead: ids.oldEmails, campaign, created: inMonth(26, 10), sent: inMonth(26, 10, 11) });
  const repliedTo = await insertEmail({
    lead: ids.oldEmails,
    campaign,
    created: inMonth(25, 10),
    sent: inMonth(25, 10, 11),
    opened: inMonth(25, 11),
    replied: inMonth(25, 12),
  });
  // On the last day of month −24, so that it is on a day the first run does not seal, whatever today's date.
  ids.keptMonthEmail = await insertEmail({
    lead: ids.oldEmails,
    campaign,
    created: later(monthStart(23), -14 * 3_600_000),
    sent: later(monthStart(23), -13 * 3_600_000),
  });
  const old = await insertThread({
    lead: ids.oldEmails,
    campaign,
    email: repliedTo,
    messages: [
      { direction: "inbound", sentiment: "positive", at: inMonth(25, 12) },
      { direction: "outbound", sentiment: null, at: inMonth(25, 13) },
    ],
  });
  ids.oldMessages = old.messages;
  const recent = await insertThread({
    lead: ids.oldEmails,
    campaign,
    email: null,
    messages: [{ direction: "inbound", sentiment: "neutral", at: inMonth(1, 12) }],
  });
  ids.newMessage = recent.messages[0] ?? "";
  await insertMeetingAndDeal({
    lead: ids.oldEmails,
    campaign,
    conversation: old.conversation,
    at: inMonth(25, 14),
    amount: "500.00",
    currency: "USD",
  });

  // An active lead's assets: 7 months old (archived), one of them a case study (kept), 5 months old (kept).
  ids.assets = await insertLead({ created: inMonth(8), updated: inMonth(1) });
  ids.oldDemo = await insertDemo({ lead: ids.assets, at: inMonth(7) });
  ids.caseStudyDemo = await insertDemo({ lead: ids.assets, at: inMonth(7, 11) });
  ids.newDemo = await insertDemo({ lead: ids.assets, at: inMonth(5) });
  ids.oldVideo = await insertVideo({ lead: ids.assets, demo: ids.oldDemo, at: inMonth(7, 12) });
  ids.newVideo = await insertVideo({ lead: ids.assets, demo: ids.newDemo, at: inMonth(5, 12) });

  // AI-GYM rows with prompt/response hashes: 13 months old (cleared) and 11 (kept).
  ids.aiOld.push(await insertAiGym({ at: inMonth(13) }), await insertAiGym({ at: inMonth(13, 20) }));
  ids.aiNew = await insertAiGym({ at: inMonth(11) });

  // The admin levers, through the API.
  const flagged = await api.request("PUT", `/api/v2/demos/${ids.caseStudyDemo}/case-study`, {
    body: { is_case_study: true },
  });
  expect(flagged.status, flagged.text).toBe(200);
  const extended = await api.request("PUT", `/api/v2/leads/${ids.extended}/retention`, {
    body: { extended_until: later(NOW, 30 * DAY_MS).toISOString() },
  });
  expect(extended.status, extended.text).toBe(200);

  const first = await refreshViews(pool, "test");
  horizonAtStart = first.horizon;
  before = await kpiAnswers(campaign, horizonAtStart);
});

describe("retention (spec §8)", () => {
  it("the data set is counted before anything runs (so an unchanged answer means something)", () => {
    const overview = before.overview as {
      outreach: { series: { start: string; funnel: { sent: number; meetings_booked: number } }[] };
      platform: { series: { start: string; leads_scraped: number; demos_deployed: number }[] };
    };
    const month = (k: number) => isoDay(monthStart(k));
    const sent = Object.fromEntries(overview.outreach.series.map((s) => [s.start, s.funnel.sent]));
    expect([sent[month(27)], sent[month(26)], sent[month(25)], sent[month(24)], sent[month(19)]]).toEqual([
      1, 1, 1, 1, 1,
    ]);
    const meetings = overview.outreach.series.find((s) => s.start === month(27))?.funnel.meetings_booked;
    expect(meetings, "the old lead's meeting is credited to its first touch, month −27").toBe(1);
    const platform = overview.platform.series.find((s) => s.start === month(19));
    expect(platform).toMatchObject({ leads_scraped: 3, demos_deployed: 1 });
  });

  it("a dry run reports what it would do and changes nothing", async () => {
    const fp = await fingerprint();
    const dry = await retention({ dryRun: true });
    expect(dry.dry_run).toBe(true);
    expect(dry.leads).toEqual({ erased: 1, kept_by_extension: 1 });
    expect(dry.email_logs.partitions_dropped.map((p) => p.name)).toEqual([
      partition("email_sends", 27),
      partition("email_sends", 26),
      partition("email_sends", 25),
    ]);
    expect(dry.email_logs).toMatchObject({
      email_sends_dropped: 3,
      email_sends_moved_from_default: 1,
      partitions_waiting: [],
      conversation_messages_stripped: 2,
    });
    expect(dry.ai_hashes).toEqual({ ai_gym_records_cleared: 3 });
    expect(dry.assets).toEqual({ demo_sites_archived: 2, videos_archived: 2, case_studies_kept: 1 });
    // The UTC day 24 months before now, as PostgreSQL counts months.
    const { rows } = await pool.query<{ day: string }>(
      "SELECT (($1::timestamp - interval '24 months')::date)::text || ' 00:00:00' AS day",
      [NOW.toISOString()],
    );
    expectedSeal = rows[0]?.day ?? "";
    expect(dry.seal).toEqual({ before: "-infinity", after: expectedSeal });
    expect(await fingerprint()).toEqual(fp);
  });

  it("runs the policy: the right rows are gone, stripped, archived or kept, with audit rows and events", async () => {
    report = await retention();
    expect(report.dry_run).toBe(false);
    expect(report.leads).toEqual({ erased: 1, kept_by_extension: 1 });
    expect(report.email_logs.partitions_dropped.map((p) => [p.name, p.rows])).toEqual([
      [partition("email_sends", 27), 1],
      [partition("email_sends", 26), 1],
      [partition("email_sends", 25), 1],
    ]);
    expect(report.email_logs.conversation_messages_stripped).toBe(2);
    expect(report.ai_hashes.ai_gym_records_cleared).toBe(3);
    expect(report.assets).toEqual({ demo_sites_archived: 2, videos_archived: 2, case_studies_kept: 1 });
    expect(report.seal).toEqual({ before: "-infinity", after: expectedSeal });
    const { rows: horizon } = await pool.query<{ sealed: string }>(
      "SELECT sealed_before::text AS sealed FROM rollup_horizon",
    );
    expect(horizon[0]?.sealed).toBe(report.seal.after);

    // Email logs: the three old months are gone (month −27 out of the DEFAULT partition too), month −24 is kept.
    for (const k of [27, 26, 25])
      expect(await exists(partition("email_sends", k)), `month −${k}`).toBe(false);
    expect(await exists(partition("email_sends", 24))).toBe(true);
    const left = await pool.query<{ created_at: Date }>(
      "SELECT created_at FROM email_sends WHERE lead_id = $1 ORDER BY created_at",
      [ids.oldEmails],
    );
    expect(left.rows.map((r) => isoDay(r.created_at))).toEqual([isoDay(later(monthStart(23), -DAY_MS))]);
    const messages = await pool.query(
      `SELECT id, direction, sentiment, sent_at, from_email, to_email, subject, body, gmail_message_id
         FROM conversation_messages WHERE id = ANY($1::uuid[]) ORDER BY sent_at`,
      [[...ids.oldMessages, ids.newMessage]],
    );
    expect(
      messages.rows.map((m) => [m.direction, m.sentiment, isoDay(m.sent_at), m.from_email, m.body]),
    ).toEqual([
      ["inbound", "positive", isoDay(inMonth(25, 12)), null, null],
      ["outbound", null, isoDay(inMonth(25, 13)), null, null],
      ["inbound", "neutral", isoDay(inMonth(1, 12)), "jane@lead.example", "Yes, call me"],
    ]);
    for (const m of messages.rows.slice(0, 2))
      expect([m.to_email, m.subject, m.gmail_message_id]).toEqual([null, null, null]);

    // AI hashes: cleared after 12 months, the rows and their metrics stay.
    const ai = await pool.query<{
      id: string;
      prompt_hash: string | null;
      response_hash: string | null;
      cost: string;
    }>(
      "SELECT id, prompt_hash, response_hash, cost::text AS cost FROM ai_gym_performance WHERE id = ANY($1::uuid[])",
      [[...ids.aiOld, ids.aiNew]],
    );
    const hashes = new Map(ai.rows.map((r) => [r.id, [r.prompt_hash, r.response_hash, r.cost]]));
    for (const id of ids.aiOld) expect(hashes.get(id)).toEqual([null, null, "0.0125"]);
    expect(hashes.get(ids.aiNew)).toEqual(["a".repeat(64), "b".repeat(64), "0.0125"]);

    // Assets: 7 months old archived, the case study and the 5-month-old ones untouched.
    const assets = await pool.query<{ id: string; status: string; archived_at: Date | null; kind: string }>(
      `SELECT id, status, archived_at, 'demo_site' AS kind FROM demo_sites WHERE lead_id = $1
       UNION ALL SELECT id, status, archived_at, 'video' FROM videos WHERE lead_id = $1`,
      [ids.assets],
    );
    const state = new Map(assets.rows.map((r) => [r.id, [r.status, r.archived_at?.toISOString() ?? null]]));
    expect(state.get(ids.oldDemo)).toEqual(["archived", NOW.toISOString()]);
    expect(state.get(ids.oldVideo)).toEqual(["archived", NOW.toISOString()]);
    expect(state.get(ids.caseStudyDemo), "a case study is not archived").toEqual(["deployed", null]);
    expect(state.get(ids.newDemo)).toEqual(["deployed", null]);
    expect(state.get(ids.newVideo)).toEqual(["ready", null]);

    // Leads: the idle one is a tombstone (row kept, erased_at set, PII gone; its rows stay for the metrics).
    const leads = await pool.query<{ id: string; erased_at: Date | null; contact_email: string | null }>(
      "SELECT id, erased_at, contact_email FROM leads WHERE id = ANY($1::uuid[])",
      [[ids.idleLead, ids.activeByEmail, ids.extended, ids.oldEmails, ids.assets]],
    );
    const lead = new Map(leads.rows.map((r) => [r.id, r]));
    expect(lead.get(ids.idleLead), "the erased lead stays as a tombstone").toMatchObject({
      erased_at: NOW,
      contact_email: null,
    });
    for (const kept of [ids.activeByEmail, ids.extended, ids.oldEmails, ids.assets]) {
      expect(lead.has(kept), kept).toBe(true);
      expect(lead.get(kept)?.erased_at, kept).toBeNull();
    }
    const children = await pool.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM website_analyses WHERE lead_id = $1) + (SELECT count(*) FROM demo_sites WHERE lead_id = $1)
            + (SELECT count(*) FROM videos WHERE lead_id = $1) + (SELECT count(*) FROM meetings WHERE lead_id = $1)
            + (SELECT count(*) FROM deals WHERE lead_id = $1) AS n`,
      [ids.idleLead],
    );
    expect(
      Number(children.rows[0]?.n),
      "the erased lead's analysis, demo, video, meeting and deal stay",
    ).toBe(5);

    // Events: one asset.archived per archived asset, ids only (no URL); lead.erased for the erased lead.
    const feed = await pool.query<{ type: string; payload: Record<string, unknown> }>(
      "SELECT type, payload FROM event_outbox WHERE correlation_id = $1 ORDER BY txid, position",
      [report.run_id],
    );
    const archived = feed.rows.filter((e) => e.type === "asset.archived").map((e) => e.payload);
    expect(archived).toHaveLength(4);
    expect(archived).toEqual(
      expect.arrayContaining([
        {
          asset_kind: "demo_site",
          asset_id: ids.oldDemo,
          lead_id: ids.assets,
          archived_at: NOW.toISOString(),
        },
        { asset_kind: "video", asset_id: ids.oldVideo, lead_id: ids.assets, archived_at: NOW.toISOString() },
        {
          asset_kind: "demo_site",
          asset_id: ids.idleLeadDemo,
          lead_id: ids.idleLead,
          archived_at: NOW.toISOString(),
        },
        {
          asset_kind: "video",
          asset_id: ids.idleLeadVideo,
          lead_id: ids.idleLead,
          archived_at: NOW.toISOString(),
        },
      ]),
    );
    expect(JSON.stringify(archived)).not.toMatch(/https?:/);
    expect(feed.rows.filter((e) => e.type === "lead.erased").map((e) => e.payload.lead_id)).toEqual([
      ids.idleLead,
    ]);

    // Audit: every change under the retention principal, and the run with its counts.
    const audit = await pool.query<{
      action: string;
      resource_id: string | null;
      principal: string;
      details: Record<string, unknown>;
    }>(
      `SELECT action, resource_id, principal_type || ':' || principal_id AS principal, details
         FROM audit_log WHERE request_id = $1 ORDER BY id`,
      [report.run_id],
    );
    expect(new Set(audit.rows.map((a) => a.principal))).toEqual(new Set(["system:retention"]));
    const actions = audit.rows.map((a) => a.action);
    expect(actions.filter((a) => a === "email_sends.partition_dropped")).toHaveLength(3);
    expect(actions).toContain("conversation_messages.stripped");
    expect(actions).toContain("ai_gym_performance.hashes_cleared");
    expect(actions.filter((a) => a === "demo_site.archived" || a === "video.archived")).toHaveLength(4);
    expect(audit.rows.find((a) => a.action === "lead.erased")).toMatchObject({
      resource_id: ids.idleLead,
      details: { reason: "retention", suppressed: false },
    });
    // An idle lead has not objected to being found again: no suppression.
    const suppressed = await pool.query("SELECT 1 FROM lead_suppressions WHERE lead_id = $1", [ids.idleLead]);
    expect(suppressed.rowCount).toBe(0);
    const run = audit.rows.at(-1);
    expect(run?.action).toBe("retention.run");
    expect(run?.details).toMatchObject({
      leads_erased: 1,
      leads_kept_by_extension: 1,
      email_sends_dropped: 3,
      email_partitions_dropped: [
        partition("email_sends", 27),
        partition("email_sends", 26),
        partition("email_sends", 25),
      ],
      conversation_messages_stripped: 2,
      ai_gym_records_cleared: 3,
      demo_sites_archived: 2,
      videos_archived: 2,
      case_studies_kept: 1,
    });
    expect(JSON.stringify(audit.rows)).not.toMatch(/@|https?:|call me/);
  });

  it("the KPIs of every month are what they were: after the run, after a refresh, and after a forced full recount", async () => {
    await refreshViews(pool, "test");
    expect(await kpiAnswers(ids.campaign, horizonAtStart)).toEqual(before);
    // What a TRUNCATE records, or an operator forcing a recount of everything: it recounts only unsealed days.
    await pool.query("INSERT INTO rollup_dirty_days (day) VALUES ('-infinity')");
    const recount = await refreshViews(pool, "test");
    for (const view of recount.views)
      expect(view.closed_ranges[0], view.view_name).toEqual({ from: report.seal.after, to: recount.horizon });
    expect(await kpiAnswers(ids.campaign, horizonAtStart)).toEqual(before);
  });

  it("a later write to a sealed day is not counted: the closed rollups are the record of purged periods", async () => {
    await insertAiGym({ at: inMonth(26, 15), hashed: false });
    const marks = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM rollup_dirty_days");
    expect(marks.rows[0]?.n).toBeGreaterThan(0);
    await refreshViews(pool, "test");
    expect(await kpiAnswers(ids.campaign, horizonAtStart)).toEqual(before);
  });

  it("a second run finds nothing left to do", async () => {
    const again = await retention();
    expect(again.leads.erased).toBe(0);
    expect(again.email_logs.partitions_dropped).toEqual([]);
    expect(again.email_logs.conversation_messages_stripped).toBe(0);
    expect(again.ai_hashes.ai_gym_records_cleared).toBe(0);
    expect(again.assets).toMatchObject({ demo_sites_archived: 0, videos_archived: 0, case_studies_kept: 1 });
  });

  it("recounts the marks still pending before it seals: a late open of a month about to be purged is counted", async () => {
    // A month later month −24 is due. Its email is opened late, after the last refresh: the mark is pending.
    await pool.query("UPDATE email_sends SET opened_at = sent_at + interval '3 hours' WHERE id = $1", [
      ids.keptMonthEmail,
    ]);
    const month = {
      from: isoDay(monthStart(24)),
      to: isoDay(later(monthStart(23), -DAY_MS)),
      timezone: "UTC",
    };
    const truth = await oracleFunnel(pool, { ...month, granularity: "month" });
    expect(truth.find((f) => f.campaign_id === ids.campaign)).toMatchObject({ sent: 1, opened: 1 });

    const next = await retention({ now: inMonth(-1, Math.min(NOW.getUTCDate(), 28), 12) });
    expect(next.email_logs.partitions_dropped.map((p) => p.name)).toEqual([partition("email_sends", 24)]);
    await pool.query("INSERT INTO rollup_dirty_days (day) VALUES ('-infinity')");
    await refreshViews(pool, "test");
    const kpis = await getCampaignKpis(pool, {
      period: month,
      granularity: null,
      byCampaign: true,
      campaignIds: [ids.campaign],
    });
    expect(kpis.get(ids.campaign)?.totals.funnel).toMatchObject({ sent: 1, opened: 1 });
  });

  it("keeps a partition whose emails were sent on a day not sealed yet (queued before the month ended)", async () => {
    const now = inMonth(-2, Math.min(NOW.getUTCDate(), 28), 12);
    const seal = new Date(Date.UTC(now.getUTCFullYear() - 2, now.getUTCMonth(), now.getUTCDate()));
    // Queued an hour before month −23 ended, sent an hour after the day this run seals.
    await insertEmail({
      lead: ids.oldEmails,
      campaign: ids.campaign,
      created: later(monthStart(22), -3_600_000),
      sent: later(seal, 3_600_000),
    });
    const r = await retention({ now });
    expect(r.email_logs.partitions_dropped).toEqual([]);
    expect(r.email_logs.partitions_waiting).toEqual([
      expect.objectContaining({
        name: partition("email_sends", 23),
        reason: expect.stringMatching(/not sealed/),
      }),
    ]);
    expect(await exists(partition("email_sends", 23))).toBe(true);
  });

  it("runs as the daily graphile-worker job and logs the run's figures", async () => {
    const expected = await retention({ dryRun: true });
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const runner = await startScheduler({
      url,
      primary: pool,
      logger: pino({ level: "info" }, sink),
      partitionMonthsAhead: 3,
      viewRefreshIntervalMinutes: 5,
      clock: () => NOW,
      retention: DEFAULT_RETENTION_POLICY,
      pollIntervalMs: 100,
    });
    try {
      await graphileWorker.quickAddJob({ connectionString: url }, "retention", {}, { jobKey: "retention" });
      for (let tries = 0; !lines.some((l) => l.msg === "retention run"); tries++) {
        if (tries > 300) throw new Error("the retention job did not log a run");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      await runner.stop();
    }
    // The figures a dry run of the same state reports (what `npm run retention` prints).
    const logged = lines.find((l) => l.msg === "retention run");
    expect(logged).toMatchObject({
      seal: expected.seal,
      leads: expected.leads,
      emailLogs: {
        partitions_dropped: [],
        email_sends_dropped: 0,
        partitions_waiting: expected.email_logs.partitions_waiting,
        conversation_messages_stripped: 0,
      },
      aiHashes: expected.ai_hashes,
      assets: expected.assets,
    });
    const audit = await pool.query(
      "SELECT 1 FROM audit_log WHERE action = 'retention.run' AND request_id = $1",
      [logged?.runId],
    );
    expect(audit.rowCount).toBe(1);
  });

  it("a seed reset unseals: the next refresh recounts every closed day from the new rows", async () => {
    await seedDemoData(pool, { leads: 40, seed: 11, spanDays: 900, reset: true });
    const horizon = await pool.query<{ sealed: string }>(
      "SELECT sealed_before::text AS sealed FROM rollup_horizon",
    );
    expect(horizon.rows[0]?.sealed).toBe("-infinity");
    await refreshViews(pool, "test");
    const { rows } = await pool.query<{ rollup: number; base: number }>(
      `SELECT (SELECT COALESCE(sum(leads_scraped), 0) FROM platform_kpis_15m)::int AS rollup,
              (SELECT count(*) FROM leads)::int AS base`,
    );
    expect(rows[0]?.base).toBe(40);
    expect(rows[0]?.rollup).toBe(rows[0]?.base);
  });
});
