import { randomUUID } from "node:crypto";
import { encryptField } from "../compliance/field-encryption.js";
import { lookupTokens } from "../compliance/tokens.js";
import {
  type BulkItem,
  type BulkLineError,
  BulkLoadRefusedError,
  type BulkOptions,
  type BulkReport,
  DEFAULT_MAX_ERRORS,
  RejectionLog,
} from "./bulk/bulk-load.js";
import { copyLine, copyText } from "./bulk/copy-text.js";
import { UnprocessableError } from "./errors.js";
import { LEAD_UPSERT, type LeadInput, normaliseDomain } from "./leads.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * A row of a lead bulk load: what `POST /api/v2/leads` takes per lead, with the scraping job per row, plus what only
 * a trusted caller (the seeder) may set: the id, status and the row's own timestamps.
 */
export type LeadBulkRow = LeadInput & {
  scraping_job_id?: string | null | undefined;
  id?: string | undefined;
  status?: string | undefined;
  created_at?: Date | undefined;
  updated_at?: Date | undefined;
};

export type LeadBulkReport = BulkReport & { created: number; updated: number };

const STAGE_COLUMNS = `line, company_name, website, domain, source_platform, contact_name, contact_title, contact_email,
  contact_phone, industry, city, region, country_code, employee_count, consent_source, consent_timestamp,
  consent_proof_url, email_token, domain_token, email_lookup, domain_lookup, scraping_job_id, id, status, created_at,
  updated_at`;

/**
 * Loads leads with the semantics of `ingestLeads`, a line at a time instead of a batch at a time:
 *
 * 1. Each line is encrypted and tokenised exactly as `ingestLeads` does (contact name, email and phone encrypted;
 *    email and domain tokens) and streamed with `COPY` into a temporary staging table (ON COMMIT DROP). Node holds
 *    no more than one write buffer of the body, whatever its size.
 * 2. One pass in SQL refuses lines, each with its line number and field: a second line with the same natural key
 *    (domain, source_platform) as an earlier one (`ingestLeads` refuses such a batch), and a domain or contact email
 *    under an active suppression, current or previous tokenization key (`ingestLeads` answers 409 lead-suppressed;
 *    here only that line is refused). Erased leads are tombstones without a domain, so they never conflict.
 * 3. `INSERT … SELECT … ON CONFLICT (domain, source_platform) DO UPDATE` with the same merge rules as `ingestLeads`
 *    (newer non-null values win), in natural-key order so two concurrent loads lock in the same order; in the same
 *    statement each lead gets its `lead.created`/`lead.updated` audit row and its `lead.scraped` event, as single
 *    writes have (lineage reads the event's correlation id). Plus one `lead.bulk_loaded` audit entry for the load.
 */
