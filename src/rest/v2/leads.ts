import { z } from "zod";
import { eraseLead } from "../../domain/erase-lead.js";
import {
  getLead,
  type IngestResult,
  ingestLeads,
  ingestLeadsOfMany,
  type LeadRow,
  listLeads,
} from "../../domain/leads.js";
import { loadLeads } from "../../domain/leads-bulk.js";
import { defineNdjsonRoute, defineRoute } from "../route.js";
import {
  BULK_LOAD_DESCRIPTION,
  BulkLoadQueryShape,
  BulkLoadReportShape,
  decodeCursor,
  HttpUrl,
  IdParams,
  iso,
  NullableTimestamp,
  occurredAtInput,
  Page,
  PageQueryShape,
  Timestamp,
  toPage,
  Uuid,
} from "../schemas.js";

export const LeadInput = z
  .strictObject({
    company_name: z.string().trim().min(1).max(255),
    website: HttpUrl.optional(),
    domain: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^(?!-)[a-z0-9-]{1,63}(\.[a-z0-9-]{1,63})+\.?$/, "must be a domain name such as example.com")
      .max(255)
      .optional(),
    source_platform: z.string().trim().min(1).max(50),
    contact_name: z.string().trim().max(255).optional(),
    contact_title: z.string().trim().max(120).optional(),
    contact_email: z.email().max(255).optional(),
    contact_phone: z.string().trim().max(50).optional(),
    industry: z.string().trim().max(100).optional(),
    city: z.string().trim().max(100).optional(),
    region: z.string().trim().max(100).optional(),
    country_code: z
      .string()
      .regex(/^[A-Za-z]{2}$/, "ISO 3166-1 alpha-2")
      .transform((s) => s.toUpperCase())
      .optional(),
    employee_count: z.number().int().min(0).max(10_000_000).optional(),
    consent_source: z
      .string()
      .trim()
      .min(1)
      .max(255)
      .meta({ description: "Where consent came from (spec §5)." }),
    consent_timestamp: occurredAtInput("When consent was given (spec §5)."),
    consent_proof_url: HttpUrl.optional().meta({ description: "Link to the proof of consent (spec §5)." }),
  })
  .refine((l) => l.website !== undefined || l.domain !== undefined, {
    message: "needs a website or a domain",
    path: ["website"],
  })
  .meta({ id: "LeadInput" });

export const IngestLeadsBody = z
  .strictObject({
    scraping_job_id: Uuid.optional().meta({ description: "The scraping job that found these leads." }),
    leads: z.array(LeadInput).min(1).max(1000),
  })
  .meta({ id: "IngestLeadsBody" });

export const IngestLeadsResponse = z
  .object({
    data: z.array(
      z.object({
        id: Uuid,
        domain: z.string(),
        source_platform: z.string(),
        outcome: z.enum(["created", "updated"]),
      }),
    ),
    meta: z.object({ created: z.number().int(), updated: z.number().int() }),
  })
  .meta({ id: "IngestLeadsResponse" });

