import { z } from "zod";
import { NotFoundError } from "../../domain/errors.js";
import { getLeadLineage, LINEAGE_STAGES, type LineageStep } from "../../domain/get-lead-lineage.js";
import { leadRef } from "../../domain/lead-ref.js";
import { defineRoute } from "../route.js";
import { IdParams, iso, NullableTimestamp, Timestamp, Uuid } from "../schemas.js";

const NullableUuid = Uuid.nullable();

export const LineageStepResponse = z
  .object({
    stage: z.enum(LINEAGE_STAGES),
    id: Uuid.meta({
      description:
        "The step's row: the lead, analysis, demo site, video, email send, message, meeting or deal.",
    }),
    at: Timestamp.meta({ description: "The time the chain is ordered by; ties go by stage order, then id." }),
    started_at: NullableTimestamp,
    finished_at: NullableTimestamp,
    status: z.string().nullable(),
    model: z.string().nullable(),
    correlation_id: z
      .string()
      .nullable()
      .meta({
        description:
          "Evidence of the link, not the join (the lead is): the X-Correlation-Id of the request that queued the " +
          "work, else the one the step's event was emitted under; null when neither exists.",
      }),
    cost: z
      .number()
      .nullable()
      .meta({ description: "USD of the AI-GYM rows attributed to this step; null with none." }),
    ai_gym_records: z.number().int(),
    scraping_job_id: NullableUuid,
    source_platform: z.string().nullable(),
    scores: z
      .object({
        overall: z.number().int().nullable(),
        performance: z.number().int().nullable(),
        seo: z.number().int().nullable(),
        accessibility: z.number().int().nullable(),
        design: z.number().int().nullable(),
      })
      .nullable(),
    analysis_id: NullableUuid,
    demo_site_id: NullableUuid,
    deployed: z.boolean().nullable(),
    campaign_id: NullableUuid,
    email_send_id: NullableUuid,
    conversation_id: NullableUuid,
    meeting_id: NullableUuid,
    ab_test_id: NullableUuid,
    ab_variant: z.string().nullable(),
    opened_at: NullableTimestamp,
    clicked_at: NullableTimestamp,
    replied_at: NullableTimestamp,
    sentiment: z.string().nullable(),
    video_id: Uuid.nullable().meta({
      description: "Emails: the video the email carried (its demo: demo_site_id).",
    }),
    reply_category: z.string().nullable().meta({
      description:
        "Replies: the effective category (a human correction, else the classifier's); `model` is the classifier.",
    }),
    amount: z.string().nullable().meta({ description: "A deal's amount as a decimal string." }),
    currency: z.string().nullable(),
  })
  .meta({ id: "LineageStep" });

export const LeadLineageResponse = z
  .object({
    lead_id: Uuid,
    lead_ref: z.string().meta({
      description:
        "The lead's opaque reference for GraphQL `lineage(leadRef:)` (changes when the tokenization key rotates).",
    }),
    steps: z.array(LineageStepResponse),
    unattributed_cost: z.number().nullable().meta({
      description: "USD of the lead's AI-GYM rows that no step took; null with none.",
    }),
  })
  .meta({ id: "LeadLineage" });

export function lineageStepResponse(s: LineageStep): z.input<typeof LineageStepResponse> {
  return {
    ...s,
    at: iso(s.at),
    started_at: iso(s.started_at),
    finished_at: iso(s.finished_at),
    opened_at: iso(s.opened_at),
    clicked_at: iso(s.clicked_at),
    replied_at: iso(s.replied_at),
  };
}

export const getLeadLineageRoute = defineRoute({
  method: "get",
  path: "/api/v2/leads/{id}/lineage",
  operationId: "getLeadLineage",
  summary: "A lead's path through the pipeline",
  description:
    "The ordered chain scraped → analysed → demo → video → emails → replies → meetings → deals, by time (ties by " +
    "stage order). The lead is the join key, so the chain is complete without X-Correlation-Id; each step names the " +
    "correlation id that linked it when there is one, its timestamps, model and AI-GYM cost. AI-GYM rows are " +
    "attributed by task type (website_analysis → analysed, demo_generation → demo, video_script → video, " +
    "email_copy → email) to that stage's latest step begun at or before the row, else its first. No PII: ids, " +
    "statuses, models, scores and timestamps only. Erased leads answer 404.",
  tags: ["Leads"],
  scope: "ingest",
  params: IdParams,
  response: { status: 200, description: "The lead's lineage.", schema: LeadLineageResponse },
  errors: [404],
  handler: async ({ params }, { db }) => {
    const lineage = await getLeadLineage(db, params.id);
    if (!lineage) throw new NotFoundError("Lead", params.id);
    return { ...lineage, lead_ref: leadRef(lineage.lead_id), steps: lineage.steps.map(lineageStepResponse) };
  },
});

export const lineageRoutes = [getLeadLineageRoute];