export async function loadLeads(
  uow: UnitOfWork,
  items: AsyncIterable<BulkItem<LeadBulkRow>>,
  options: BulkOptions & { scrapingJobId?: string | undefined },
): Promise<LeadBulkReport> {
  const loadId = randomUUID();
  const maxErrors = options.maxErrors ?? DEFAULT_MAX_ERRORS;
  const log = new RejectionLog(maxErrors);
  const tx = uow.tx;
  if (options.scrapingJobId) {
    const { rowCount } = await tx.query("SELECT 1 FROM scraping_jobs WHERE id = $1", [options.scrapingJobId]);
    if (!rowCount) {
      throw new UnprocessableError("The scraping job does not exist.", [
        { location: "query", path: "/scraping_job_id", message: `no scraping job ${options.scrapingJobId}` },
      ]);
    }
  }
  await tx.query(
    `CREATE TEMP TABLE lead_bulk_stage (
       line int NOT NULL, company_name text, website text, domain text, source_platform text, contact_name text,
       contact_title text, contact_email text, contact_phone text, industry text, city text, region text,
       country_code text, employee_count int, consent_source text, consent_timestamp timestamp,
       consent_proof_url text, email_token text, domain_token text, email_lookup text[], domain_lookup text[],
       scraping_job_id uuid, id uuid, status text, created_at timestamp, updated_at timestamp
     ) ON COMMIT DROP`,
  );
  let staged = 0;
  const lines = async function* (): AsyncGenerator<string> {
    let text = "";
    for await (const item of items) {
      if ("errors" in item) {
        log.reject(item.line, item.errors);
        continue;
      }
      const lead = item.value;
      const domain = normaliseDomain(lead);
      if (!domain) {
        log.reject(item.line, [{ path: "/website", message: "needs a website or a domain" }]);
        continue;
      }
      const domainLookup = lookupTokens("domain", domain);
      const emailLookup = lead.contact_email ? lookupTokens("email", lead.contact_email) : null;
      text += copyLine([
        item.line,
        lead.company_name,
        lead.website,
        domain,
        lead.source_platform,
        encryptField(lead.contact_name),
        lead.contact_title,
        encryptField(lead.contact_email),
        encryptField(lead.contact_phone),
        lead.industry,
        lead.city,
        lead.region,
        lead.country_code,
        lead.employee_count,
        lead.consent_source,
        lead.consent_timestamp.toISOString(),
        lead.consent_proof_url,
        emailLookup?.[0] ?? null,
        domainLookup[0],
        emailLookup ? textArray(emailLookup) : null,
        textArray(domainLookup),
        lead.scraping_job_id ?? options.scrapingJobId ?? null,
        lead.id,
        lead.status,
        lead.created_at?.toISOString(),
        lead.updated_at?.toISOString(),
      ]);
      staged++;
      if (text.length > 256 * 1024) {
        yield text;
        text = "";
      }
    }
    if (text) yield text;
  };
  await copyText(tx, `COPY lead_bulk_stage (${STAGE_COLUMNS}) FROM STDIN`, lines());

  if (staged > 0) {
    // Refusals the database finds, each with the line's own JSON Pointer; kept in a table so they can be listed
    // (first lines first) and removed from the stage.
    await tx.query(
      `CREATE TEMP TABLE lead_bulk_refused ON COMMIT DROP AS
       SELECT d.line, '/domain'::text AS path,
              'same domain and source_platform as line ' || d.first_line AS message,
              NULL::uuid AS suppression_id, NULL::text AS kind
         FROM (SELECT line, min(line) OVER w AS first_line, row_number() OVER w AS n
                 FROM lead_bulk_stage WINDOW w AS (PARTITION BY domain, source_platform ORDER BY line)) d
        WHERE d.n > 1
       UNION ALL
       SELECT s.line, '/' || x.kind, 'this ' || x.kind || ' is suppressed', x.id, x.kind
         FROM lead_bulk_stage s
         CROSS JOIN LATERAL (
           SELECT p.id, p.kind FROM lead_suppressions p
            WHERE p.lifted_at IS NULL
              AND ((p.kind = 'domain' AND p.token = ANY (s.domain_lookup))
                OR (p.kind = 'email' AND p.token = ANY (s.email_lookup)))
            ORDER BY p.kind LIMIT 2) x`,
    );
    const { rows: refused } = await tx.query<{ lines: number; errors: number }>(
      `SELECT count(DISTINCT line)::int AS lines, count(*)::int AS errors FROM lead_bulk_refused`,
    );
    const counted = refused[0] ?? { lines: 0, errors: 0 };
    if (counted.errors > 0) {
      const { rows: listed } = await tx.query<{
        line: number;
        path: string;
        message: string;
        suppression_id: string | null;
        kind: string | null;
      }>(
        `SELECT line, replace(path, '/email', '/contact_email') AS path, message, suppression_id, kind
           FROM lead_bulk_refused ORDER BY line, path LIMIT $1`,
        [maxErrors],
      );
      log.rejectCounted(
        counted.lines,
        counted.errors,
        listed.map(
          (r): BulkLineError => ({
            line: r.line,
            path: r.path,
            message: r.message,
            ...(r.suppression_id ? { suppression_id: r.suppression_id, kind: r.kind } : {}),
          }),
        ),
      );
      await tx.query("DELETE FROM lead_bulk_stage s USING lead_bulk_refused r WHERE s.line = r.line");
    }
  }

  if (options.atomic && log.rejected > 0) {
    throw new BulkLoadRefusedError(log.report(loadId, 0));
  }
  let created = 0;
  let updated = 0;
  if (staged > 0) {
    const { rows } = await tx.query<{ created: number; updated: number }>(
      `WITH upserted AS (
         INSERT INTO leads (id, company_name, website, domain, source_platform, contact_name, contact_title,
                            contact_email, contact_phone, industry, city, region, country_code, employee_count,
                            consent_source, consent_timestamp, consent_proof_url, email_token, domain_token,
                            scraping_job_id, status, created_at, updated_at)
         SELECT COALESCE(s.id, gen_random_uuid()), s.company_name, s.website, s.domain, s.source_platform,
                s.contact_name, s.contact_title, s.contact_email, s.contact_phone, s.industry, s.city, s.region,
                s.country_code, s.employee_count, s.consent_source, s.consent_timestamp, s.consent_proof_url,
                s.email_token, s.domain_token, s.scraping_job_id, COALESCE(s.status, 'new'),
                COALESCE(s.created_at, $1::timestamp), COALESCE(s.updated_at, $1::timestamp)
           FROM lead_bulk_stage s
          ORDER BY s.domain, s.source_platform
         ${LEAD_UPSERT}
         RETURNING id, scraping_job_id, source_platform, industry, country_code, (xmax = 0) AS inserted
       ),
       audited AS (
         INSERT INTO audit_log (occurred_at, principal_type, principal_id, action, resource_type, resource_id,
                                request_id)
         SELECT $1, $2, $3, CASE WHEN u.inserted THEN 'lead.created' ELSE 'lead.updated' END, 'lead', u.id, $4
           FROM upserted u
       ),
       emitted AS (
         INSERT INTO event_outbox (id, type, version, occurred_at, correlation_id, payload)
         SELECT gen_random_uuid(), 'lead.scraped', 1, $1, $5,
                jsonb_build_object('lead_id', u.id, 'scraping_job_id', u.scraping_job_id,
                                   'source_platform', u.source_platform, 'industry', u.industry,
                                   'country_code', u.country_code,
                                   'outcome', CASE WHEN u.inserted THEN 'created' ELSE 'updated' END)
           FROM upserted u
       ),
       jobs AS (
         UPDATE scraping_jobs j
            SET leads_found = leads_found + c.found, leads_created = leads_created + c.created,
                leads_updated = leads_updated + c.found - c.created, updated_at = $1
           FROM (SELECT scraping_job_id, count(*)::int AS found, count(*) FILTER (WHERE inserted)::int AS created
                   FROM upserted WHERE scraping_job_id IS NOT NULL GROUP BY scraping_job_id) c
          WHERE j.id = c.scraping_job_id
       )
       SELECT count(*) FILTER (WHERE inserted)::int AS created, count(*) FILTER (WHERE NOT inserted)::int AS updated
         FROM upserted`,
      [uow.now.toISOString(), uow.principal.type, uow.principal.id, uow.requestId, uow.correlationId],
    );
    created = rows[0]?.created ?? 0;
    updated = rows[0]?.updated ?? 0;
  }
  const report = log.report(loadId, created + updated);
  uow.audit({
    action: "lead.bulk_loaded",
    resourceType: "lead_bulk_load",
    resourceId: loadId,
    details: {
      accepted: report.accepted,
      rejected: report.rejected,
      created,
      updated,
      atomic: options.atomic,
    },
  });
  return { ...report, created, updated };
}

/** A text[] literal for COPY (the tokens are hex, so no element needs quoting). */
function textArray(values: readonly string[]): string {
  return `{${values.join(",")}}`;
}
