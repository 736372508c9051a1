import { z } from "zod";
import { type AnalysisRow, listAnalyses, queueAnalysis } from "../../domain/work-queue.js";
import { defineRoute } from "../route.js";
import {
  decodeCursor,
  iso,
  JsonObject,
  LeadIdParams,
  NullableTimestamp,
  Page,
  PageQueryShape,
  Timestamp,
  toPage,
  Uuid,
} from "../schemas.js";

export const QueueAnalysisBody = z
  .strictObject({
    preferences: JsonObject.optional().meta({ description: "Free-form hints for the analysing worker." }),
  })
  .meta({ id: "QueueAnalysisBody" });

export const AnalysisQueuedResponse = z
  .object({
    analysis_id: Uuid,
    status: z.literal("queued"),
    expected_ready_at: Timestamp.meta({
      description: "Now plus the median duration of recent website analyses (AI-GYM).",
    }),
  })
  .meta({ id: "AnalysisQueued" });

const Score = z.number().int().min(0).max(100).nullable();

export const AnalysisResponse = z
  .object({
    id: Uuid,
    lead_id: Uuid,
    status: z.string().meta({ description: "queued → running → completed | failed" }),
    scores: z.object({
      overall: Score,
      performance: Score,
      seo: Score,
      accessibility: Score,
      design: Score,
    }),
    findings: z.unknown(),
    model_breakdown: JsonObject.nullable(),
    lighthouse_report: JsonObject.nullable(),
    model_used: z.string().nullable(),
    preferences: JsonObject,
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    last_error: z.string().nullable(),
    created_at: Timestamp,
    completed_at: NullableTimestamp,
  })
  .meta({ id: "Analysis" });

function analysisResponse(r: AnalysisRow): z.input<typeof AnalysisResponse> {
  return {
    id: r.id,
    lead_id: r.lead_id,
    status: r.status,
    scores: {
      overall: r.overall_score,
      performance: r.performance_score,
      seo: r.seo_score,
      accessibility: r.accessibility_score,
      design: r.design_score,
    },
    findings: r.findings,
    model_breakdown: r.model_breakdown,
    lighthouse_report: r.lighthouse_report,
    model_used: r.model_used,
    preferences: r.preferences,
    attempts: r.attempts,
    max_attempts: r.max_attempts,
    last_error: r.last_error,
    created_at: iso(r.created_at),
    completed_at: iso(r.completed_at),
  };
}

export const queueAnalysisRoute = defineRoute({
  method: "post",
  path: "/api/v2/analysis/{lead_id}",
  operationId: "queueAnalysis",
  summary: "Queue a website analysis for a lead",
  description:
    "Queues the analysis; an analysing worker claims it from `/api/v2/work/analysis/claim` and completes it, which " +
    "emits `analysis.completed`.",
  tags: ["Analysis"],
  scope: "ingest",
  params: LeadIdParams,
  body: QueueAnalysisBody,
  response: { status: 202, description: "The analysis is queued.", schema: AnalysisQueuedResponse },
  errors: [404],
  handler: async ({ params, body }, uow) => {
    const queued = await queueAnalysis(uow, params.lead_id, body.preferences);
    return {
      analysis_id: queued.id,
      status: "queued" as const,
      expected_ready_at: iso(queued.expected_ready_at),
    };
  },
});

export const listAnalysesRoute = defineRoute({
  method: "get",
  path: "/api/v2/analysis/{lead_id}",
  operationId: "listAnalyses",
  summary: "A lead's analyses, newest first, with status and results",
  tags: ["Analysis"],
  scope: "ingest",
  params: LeadIdParams,
  query: z.strictObject(PageQueryShape),
  response: { status: 200, description: "A page of analyses.", schema: Page(AnalysisResponse) },
  errors: [404],
  handler: async ({ params, query }, { db }) => {
    const rows = await listAnalyses(db, params.lead_id, {
      limit: query.limit,
      after: decodeCursor(query.cursor),
    });
    return toPage(rows, query.limit, (r) => ({ at: r.sort_at, id: r.id }), analysisResponse);
  },
});

export const analysisRoutes = [queueAnalysisRoute, listAnalysesRoute];
