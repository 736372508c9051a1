import { z } from "zod";
import { liftSuppression, listSuppressions, type SuppressionRow } from "../../domain/suppressions.js";
import { defineRoute } from "../route.js";
import {
  decodeCursor,
  IdParams,
  iso,
  NullableTimestamp,
  Page,
  PageQueryShape,
  Timestamp,
  toPage,
  Uuid,
} from "../schemas.js";

export const SuppressionResponse = z
  .object({
    id: Uuid,
    kind: z
      .enum(["email", "domain"])
      .meta({ description: "Which of the erased lead's values is suppressed." }),
    lead_id: Uuid.nullable().meta({ description: "The erased lead (a tombstone without PII)." }),
    token_key_id: z
      .string()
      .meta({ description: "The tokenization key that made the token (key rotation)." }),
    created_at: Timestamp,
    lifted_at: NullableTimestamp,
    lifted_by: z.string().nullable(),
  })
  .meta({ id: "Suppression" });

function suppressionResponse(r: SuppressionRow): z.input<typeof SuppressionResponse> {
  return { ...r, created_at: iso(r.created_at), lifted_at: iso(r.lifted_at) };
}

export const ListSuppressionsQuery = z.strictObject({
  ...PageQueryShape,
  lead_id: Uuid.optional(),
  active: z
    .enum(["true", "false"])
    .transform((v) => v === "true")
    .optional()
    .meta({ description: "Only active (true) or only lifted (false) suppressions." }),
});

export const listSuppressionsRoute = defineRoute({
  method: "get",
  path: "/api/v2/suppressions",
  operationId: "listSuppressions",
  summary: "List suppressions of erased leads (oldest first, cursor-paginated)",
  description:
    "Erasing a lead keeps keyed tokens (HMAC-SHA256) of its domain and contact email, never the values, so that " +
    "ingesting the same lead again answers 409 `lead-suppressed`.",
  tags: ["Compliance"],
  scope: "admin",
  query: ListSuppressionsQuery,
  response: { status: 200, description: "A page of suppressions.", schema: Page(SuppressionResponse) },
  handler: async ({ query }, { db }) => {
    const rows = await listSuppressions(db, { ...query, after: decodeCursor(query.cursor) });
    return toPage(rows, query.limit, (r) => ({ at: r.created_at, id: r.id }), suppressionResponse);
  },
});

export const liftSuppressionRoute = defineRoute({
  method: "delete",
  path: "/api/v2/suppressions/{id}",
  operationId: "liftSuppression",
  summary: "Lift a suppression",
  description:
    "The erased lead's domain or email may be ingested again. Audited; idempotent (lifting a lifted " +
    "suppression answers it unchanged).",
  tags: ["Compliance"],
  scope: "admin",
  params: IdParams,
  response: { status: 200, description: "The lifted suppression.", schema: SuppressionResponse },
  errors: [404],
  handler: async ({ params }, uow) => suppressionResponse(await liftSuppression(uow, params.id)),
});

export const suppressionRoutes = [listSuppressionsRoute, liftSuppressionRoute];