export const LeadResponse = z
  .object({
    id: Uuid,
    company_name: z.string(),
    website: z.string().nullable(),
    domain: z.string().nullable(),
    source_platform: z.string().nullable(),
    contact_name: z.string().nullable(),
    contact_title: z.string().nullable(),
    contact_email: z.string().nullable(),
    contact_phone: z.string().nullable(),
    industry: z.string().nullable(),
    city: z.string().nullable(),
    region: z.string().nullable(),
    country_code: z.string().nullable(),
    employee_count: z.number().int().nullable(),
    status: z.string(),
    consent_source: z.string().nullable(),
    consent_timestamp: NullableTimestamp,
    consent_proof_url: z.string().nullable(),
    scraping_job_id: Uuid.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Lead" });

export function leadResponse(r: LeadRow): z.input<typeof LeadResponse> {
  return {
    ...r,
    consent_timestamp: iso(r.consent_timestamp),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export const ListLeadsQuery = z.strictObject({
  ...PageQueryShape,
  source_platform: z.string().max(50).optional(),
  status: z.string().max(20).optional(),
  scraping_job_id: Uuid.optional(),
});

export const ingestLeadsRoute = defineRoute({
  method: "post",
  path: "/api/v2/leads",
  operationId: "ingestLeads",
  summary: "Upsert a batch of leads",
  description:
    "Creates or updates up to 1000 leads by their natural key (domain, source_platform). The domain comes from " +
    "`domain` or the website's host. Emits `lead.scraped` for each lead.",
  tags: ["Leads"],
  scope: "ingest",
  body: IngestLeadsBody,
  bodyLimit: "5mb",
  response: {
    status: 200,
    description: "Each lead's id and whether it was created or updated.",
    schema: IngestLeadsResponse,
  },
  handler: async ({ body }, uow) => ingestAnswer(await ingestLeads(uow, body)),
  group: {
    key: ({ body }) => body.scraping_job_id ?? "",
    handler: async (members) =>
      (await ingestLeadsOfMany(members.map(({ input, uow }) => ({ uow, input: input.body })))).map(
        ingestAnswer,
      ),
  },
});

function ingestAnswer(data: IngestResult[]) {
  const created = data.filter((d) => d.outcome === "created").length;
  return { data, meta: { created, updated: data.length - created } };
}

export const getLeadRoute = defineRoute({
  method: "get",
  path: "/api/v2/leads/{id}",
  operationId: "getLead",
  summary: "Get a lead",
  tags: ["Leads"],
  scope: "ingest",
  params: IdParams,
  response: { status: 200, description: "The lead.", schema: LeadResponse },
  errors: [404],
  handler: async ({ params }, { db }) => leadResponse(await getLead(db, params.id)),
});

export const listLeadsRoute = defineRoute({
  method: "get",
  path: "/api/v2/leads",
  operationId: "listLeads",
  summary: "List leads (oldest first, cursor-paginated)",
  tags: ["Leads"],
  scope: "ingest",
  query: ListLeadsQuery,
  response: { status: 200, description: "A page of leads.", schema: Page(LeadResponse) },
  handler: async ({ query }, { db }) => {
    const rows = await listLeads(db, { ...query, after: decodeCursor(query.cursor) });
    return toPage(rows, query.limit, (r) => ({ at: r.created_at, id: r.id }), leadResponse);
  },
});

export const EraseLeadResponse = z
  .object({
    id: Uuid,
    erased: z.record(z.string(), z.number().int()).meta({
      description:
        "Rows stripped of the lead's personal data per table (the rows themselves stay, so metrics are kept), " +
        "work items deleted, events redacted, stored idempotent responses deleted and suppressions recorded. " +
        "All zero when the lead had already been erased.",
    }),
    erased_at: Timestamp.optional().meta({
      description: "When the lead was erased (this or an earlier request).",
    }),
    already_erased: z
      .boolean()
      .optional()
      .meta({ description: "True when an earlier request erased the lead." }),
  })
  .meta({ id: "EraseLeadResponse" });

export const eraseLeadRoute = defineRoute({
  method: "delete",
  path: "/api/v2/leads/{id}",
  operationId: "eraseLead",
  summary: "Erase a lead (GDPR right to erasure)",
  description:
    "Erases the lead's personal data everywhere in one transaction and keeps anonymised metrics: the lead becomes " +
    "a tombstone without PII, and its analyses, demos, videos, emails, conversations, meetings, deals and AI-GYM " +
    "records stay attached to it with names, addresses, phone, subjects, bodies and URLs stripped, so every " +
    "analytics answer is unchanged. Queued work is deleted and queued emails fail. The keyed tokens of the lead's " +
    "domain and contact email are kept as suppressions: ingesting the same lead again answers 409 " +
    "`lead-suppressed` until an admin lifts them. Idempotent: erasing an erased lead changes nothing. " +
    "Emits `lead.erased`.",
  tags: ["Leads"],
  scope: "admin",
  params: IdParams,
  response: { status: 200, description: "What was erased.", schema: EraseLeadResponse },
  errors: [404],
  handler: async ({ params }, uow) => {
    const outcome = await eraseLead(uow, params.id);
    return {
      id: params.id,
      erased: outcome.report,
      erased_at: iso(outcome.erasedAt),
      already_erased: outcome.alreadyErased,
    };
  },
});

export const BulkLoadLeadsQuery = z.strictObject({
  ...BulkLoadQueryShape,
  scraping_job_id: Uuid.optional().meta({ description: "The scraping job that found these leads." }),
});
export const BulkLoadLeadsResponse = z
  .object({
    ...BulkLoadReportShape,
    created: z.number().int().meta({ description: "Accepted lines that created a lead." }),
    updated: z.number().int().meta({ description: "Accepted lines that updated a lead with the same key." }),
  })
  .meta({ id: "BulkLoadLeadsResponse" });

export const bulkLoadLeadsRoute = defineNdjsonRoute({
  method: "post",
  path: "/api/v2/leads:bulk",
  operationId: "bulkLoadLeads",
  summary: "Bulk-upsert leads from streamed NDJSON",
  description:
    `One \`LeadInput\` per line. ${BULK_LOAD_DESCRIPTION} Each line is upserted by (domain, source_platform) ` +
    "exactly as `POST /api/v2/leads` does (contact details encrypted, tokens for suppression lookups, newer " +
    "non-null values win). Refused lines: one with the same domain and source_platform as an earlier line, and one " +
    "whose domain or contact email is suppressed (`suppression_id` names the suppression). Each stored lead gets " +
    "its `lead.created`/`lead.updated` audit entry and `lead.scraped` event, as single writes do, and the load one " +
    "`lead.bulk_loaded` audit entry.",
  tags: ["Leads"],
  scope: "ingest",
  query: BulkLoadLeadsQuery,
  ndjson: { item: LeadInput },
  response: {
    status: 200,
    description: "What was stored and what was refused.",
    schema: BulkLoadLeadsResponse,
  },
  errors: [413],
  handler: ({ query, body }, uow) =>
    loadLeads(uow, body.items(LeadInput), { atomic: query.atomic, scrapingJobId: query.scraping_job_id }),
});

export const leadRoutes = [
  ingestLeadsRoute,
  bulkLoadLeadsRoute,
  listLeadsRoute,
  getLeadRoute,
  eraseLeadRoute,
];
