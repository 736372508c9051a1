import { z } from "zod";
import { type DemoRow, type LeadRef, listDemos, queueDemo } from "../../domain/demos.js";
import type { UnitOfWork } from "../../domain/unit-of-work.js";
import { defineRoute } from "../route.js";
import { iso, JsonObject, LeadIdParams, NullableTimestamp, Uuid } from "../schemas.js";
import {
  listLeadItemsRoute,
  QueuedResponse,
  queuedResponse,
  WorkStateShape,
  workState,
} from "./work-contracts.js";

/** The keys the spec names are typed; others pass through to the worker untouched. */
export const DemoPreferences = z
  .looseObject({
    framework: z.string().trim().min(1).max(50).optional().meta({ example: "react" }),
    fallback: z.string().trim().min(1).max(50).optional().meta({ example: "mockup" }),
  })
  .meta({ id: "DemoPreferences" });

export const QueueLeadDemoBody = z
  .strictObject({
    analysis_id: Uuid.optional().meta({
      description: "One of the lead's analyses; defaults to its latest completed analysis.",
    }),
    preferences: DemoPreferences.optional(),
  })
  .meta({ id: "QueueLeadDemoBody" });

export const QueueDemoBody = z
  .strictObject({ lead_id: Uuid, ...QueueLeadDemoBody.shape })
  .meta({ id: "QueueDemoBody" });

export const DemoQueuedResponse = QueuedResponse("demo_id", "demo generations", "DemoQueued");

export const DemoResponse = z
  .object({
    id: Uuid,
    lead_id: Uuid,
    analysis_id: Uuid.nullable(),
    status: z.string().nullable().meta({
      description:
        "queued → building → deployed | failed; deployed → archived after the asset retention (spec §8)",
    }),
    deployment_url: z.string().nullable(),
    qa_report: JsonObject.nullable(),
    model_used: z.string().nullable(),
    ...WorkStateShape,
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
    ...workState(r),
    created_at: iso(r.created_at),
    deployed_at: iso(r.deployed_at),
  };
}

const queueCommon = {
  method: "post" as const,
  description:
    "Queues a demo site build; a worker claims it from `/api/v2/work/demo/claim` and completes it with the " +
    "deployment URL, which emits `demo.deployed`.",
  tags: ["Demos"],
  scope: "ingest" as const,
  response: { status: 202 as const, description: "The demo is queued.", schema: DemoQueuedResponse },
};

async function queueDemoFor(uow: UnitOfWork, lead: LeadRef, body: z.output<typeof QueueLeadDemoBody>) {
  const queued = await queueDemo(uow, { lead, analysis_id: body.analysis_id, preferences: body.preferences });
  return queuedResponse("demo_id", queued);
}

export const queueDemoRoute = defineRoute({
  ...queueCommon,
  path: "/api/v2/demos",
  operationId: "queueDemo",
  summary: "Queue a demo site for a lead (spec §3.3)",
  body: QueueDemoBody,
  handler: ({ body }, uow) => queueDemoFor(uow, { id: body.lead_id, from: "body" }, body),
});

export const queueLeadDemoRoute = defineRoute({
  ...queueCommon,
  path: "/api/v2/demos/{lead_id}",
  operationId: "queueLeadDemo",
  summary: "Queue a demo site for the lead in the path",
  params: LeadIdParams,
  body: QueueLeadDemoBody,
  errors: [404],
  handler: ({ params, body }, uow) => queueDemoFor(uow, { id: params.lead_id, from: "path" }, body),
});

export const listDemosRoute = listLeadItemsRoute({
  path: "/api/v2/demos/{lead_id}",
  operationId: "listDemos",
  summary: "A lead's demo sites, newest first, with status",
  tags: ["Demos"],
  pageDescription: "A page of demo sites.",
  item: DemoResponse,
  list: listDemos,
  toItem: demoResponse,
});

export const demoRoutes = [queueDemoRoute, queueLeadDemoRoute, listDemosRoute];
