import { z } from "zod";
import { type DemoRow, listDemos, queueDemo } from "../../domain/work-queue.js";
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

/** The keys the spec names are typed; others pass through to the worker untouched. */
export const DemoPreferences = z
  .looseObject({
    framework: z.string().trim().min(1).max(50).optional().meta({ example: "react" }),
    fallback: z.string().trim().min(1).max(50).optional().meta({ example: "mockup" }),
  })
  .meta({ id: "DemoPreferences" });

export const QueueDemoBody = z
  .strictObject({
    lead_id: Uuid,
    analysis_id: Uuid.optional().meta({
      description: "One of the lead's analyses; defaults to its latest completed analysis.",
    }),
    preferences: DemoPreferences.optional(),
  })
  .meta({ id: "QueueDemoBody" });

export const QueueLeadDemoBody = z
  .strictObject({
    analysis_id: Uuid.optional().meta({
      description: "One of the lead's analyses; defaults to its latest completed analysis.",
    }),
    preferences: DemoPreferences.optional(),
  })
  .meta({ id: "QueueLeadDemoBody" });

export const DemoQueuedResponse = z
  .object({
    demo_id: Uuid,
    status: z.literal("queued"),
    expected_ready_at: Timestamp.meta({
      description: "Now plus the median duration of recent demo generations (AI-GYM).",
    }),
  })
  .meta({ id: "DemoQueued" });

export const DemoResponse = z
  .object({
    id: Uuid,
    lead_id: Uuid,
    analysis_id: Uuid.nullable(),
    status: z.string().nullable().meta({ description: "queued → building → deployed | failed" }),
    deployment_url: z.string().nullable(),
    qa_report: JsonObject.nullable(),
    model_used: z.string().nullable(),
    preferences: JsonObject,
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    last_error: z.string().nullable(),
    created_at: NullableTimestamp,
    deployed_at: NullableTimestamp,
  })
  .meta({ id: "Demo" });

function demoResponse(r: DemoRow): z.input<typeof DemoResponse> {
  return {
    id: r.id,
    lead_id: r.lead_id,
    analysis_id: r.analysis_id,
    status: r.status,
    deployment_url: r.deployment_url,
    qa_report: r.qa_report,
    model_used: r.model_used,
    preferences: r.preferences,
    attempts: r.attempts,
    max_attempts: r.max_attempts,
    last_error: r.last_error,
    created_at: iso(r.created_at),
    deployed_at: iso(r.deployed_at),
  };
}

const QUEUE_DESCRIPTION =
  "Queues a demo site build; a worker claims it from `/api/v2/work/demo/claim` and completes it with the " +
  "deployment URL, which emits `demo.deployed`.";

export const queueDemoRoute = defineRoute({
  method: "post",
  path: "/api/v2/demos",
  operationId: "queueDemo",
  summary: "Queue a demo site for a lead (spec §3.3)",
  description: QUEUE_DESCRIPTION,
  tags: ["Demos"],
  scope: "ingest",
  body: QueueDemoBody,
  response: { status: 202, description: "The demo is queued.", schema: DemoQueuedResponse },
  handler: async ({ body }, uow) => {
    const queued = await queueDemo(uow, {
      lead: { id: body.lead_id, from: "body" },
      analysis_id: body.analysis_id,
      preferences: body.preferences,
    });
    return {
      demo_id: queued.id,
      status: "queued" as const,
      expected_ready_at: iso(queued.expected_ready_at),
    };
  },
});

export const queueLeadDemoRoute = defineRoute({
  method: "post",
  path: "/api/v2/demos/{lead_id}",
  operationId: "queueLeadDemo",
  summary: "Queue a demo site for the lead in the path",
  description: QUEUE_DESCRIPTION,
  tags: ["Demos"],
  scope: "ingest",
  params: LeadIdParams,
  body: QueueLeadDemoBody,
  response: { status: 202, description: "The demo is queued.", schema: DemoQueuedResponse },
  errors: [404],
  handler: async ({ params, body }, uow) => {
    const queued = await queueDemo(uow, {
      lead: { id: params.lead_id, from: "path" },
      analysis_id: body.analysis_id,
      preferences: body.preferences,
    });
    return {
      demo_id: queued.id,
      status: "queued" as const,
      expected_ready_at: iso(queued.expected_ready_at),
    };
  },
});

export const listDemosRoute = defineRoute({
  method: "get",
  path: "/api/v2/demos/{lead_id}",
  operationId: "listDemos",
  summary: "A lead's demo sites, newest first, with status",
  tags: ["Demos"],
  scope: "ingest",
  params: LeadIdParams,
  query: z.strictObject(PageQueryShape),
  response: { status: 200, description: "A page of demo sites.", schema: Page(DemoResponse) },
  errors: [404],
  handler: async ({ params, query }, { db }) => {
    const rows = await listDemos(db, params.lead_id, {
      limit: query.limit,
      after: decodeCursor(query.cursor),
    });
    return toPage(rows, query.limit, (r) => ({ at: r.sort_at, id: r.id }), demoResponse);
  },
});

export const demoRoutes = [queueDemoRoute, queueLeadDemoRoute, listDemosRoute];
