import { base, en, en_US, Faker } from "@faker-js/faker";
import type pg from "pg";
import { ensurePartitionsBetween } from "../db/partitions.js";
import { type AiGymBulkRecord, loadAiGymRecords } from "../domain/ai-gym-bulk.js";
import type { BulkItem } from "../domain/bulk/bulk-load.js";
import { type LeadBulkRow, loadLeads } from "../domain/leads-bulk.js";
import type { Principal } from "../domain/principal.js";
import { UnitOfWork } from "../domain/unit-of-work.js";
import { EventValidator } from "../events/schemas.js";
import { bulkInsert } from "./bulk-insert.js";
import { AB_TESTS, CAMPAIGNS, SOURCE_PLATFORMS } from "./catalog.js";
import { generateLead, type SeedWorld, ts } from "./generate.js";
import { Rng } from "./rng.js";
import { emptyRows, SEED_COLUMNS, SEED_TABLES } from "./tables.js";

const DAY = 86_400_000;

export type SeedOptions = {
  leads: number;
  /** RNG seed: the same seed, lead count and anchor give the same dataset. */
  seed?: number;
  /** Average emails per enrolled lead (initial + follow-ups). */
  emailsPerLead?: number;
  /** How many days of history to generate before the anchor. */
  spanDays?: number;
  /** The dataset's "now"; defaults to the start of the current UTC day, so a dataset is stable within a day. */
  anchor?: Date;
  /** Empty every application table first. */
  reset?: boolean;
  /** Leads generated and written per transaction. */
  chunkSize?: number;
  onProgress?: (leadsDone: number, rowsWritten: number) => void;
};

export type SeedReport = {
  rows: Record<string, number>;
  totalRows: number;
  seconds: number;
  rowsPerSecond: number;
};

export class SeedConflictError extends Error {
  override name = "SeedConflictError";
}

/** Every table the application owns, children first (for TRUNCATE and for the report). */
export const APPLICATION_TABLES = [
  "deals",
  "meetings",
  "conversation_messages",
  "conversations",
  "email_sends",
  "ai_gym_performance",
  "videos",
  "demo_sites",
  "website_analyses",
  "leads",
  "scraping_jobs",
  "ab_tests",
  "campaigns",
  "audit_log",
] as const;

/**
 * Tables the running service fills (queue, outbox, stored idempotent responses, erasure suppressions) or its triggers
 * keep (campaign recipients), and the seeder does not write itself; `--reset` empties them too, since they refer to
 * the rows it deletes. API keys are credentials and survive a reset.
 */
export const OPERATIONAL_TABLES = [
  "work_items",
  "event_outbox",
  "idempotency_keys",
  "lead_suppressions",
  "campaign_recipients",
] as const;

