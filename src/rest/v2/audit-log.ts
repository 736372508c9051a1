import { z } from "zod";
import { decodeAuditCursor, encodeAuditCursor, readAuditLog } from "../../domain/audit-log.js";
import { defineRoute } from "../route.js";
import { Timestamp } from "../schemas.js";

/** Largest page; documented in the OpenAPI document through the schema's maximum. */
export const AUDIT_LOG_MAX_LIMIT = 1000;

const ResourceType = z.string().regex(/^[a-z][a-z0-9_]{0,49}$/);

/** `lead` or `lead:<id>`: a resource type, optionally one resource of it (everything after the first colon). */
const ResourceFilter = z
  .string()
  .max(306)
  .transform((s, ctx) => {
    const colon = s.indexOf(":");
    const type = colon < 0 ? s : s.slice(0, colon);
    const id = colon < 0 ? undefined : s.slice(colon + 1);
    if (!ResourceType.safeParse(type).success || (id !== undefined && (id.length < 1 || id.length > 255))) {
      ctx.addIssue({
        code: "custom",
        message: "must be a resource type such as lead, or type:id such as lead:<uuid>",
      });
      return z.NEVER;
    }
    return { type, id };
  });

export const AuditLogQuery = z.strictObject({
  resource: ResourceFilter.optional().meta({
    description:
      "Only rows about this resource type (`lead`, `campaign`, `email_send`, `api_key`, …), or about one " +
      "resource: `type:id`, e.g. `lead:3f2c…`. The id is everything after the first colon, compared exactly.",
  }),
  action: z
    .string()
    .regex(/^[a-z][a-z0-9_.]{0,99}$/, "must be an action such as lead.created")
    .optional()
    .meta({ description: "Only rows with exactly this action, e.g. `lead.erased`, `api_key.revoked`." }),
  after: z
    .string()
    .max(100)
    .optional()
    .meta({ description: "`page.next_cursor` of the previous page; omit to start at the oldest row." }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(AUDIT_LOG_MAX_LIMIT)
    .default(100)
    .meta({
      description: `Rows per page, 1–${AUDIT_LOG_MAX_LIMIT} (default 100); outside that range is a 422.`,
    }),
});

export const AuditLogEntryResponse = z
  .object({
    id: z
      .string()
      .regex(/^\d+$/)
      .meta({ description: "Increasing row id (a 64-bit integer, as a string); the order of the log." }),
    occurred_at: Timestamp,
    principal_type: z.string().meta({ description: "`api_key`, or `system` for CLI and start-up actions." }),
    principal_id: z.string().meta({ description: "The API key's id, or which system part acted." }),
    action: z.string().meta({ example: "lead.created" }),
    resource_type: z.string().meta({ example: "lead" }),
    resource_id: z.string().nullable(),
    request_id: z.string().nullable().meta({ description: "The X-Request-Id of the writing request." }),
    details: z
      .record(z.string(), z.unknown())
      .nullable()
      .meta({ description: "Ids, states and counts; never personal data." }),
  })
  .meta({ id: "AuditLogEntry" });

export const AuditLogPageResponse = z
  .object({
    data: z.array(AuditLogEntryResponse),
    page: z.object({
      next_cursor: z
        .string()
        .meta({ description: "Pass as `after` to continue; unchanged when there is nothing new." }),
      limit: z.number().int(),
    }),
  })
  .meta({ id: "AuditLogPage" });

export const listAuditLogRoute = defineRoute({
  method: "get",
  path: "/api/v2/audit-log",
  operationId: "listAuditLog",
  summary: "Page through the audit log (who changed what, when)",
  description:
    "The append-only audit trail of spec §5: one row per change made through the API (and per API key created or " +
    "revoked), written in the same transaction as the change. Oldest first, in id order; start without `after` " +
    "and continue with `page.next_cursor`, which can also be kept to poll for newer rows. Rows hold ids, states " +
    "and counts, never personal data. Ids are taken when a row is written, so a row whose transaction was still " +
    "committing while you read can appear with an id just below a cursor you already hold. Needs an admin key " +
    "(403 for any other scope). A `limit` outside 1–1000, a malformed `resource` or `action`, or an `after` this " +
    "API did not issue is a 422 whose `errors` name the parameter.",
  tags: ["Audit"],
  scope: "admin",
  query: AuditLogQuery,
  response: {
    status: 200,
    description: "Audit rows after the cursor, oldest first.",
    schema: AuditLogPageResponse,
  },
  handler: async ({ query }, { db }) => {
    const afterId = decodeAuditCursor(query.after);
    const rows = await readAuditLog(db, {
      afterId,
      resourceType: query.resource?.type,
      resourceId: query.resource?.id,
      action: query.action,
      limit: query.limit,
    });
    return {
      data: rows.map((r) => ({ ...r, occurred_at: r.occurred_at.toISOString() })),
      page: { next_cursor: encodeAuditCursor(rows.at(-1)?.id ?? afterId), limit: query.limit },
    };
  },
});

export const auditLogRoutes = [listAuditLogRoute];
