import { z } from "zod";
import { type AnalysisRow, listAnalyses, queueAnalysis } from "../../domain/analyses.js";
import { defineRoute } from "../route.js";
import { iso, JsonObject, LeadIdParams, NullableTimestamp, Timestamp, Uuid } from "../schemas.js";
import {
  listLeadItemsRoute,
  QueuedResponse,
  queuedResponse,
  WorkStateShape,
  workState,
} from "./work-contracts.js";

export const QueueAnalysisBody = z
  .strictObject({
    preferences: JsonObject.optional().meta({ description: "Free-form hints for the analysing worker." }),
  })
  .meta({ id: "QueueAnalysisBody" });

export const AnalysisQueuedResponse = QueuedResponse("analysis_id", "website analyses", "AnalysisQueued");

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
    ...WorkStateShape,
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
    ...workState(r),
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
    return queuedResponse("analysis_id", await queueAnalysis(uow, params.lead_id, body.preferences));
  },
});

export const listAnalysesRoute = listLeadItemsRoute({
  path: "/api/v2/analysis/{lead_id}",
  operationId: "listAnalyses",
  summary: "A lead's analyses, newest first, with status and results",
  tags: ["Analysis"],
  pageDescription: "A page of analyses.",
  item: AnalysisResponse,
  list: listAnalyses,
  toItem: analysisResponse,
});

export const analysisRoutes = [queueAnalysisRoute, listAnalysesRoute];
