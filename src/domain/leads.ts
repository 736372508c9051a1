import type pg from "pg";
import { decryptField, encryptField } from "../compliance/field-encryption.js";
import { domainToken, emailToken, lookupTokens } from "../compliance/tokens.js";
import { type FieldError, LeadSuppressedError, NotFoundError, UnprocessableError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * How a lead already stored under (domain, source_platform) takes a new scrape of it: the new company name, consent
 * and domain token; every other field only when the new scrape has it. One rule for the single, batch and bulk
 * paths (an `INSERT INTO leads … ON CONFLICT` with `EXCLUDED` the new row).
 */
export const LEAD_UPSERT = `ON CONFLICT (domain, source_platform) DO UPDATE SET
  company_name = EXCLUDED.company_name,
  website = COALESCE(EXCLUDED.website, leads.website),
  contact_name = COALESCE(EXCLUDED.contact_name, leads.contact_name),
  contact_title = COALESCE(EXCLUDED.contact_title, leads.contact_title),
  contact_email = COALESCE(EXCLUDED.contact_email, leads.contact_email),
  contact_phone = COALESCE(EXCLUDED.contact_phone, leads.contact_phone),
  industry = COALESCE(EXCLUDED.industry, leads.industry),
  city = COALESCE(EXCLUDED.city, leads.city),
  region = COALESCE(EXCLUDED.region, leads.region),
  country_code = COALESCE(EXCLUDED.country_code, leads.country_code),
  employee_count = COALESCE(EXCLUDED.employee_count, leads.employee_count),
  consent_source = EXCLUDED.consent_source,
  consent_timestamp = EXCLUDED.consent_timestamp,
  consent_proof_url = COALESCE(EXCLUDED.consent_proof_url, leads.consent_proof_url),
  email_token = COALESCE(EXCLUDED.email_token, leads.email_token),
  domain_token = EXCLUDED.domain_token,
  scraping_job_id = COALESCE(EXCLUDED.scraping_job_id, leads.scraping_job_id),
  updated_at = EXCLUDED.updated_at`;

export type LeadInput = {
  company_name: string;
  website?: string | undefined;
  domain?: string | undefined;
  source_platform: string;
  contact_name?: string | undefined;
  contact_title?: string | undefined;
  contact_email?: string | undefined;
  contact_phone?: string | undefined;
  industry?: string | undefined;
  city?: string | undefined;
  region?: string | undefined;
  country_code?: string | undefined;
  employee_count?: number | undefined;
  consent_source: string;
  consent_timestamp: Date;
  consent_proof_url?: string | undefined;
};

export type LeadRow = {
  id: string;
  company_name: string;
  website: string | null;
  domain: string | null;
  source_platform: string | null;
  contact_name: string | null;
  contact_title: string | null;
  contact_email: string | null;
  contact_phone: string | null;
  industry: string | null;
  city: string | null;
  region: string | null;
  country_code: string | null;
  employee_count: number | null;
  status: string;
  consent_source: string | null;
  consent_timestamp: Date | null;
  consent_proof_url: string | null;
  scraping_job_id: string | null;
  created_at: Date;
  updated_at: Date;
};

export const LEAD_COLUMNS = `id, company_name, website, domain, source_platform, contact_name, contact_title, contact_email,
  contact_phone, industry, city, region, country_code, employee_count, status, consent_source, consent_timestamp,
  consent_proof_url, scraping_job_id, created_at, updated_at`;

/** The natural key's domain: the host of the website or the given domain, lower-cased, without `www.`. */
export function normaliseDomain(input: {
  website?: string | undefined;
  domain?: string | undefined;
}): string | null {
  let host = input.domain?.trim();
  if (!host && input.website) {
    try {
      host = new URL(input.website).hostname;
    } catch {
      return null;
    }
  }
  if (!host) return null;
  return host
    .toLowerCase()
    .replace(/^www\./, "")
    .replace(/\.$/, "");
}

export type IngestResult = {
  id: string;
  domain: string;
  source_platform: string;
  outcome: "created" | "updated";
};

/**
 * Upserts a batch of leads by (domain, source_platform) in one statement: newer non-null values win, missing ones
 * keep what is stored. Emits `lead.scraped` and audits each lead; counts the batch into its scraping job.
 */
export async function ingestLeads(
  uow: UnitOfWork,
  input: { scraping_job_id?: string | undefined; leads: LeadInput[] },
): Promise<IngestResult[]> {
  const [results] = await ingestLeadsOfMany([{ uow, input }]);
  return results ?? [];
}

/**
 * ingestLeads for several requests sharing one transaction (group commit), all for the same scraping job (or none):
 * one suppression check, one upsert and one scraping-job update for all of them, each request's audits and events on
 * its own UnitOfWork. Refuses all of them when any one would be refused alone (with that request's errors), and when
 * two of them upsert the same lead, which one statement cannot do twice; the caller then runs each alone.
 */
export async function ingestLeadsOfMany(
  parts: readonly { uow: UnitOfWork; input: { scraping_job_id?: string | undefined; leads: LeadInput[] } }[],
): Promise<IngestResult[][]> {
  const first = parts[0];
  if (!first) return [];
  const jobId = first.input.scraping_job_id;
  if (parts.some((p) => p.input.scraping_job_id !== jobId)) throw new Error("one scraping job per group");
  const seen = new Map<string, number>();
  const all = parts.flatMap(({ uow, input }, part) => {
    const domains = input.leads.map((l) => normaliseDomain(l));
    const errors = [];
    const own = new Map<string, number>();
    for (const [i, lead] of input.leads.entries()) {
      const domain = domains[i];
      if (!domain) {
        errors.push({
          location: "body" as const,
          path: `/leads/${i}`,
          message: "needs a website or a domain",
        });
        continue;
      }
      const key = `${domain}\u0000${lead.source_platform}`;
      const earlier = own.get(key);
      if (earlier !== undefined) {
        errors.push({
          location: "body" as const,
          path: `/leads/${i}`,
          message: `same domain and source_platform as /leads/${earlier}`,
        });
      }
      own.set(key, earlier ?? i);
      const otherPart = seen.get(key);
      if (otherPart !== undefined && otherPart !== part) throw new Error("two requests upsert the same lead");
      seen.set(key, part);
    }
    if (errors.length) throw new UnprocessableError("Some leads cannot be ingested.", errors);
    return input.leads.map((lead, i) => ({ uow, lead, domain: domains[i] ?? "", index: i, part }));
  });
  const tx = first.uow.tx;

  if (jobId) await assertScrapingJobExists(tx, jobId);
  await assertNotSuppressed(tx, all);
  // Rows go in in natural-key order so that two batches with overlapping leads lock them in the same order and
  // cannot deadlock; results are matched back to the input by key below.
  const order = [...all].sort((a, b) =>
    a.domain === b.domain
      ? a.lead.source_platform.localeCompare(b.lead.source_platform)
      : a.domain < b.domain
        ? -1
        : 1,
  );
  const col = <K extends keyof LeadInput>(k: K) => order.map(({ lead }) => lead[k] ?? null);
  // Contact PII is stored encrypted, with keyed tokens of the email and domain for lookups (issue 12, §5).
  const encrypted = (k: "contact_name" | "contact_email" | "contact_phone") =>
    order.map(({ lead }) => encryptField(lead[k]));
  const { rows } = await tx.query<{
    id: string;
    domain: string;
    source_platform: string;
    inserted: boolean;
    industry: string | null;
    country_code: string | null;
  }>({
    name: "lead-upsert",
    text: `INSERT INTO leads (company_name, website, domain, source_platform, contact_name, contact_title, contact_email,
                        contact_phone, industry, city, region, country_code, employee_count, consent_source,
                        consent_timestamp, consent_proof_url, email_token, domain_token, scraping_job_id, created_at,
                        updated_at)
     SELECT u.company_name, u.website, u.domain, u.source_platform, u.contact_name, u.contact_title, u.contact_email,
            u.contact_phone, u.industry, u.city, u.region, u.country_code, u.employee_count, u.consent_source,
            u.consent_timestamp, u.consent_proof_url, u.email_token, u.domain_token, $19::uuid, u.at, u.at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                   $9::text[], $10::text[], $11::text[], $12::text[], $13::int[], $14::text[], $15::timestamp[],
                   $16::text[], $17::text[], $18::text[], $20::timestamp[])
            AS u(company_name, website, domain, source_platform, contact_name, contact_title, contact_email,
                 contact_phone, industry, city, region, country_code, employee_count, consent_source,
                 consent_timestamp, consent_proof_url, email_token, domain_token, at)
     ${LEAD_UPSERT}
     RETURNING id, domain, source_platform, (xmax = 0) AS inserted, industry, country_code`,
    values: [
      col("company_name"),
      col("website"),
      order.map(({ domain }) => domain),
      col("source_platform"),
      encrypted("contact_name"),
      col("contact_title"),
      encrypted("contact_email"),
      encrypted("contact_phone"),
      col("industry"),
      col("city"),
      col("region"),
      col("country_code"),
      col("employee_count"),
      col("consent_source"),
      order.map(({ lead }) => lead.consent_timestamp.toISOString()),
      col("consent_proof_url"),
      order.map(({ lead }) => (lead.contact_email ? emailToken(lead.contact_email) : null)),
      order.map(({ domain }) => domainToken(domain)),
      jobId ?? null,
      order.map(({ uow }) => uow.now.toISOString()),
    ],
  });
  // RETURNING order follows the input for INSERT … SELECT FROM unnest, but match by key to be safe.
  const byKey = new Map(rows.map((r) => [`${r.domain}\u0000${r.source_platform}`, r]));
  const results: IngestResult[][] = parts.map(() => []);
  for (const { uow, lead, domain, part } of all) {
    const r = byKey.get(`${domain}\u0000${lead.source_platform}`);
    if (!r) throw new Error("upsert returned fewer rows than it was given");
    const outcome = r.inserted ? "created" : "updated";
    uow.audit({ action: `lead.${outcome}`, resourceType: "lead", resourceId: r.id });
    uow.emit("lead.scraped", {
      lead_id: r.id,
      scraping_job_id: jobId ?? null,
      source_platform: r.source_platform,
      industry: r.industry,
      country_code: r.country_code,
      outcome,
    });
    results[part]?.push({ id: r.id, domain: r.domain, source_platform: r.source_platform, outcome });
  }

  if (jobId) {
    const created = results.flat().filter((r) => r.outcome === "created").length;
    await tx.query(
      `UPDATE scraping_jobs
          SET leads_found = leads_found + $2, leads_created = leads_created + $3,
              leads_updated = leads_updated + $4, updated_at = $5
        WHERE id = $1`,
      [jobId, all.length, created, all.length - created, first.uow.now.toISOString()],
    );
  }
  return results;
}

/**
 * Refuses the batch when a lead in it was erased at its subject's request: an active suppression holds the token
 * of its domain or contact email under the current or a previous tokenization key (rotation).
 */
async function assertNotSuppressed(
  tx: pg.ClientBase,
  leads: readonly { lead: LeadInput; domain: string; index: number }[],
): Promise<void> {
  const wanted = leads.flatMap(({ lead, domain, index: i }) => [
    ...lookupTokens("domain", domain).map((token) => ({ i, kind: "domain" as const, token })),
    ...(lead.contact_email
      ? lookupTokens("email", lead.contact_email).map((token) => ({ i, kind: "email" as const, token }))
      : []),
  ]);
  const { rows } = await tx.query<{ id: string; kind: "email" | "domain"; token: string }>({
    name: "lead-suppression-check",
    text: `SELECT id, kind, token FROM lead_suppressions WHERE lifted_at IS NULL AND token = ANY($1::text[])`,
    values: [[...new Set(wanted.map((w) => w.token))]],
  });
  if (rows.length === 0) return;
  const byToken = new Map(rows.map((r) => [`${r.kind}:${r.token}`, r]));
  const errors: (FieldError & { suppression_id: string; kind: "email" | "domain" })[] = [];
  for (const w of wanted) {
    const hit = byToken.get(`${w.kind}:${w.token}`);
    if (!hit) continue;
    const path = w.kind === "email" ? `/leads/${w.i}/contact_email` : `/leads/${w.i}/domain`;
    errors.push({
      location: "body",
      path,
      message: `this ${w.kind} is suppressed`,
      suppression_id: hit.id,
      kind: w.kind,
    });
  }
  throw new LeadSuppressedError(errors);
}

async function assertScrapingJobExists(tx: pg.ClientBase, id: string): Promise<void> {
  const { rowCount } = await tx.query("SELECT 1 FROM scraping_jobs WHERE id = $1", [id]);
  if (!rowCount) {
    throw new UnprocessableError("The scraping job does not exist.", [
      { location: "body", path: "/scraping_job_id", message: `no scraping job ${id}` },
    ]);
  }
}

export async function getLead(db: pg.Pool | pg.ClientBase, id: string): Promise<LeadRow> {
  const { rows } = await db.query<LeadRow>(
    `SELECT ${LEAD_COLUMNS} FROM leads WHERE id = $1 AND erased_at IS NULL`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError("Lead", id);
  return decryptLead(row);
}

/** The stored row with its contact PII decrypted (rows written before encryption read as they are). */
function decryptLead(row: LeadRow): LeadRow {
  return {
    ...row,
    contact_name: decryptField(row.contact_name),
    contact_email: decryptField(row.contact_email),
    contact_phone: decryptField(row.contact_phone),
  };
}

/** Throws NotFound unless the lead exists; used before queuing work for it. */
export async function assertLeadExists(db: pg.ClientBase, id: string): Promise<void> {
  const { rowCount } = await db.query(`SELECT 1 FROM leads WHERE id = $1 AND erased_at IS NULL`, [id]);
  if (!rowCount) throw new NotFoundError("Lead", id);
}

export async function listLeads(
  db: pg.Pool,
  q: {
    limit: number;
    after: { at: Date; id: string } | null;
    source_platform?: string | undefined;
    status?: string | undefined;
    scraping_job_id?: string | undefined;
  },
): Promise<LeadRow[]> {
  const { rows } = await db.query<LeadRow>(
    `SELECT ${LEAD_COLUMNS} FROM leads
      WHERE erased_at IS NULL
        AND ($1::timestamp IS NULL OR (created_at, id) > ($1::timestamp, $2::uuid))
        AND ($3::text IS NULL OR source_platform = $3)
        AND ($4::text IS NULL OR status = $4)
        AND ($5::uuid IS NULL OR scraping_job_id = $5)
      ORDER BY created_at, id
      LIMIT $6`,
    [
      q.after?.at.toISOString() ?? null,
      q.after?.id ?? null,
      q.source_platform ?? null,
      q.status ?? null,
      q.scraping_job_id ?? null,
      q.limit + 1,
    ],
  );
  return rows.map(decryptLead);
}
