import { z } from "zod";
import { recordAiGymPerformance, recordAiGymPerformanceOfMany } from "../../domain/ai-gym.js";
import { loadAiGymRecords } from "../../domain/ai-gym-bulk.js";
import { defineNdjsonRoute, defineRoute } from "../route.js";
import {
  BULK_LOAD_DESCRIPTION,
  BulkLoadQueryShape,
  BulkLoadReportShape,
  JsonObject,
  ModelName,
  occurredAtInput,
  Uuid,
} from "../schemas.js";
import { fastAiGymRecord } from "./ai-gym-fast-path.js";

const Sha256Hex = z.string().regex(/^[0-9a-fA-F]{64}$/, "must be a SHA-256 as 64 hex characters");
/**
 * NUMERIC(10,4): at most 4 decimals, checked on the number's shortest decimal form, so a cost PostgreSQL would
 * round (0.00005) is refused rather than silently changed.
 */
const Numeric10_4 = z
  .number()
  .min(0)
  .max(999_999.9999)
  .refine((n) => /^\d+(\.\d{1,4})?$/.test(String(n)), "at most 4 decimal places");

const metricsShape = {
  model_name: ModelName,
  cost: Numeric10_4.meta({ description: "What the call cost, in USD." }),
  duration_seconds: z.number().int().min(0).max(2_147_483_647),
  quality_score: z.number().int().min(0).max(100),
  prompt_hash: Sha256Hex.optional().meta({ description: "SHA-256 of the prompt (never the prompt itself)." }),
  response_hash: Sha256Hex.optional().meta({ description: "SHA-256 of the response." }),
  metadata: JsonObject.optional(),
};

/** What a worker reports about the model call that did a piece of work. */
export const AiGymMetrics = z.strictObject(metricsShape).meta({ id: "AiGymMetrics" });

export const AiGymRecordInput = z
  .strictObject({
    task_type: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,49}$/, "must be a snake_case task type such as email_copy")
      .meta({ example: "email_copy" }),
    lead_id: Uuid.optional(),
    ...metricsShape,
    conversion_metric: Numeric10_4.optional(),
    created_at: occurredAtInput("When the work happened; defaults to now.").optional(),
  })
  .meta({ id: "AiGymRecordInput" });

export const RecordAiGymBody = z
  .strictObject({ records: z.array(AiGymRecordInput).min(1).max(1000) })
  .meta({ id: "RecordAiGymBody" });

export const RecordAiGymResponse = z
  .object({
    data: z.array(z.object({ id: Uuid })),
    meta: z.object({ inserted: z.number().int() }),
  })
  .meta({ id: "RecordAiGymResponse" });

export const recordAiGymRoute = defineRoute({
  method: "post",
  path: "/api/v2/ai-gym/records",
  operationId: "recordAiGymPerformance",
  summary: "Record a batch of AI-GYM measurements",
  description:
    "For model calls made outside the work queue (email copy, reply drafting, …). Work completed through " +
    "`/api/v2/work/{kind}/…/complete` records its AI-GYM row itself. The ids are in input order.",
  tags: ["AI-GYM"],
  scope: "ingest",
  body: RecordAiGymBody,
  bodyLimit: "5mb",
  response: { status: 200, description: "The new rows' ids, in input order.", schema: RecordAiGymResponse },
  handler: async ({ body }, uow) => {
    const data = await recordAiGymPerformance(uow, body.records);
    return { data, meta: { inserted: data.length } };
  },
  group: {
    handler: async (members) => {
      const ids = await recordAiGymPerformanceOfMany(
        members.map(({ input, uow }) => ({ uow, records: input.body.records })),
      );
      return ids.map((data) => ({ data, meta: { inserted: data.length } }));
    },
  },
});

export const BulkLoadAiGymQuery = z.strictObject(BulkLoadQueryShape);
export const BulkLoadAiGymResponse = z.object(BulkLoadReportShape).meta({ id: "BulkLoadAiGymResponse" });

export const bulkLoadAiGymRoute = defineNdjsonRoute({
  method: "post",
  path: "/api/v2/ai-gym/records:bulk",
  operationId: "bulkLoadAiGymRecords",
  summary: "Bulk-load AI-GYM records from streamed NDJSON",
  description:
    `One \`AiGymRecordInput\` per line. ${BULK_LOAD_DESCRIPTION} A record whose lead does not exist (or was ` +
    "erased) is refused as `/lead_id`. Rows are what `POST /api/v2/ai-gym/records` stores for the same input. " +
    "Audited and announced once per load: one `ai_gym.bulk_loaded` audit entry and event (not one per row).",
  tags: ["AI-GYM"],
  scope: "ingest",
  query: BulkLoadAiGymQuery,
  ndjson: { item: AiGymRecordInput },
  response: {
    status: 200,
    description: "What was stored and what was refused.",
    schema: BulkLoadAiGymResponse,
  },
  errors: [413],
  handler: ({ query, body }, uow) =>
    loadAiGymRecords(uow, body.items(AiGymRecordInput, fastAiGymRecord), { atomic: query.atomic }),
});

export const aiGymRoutes = [recordAiGymRoute, bulkLoadAiGymRoute];