export async function seedDemoData(pool: pg.Pool, options: SeedOptions): Promise<SeedReport> {
  const started = performance.now();
  const seed = options.seed ?? 42;
  const spanDays = options.spanDays ?? 180;
  const chunkSize = options.chunkSize ?? 2_000;
  const anchor = options.anchor ?? new Date(new Date().toISOString().slice(0, 10));
  const anchorMs = anchor.getTime();
  const rng = new Rng(seed);
  const faker = new Faker({ locale: [en_US, en, base] });
  faker.seed(seed);
  const counts: Record<string, number> = {};
  const add = (table: string, n: number) => {
    counts[table] = (counts[table] ?? 0) + n;
  };

  const validator = new EventValidator();
  const runId = `seed-${seed}`;
  const client = await pool.connect();
  try {
    if (options.reset) {
      await client.query(`TRUNCATE ${[...OPERATIONAL_TABLES, ...APPLICATION_TABLES].join(", ")}`);
      // History starts over: the rollup seal (migration 0016) kept the closed counts of days whose rows retention
      // purged, and those rows' days belong to the data just deleted. Unsealed, the TRUNCATE's '-infinity' mark
      // makes the next refresh recount every closed day from the new rows.
      await client.query("UPDATE rollup_horizon SET sealed_before = '-infinity'");
    }
    const world: SeedWorld = {
      rng,
      faker,
      anchorMs,
      spanDays,
      emailsPerLead: options.emailsPerLead ?? 2.4,
      campaigns: CAMPAIGNS.map((spec) => ({ id: rng.uuid(), spec })),
      abTests: [],
      scrapingJobs: new Map(),
    };
    const firstId = world.campaigns[0]?.id;
    const clash = await client.query("SELECT 1 FROM campaigns WHERE id = $1", [firstId]);
    if (clash.rowCount) {
      throw new SeedConflictError(
        `The dataset for seed ${seed} is already loaded. Use --reset to replace the data, or --seed <n> for another dataset.`,
      );
    }
    world.abTests = AB_TESTS.map((spec) => ({ id: rng.uuid(), spec }));
    const historyStart = anchorMs - (spanDays + 7) * DAY;

    await client.query("BEGIN");
    await client.query("SET LOCAL synchronous_commit = off");
    await ensurePartitionsBetween(
      client,
      "email_sends",
      new Date(historyStart),
      new Date(anchorMs + 90 * DAY),
    );
    await ensurePartitionsBetween(
      client,
      "ai_gym_performance",
      new Date(historyStart),
      new Date(anchorMs + 90 * DAY),
    );
    for (const { id, spec } of world.campaigns) {
      await client.query(
        `INSERT INTO campaigns (id, name, source_types, filters, daily_limit, send_window, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          id,
          spec.name,
          spec.sourceTypes,
          JSON.stringify({ industry: [spec.industry], country: [spec.countryCode], min_reviews: 5 }),
          spec.dailyLimit,
          JSON.stringify({
            timezone: spec.timezone,
            days: ["mon", "tue", "wed", "thu", "fri"],
            start_hour: 9,
            end_hour: 17,
          }),
          spec.status,
          ts(historyStart),
        ],
      );
      await audit(client, "campaign.created", "campaign", id, historyStart);
    }
    add("campaigns", world.campaigns.length);
    for (const { id, spec } of world.abTests) {
      const campaignId = world.campaigns[spec.campaignIndex]?.id;
      const decidedMs = spec.status === "completed" ? anchorMs - 30 * DAY : null;
      await client.query(
        `INSERT INTO ab_tests (id, name, element_type, variants, split_ratio, status, created_at, campaign_id,
                               winning_variant, decided_at, min_sample_per_variant, decision_state, decided_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text, $10, $11,
                 CASE WHEN $9::text IS NULL THEN 'collecting' ELSE 'decided' END,
                 CASE WHEN $9::text IS NOT NULL THEN 'manual' END)`,
        [
          id,
          spec.name,
          spec.elementType,
          JSON.stringify(spec.variants),
          JSON.stringify(spec.splitRatio),
          spec.status,
          ts(historyStart),
          campaignId,
          spec.winningVariant ?? null,
          ts(decidedMs),
          spec.minSamplePerVariant ?? 200,
        ],
      );
      await audit(client, "ab_test.created", "ab_test", id, historyStart);
      if (decidedMs !== null) await audit(client, "ab_test.decided", "ab_test", id, decidedMs);
    }
    add("ab_tests", world.abTests.length);
    // One scraping job per platform and month of history.
    const jobRows: unknown[][] = [];
    for (
      let m = new Date(historyStart);
      m.getTime() <= anchorMs;
      m = new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1))
    ) {
      const month = m.toISOString().slice(0, 7);
      const startMs = Date.UTC(m.getUTCFullYear(), m.getUTCMonth(), 1);
      for (const platform of SOURCE_PLATFORMS) {
        const id = rng.uuid();
        world.scrapingJobs.set(`${platform}:${month}`, id);
        const finishedMs = startMs + 2 * DAY;
        const running = finishedMs > anchorMs;
        jobRows.push([
          id,
          platform,
          JSON.stringify({ keywords: ["local business"], month }),
          JSON.stringify({ has_website: true }),
          running ? "running" : "completed",
          ts(startMs),
          ts(startMs + 60_000),
          ts(running ? null : finishedMs),
          ts(Math.min(finishedMs, anchorMs)),
        ]);
      }
    }
    for (const row of jobRows) {
      await client.query(
        `INSERT INTO scraping_jobs (id, source_type, query, filters, status, created_at, started_at, finished_at,
                                    updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        row,
      );
      await audit(client, "scraping_job.created", "scraping_job", String(row[0]), historyStart);
    }
    add("scraping_jobs", jobRows.length);
    await client.query("COMMIT");

    let leadsDone = 0;
    let rowsWritten = Object.values(counts).reduce((a, b) => a + b, 0);
    while (leadsDone < options.leads) {
      const n = Math.min(chunkSize, options.leads - leadsDone);
      const rows = emptyRows();
      for (let i = 0; i < n; i++) generateLead(world, rows);
      await client.query("BEGIN");
      await client.query("SET LOCAL synchronous_commit = off");
      // Leads and AI-GYM records go through the bulk path the API's :bulk endpoints use (COPY, the same
      // encryption, tokens, audit and events); atomic, so a row the path refuses fails the seed rather than
      // silently leaving a hole. The other tables have no bulk path of their own.
      const uow = new UnitOfWork(client, anchor, SEED_PRINCIPAL, runId, runId, validator, pool);
      for (const table of SEED_TABLES) {
        const written =
          table === "leads"
            ? (await loadLeads(uow, leadItems(rows.leads), { atomic: true })).accepted
            : table === "ai_gym_performance"
              ? (await loadAiGymRecords(uow, aiGymItems(rows.ai_gym_performance), { atomic: true })).accepted
              : await bulkInsert(client, table, SEED_COLUMNS[table], rows[table]);
        add(table, written);
        rowsWritten += written;
      }
      await uow.flush();
      await client.query("COMMIT");
      leadsDone += n;
      options.onProgress?.(leadsDone, rowsWritten);
    }

    // An unsubscribe reply suppresses the lead in every campaign (README "Reply taxonomy"), as the API does.
    await client.query(
      `UPDATE leads l SET unsubscribed_at = u.first_at
         FROM (SELECT c.lead_id, min(m.sent_at) AS first_at
                 FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
                WHERE m.direction = 'inbound'
                  AND COALESCE(m.reply_category_corrected, m.reply_category) = 'unsubscribe'
                GROUP BY c.lead_id) u
        WHERE l.id = u.lead_id`,
    );
    await client.query(
      `UPDATE scraping_jobs j SET leads_found = s.n, leads_created = s.n
       FROM (SELECT scraping_job_id, count(*)::int AS n FROM leads GROUP BY scraping_job_id) s
       WHERE s.scraping_job_id = j.id`,
    );
    counts.audit_log =
      (await client.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log")).rows[0]?.n ?? 0;
    await client.query(`ANALYZE ${APPLICATION_TABLES.join(", ")}`);
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
  const seconds = (performance.now() - started) / 1000;
  const totalRows = Object.values(counts).reduce((a, b) => a + b, 0);
  return { rows: counts, totalRows, seconds, rowsPerSecond: totalRows / seconds };
}

const SEED_PRINCIPAL: Principal = { type: "system", id: "seed" };

/** `ts()` strings are naive UTC timestamps. */
const utc = (s: unknown): Date => new Date(`${String(s)}Z`);
const text = (v: unknown): string | undefined => (v === null || v === undefined ? undefined : String(v));

/** The generator's lead rows (SEED_COLUMNS.leads order) as bulk-load items; the tokens are the path's to compute. */
async function* leadItems(rows: readonly unknown[][]): AsyncGenerator<BulkItem<LeadBulkRow>> {
  for (const [i, r] of rows.entries()) {
    const [id, company_name, website, domain, contact_name, contact_title, contact_email, contact_phone] = r;
    const [industry, city, region, country_code, employee_count, status, created_at, updated_at] = r.slice(8);
    const [source_platform, consent_source, consent_timestamp, consent_proof_url, scraping_job_id] =
      r.slice(16);
    yield {
      line: i + 1,
      value: {
        id: String(id),
        company_name: String(company_name),
        website: text(website),
        domain: text(domain),
        contact_name: text(contact_name),
        contact_title: text(contact_title),
        contact_email: text(contact_email),
        contact_phone: text(contact_phone),
        industry: text(industry),
        city: text(city),
        region: text(region),
        country_code: text(country_code),
        employee_count: employee_count === null ? undefined : Number(employee_count),
        status: String(status),
        created_at: utc(created_at),
        updated_at: utc(updated_at),
        source_platform: String(source_platform),
        consent_source: String(consent_source),
        consent_timestamp: utc(consent_timestamp),
        consent_proof_url: text(consent_proof_url),
        scraping_job_id: text(scraping_job_id) ?? null,
      },
    };
  }
}

/** The generator's AI-GYM rows (SEED_COLUMNS.ai_gym_performance order) as bulk-load items. */
async function* aiGymItems(rows: readonly unknown[][]): AsyncGenerator<BulkItem<AiGymBulkRecord>> {
  for (const [i, r] of rows.entries()) {
    const [id, task_type, model_name, lead_id, cost, duration_seconds, quality_score, conversion_metric] = r;
    const [metadata, created_at, prompt_hash, response_hash] = r.slice(8);
    yield {
      line: i + 1,
      value: {
        id: String(id),
        task_type: String(task_type),
        model_name: String(model_name),
        lead_id: text(lead_id),
        cost: Number(cost),
        duration_seconds: Number(duration_seconds),
        quality_score: quality_score === null ? null : Number(quality_score),
        conversion_metric: conversion_metric === null ? null : Number(conversion_metric),
        metadata: metadata === null ? null : (JSON.parse(String(metadata)) as Record<string, unknown>),
        created_at: utc(created_at),
        prompt_hash: text(prompt_hash),
        response_hash: text(response_hash),
      },
    };
  }
}

async function audit(
  client: pg.PoolClient,
  action: string,
  resourceType: string,
  resourceId: string,
  atMs: number,
) {
  await client.query(
    `INSERT INTO audit_log (occurred_at, principal_type, principal_id, action, resource_type, resource_id, request_id)
     VALUES ($1, 'system', 'seed', $2, $3, $4, NULL)`,
    [ts(atMs), action, resourceType, resourceId],
  );
}
