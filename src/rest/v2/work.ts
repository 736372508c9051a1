import { z } from "zod";
import { completeAnalysis } from "../../domain/analyses.js";
import { completeDemo } from "../../domain/demos.js";
import { completeVideo } from "../../domain/videos.js";
import {
  claimWork,
  failWork,
  heartbeatWork,
  KINDS,
  WORK_KINDS,
  type WorkItemRow,
  type WorkKind,
} from "../../domain/work-queue.js";
import { type AnyRoute, defineRoute } from "../route.js";
import {
  HttpUrl,
  IdParams,
  iso,
  JsonObject,
  ModelName,
  NullableTimestamp,
  Timestamp,
  Uuid,
} from "../schemas.js";
import { AiGymMetrics } from "./ai-gym.js";

/**
 * The worker side of the queue: claim → (heartbeat…) → complete | fail, one set of routes per kind so each
 * kind's completion body is documented exactly. Workers should send the claimed item's `correlation_id` as
 * X-Correlation-Id on complete/fail, so the event it emits carries the id of the request that queued the work.
 */
const WorkerId = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .meta({ description: "Names the worker holding the lease." });
const LeaseSeconds = z.number().int().min(10).max(3600);

export const ClaimWorkBody = z
  .strictObject({
    worker_id: WorkerId,
    lease_seconds: LeaseSeconds.default(300),
    limit: z.number().int().min(1).max(50).default(1),
  })
  .meta({ id: "ClaimWorkBody" });

export const HeartbeatWorkBody = z
  .strictObject({ worker_id: WorkerId, lease_seconds: LeaseSeconds.default(300) })
  .meta({ id: "HeartbeatWorkBody" });

export const FailWorkBody = z
  .strictObject({
    worker_id: WorkerId,
    error: z.string().trim().min(1).max(4000),
    retryable: z.boolean().default(true).meta({
      description: "Retry after a backoff (30 s × 2^(attempts−1)) while attempts remain; false fails it now.",
    }),
  })
  .meta({ id: "FailWorkBody" });

export const WorkItemResponse = z
  .object({
    id: Uuid.meta({ description: "Also the id of the analysis, demo site or video this work produces." }),
    kind: z.enum(WORK_KINDS),
    lead_id: Uuid,
    status: z.enum(["queued", "running", "succeeded", "failed"]),
    resource_status: z.string().meta({ description: "The analysis/demo/video row's status." }),
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    lease_owner: z.string().nullable(),
    lease_expires_at: NullableTimestamp,
    available_at: Timestamp,
    last_error: z.string().nullable(),
    preferences: JsonObject,
    ab_variant: z
      .object({
        ab_test_id: Uuid,
        variant: z.string(),
        content: z
          .string()
          .nullable()
          .meta({ description: "The variant's content (style or script brief)." }),
      })
      .nullable()
      .meta({
        id: "WorkAbVariant",
        description:
          "demo / video: the A/B variant (demo_style / video_script test) this item must be produced as, " +
          "assigned when it was queued; null when no such test was running.",
      }),
    correlation_id: z.string().nullable().meta({
      description: "Of the request that queued the work; send it back as X-Correlation-Id.",
    }),
    website: z.string().nullable().meta({ description: "The lead's website." }),
    domain: z.string().nullable(),
    analysis_id: Uuid.nullable().meta({ description: "demo: the analysis to build from." }),
    demo_site_id: Uuid.nullable().meta({ description: "video: the demo site to present." }),
    deployment_url: z.string().nullable().meta({ description: "video: where that demo is deployed." }),
    created_at: Timestamp,
    started_at: NullableTimestamp,
    finished_at: NullableTimestamp,
  })
  .meta({ id: "WorkItem" });

function workItemResponse(r: WorkItemRow): z.input<typeof WorkItemResponse> {
  return {
    id: r.id,
    kind: r.kind,
    lead_id: r.lead_id,
    status: r.status,
    resource_status: KINDS[r.kind].statuses[r.status],
    attempts: r.attempts,
    max_attempts: r.max_attempts,
    lease_owner: r.lease_owner,
    lease_expires_at: iso(r.lease_expires_at),
    available_at: iso(r.available_at),
    last_error: r.last_error,
    preferences: r.payload.preferences ?? {},
    ab_variant: r.payload.ab ?? null,
    correlation_id: r.correlation_id,
    website: r.website,
    domain: r.domain,
    analysis_id: r.analysis_id,
    demo_site_id: r.demo_site_id,
    deployment_url: r.deployment_url,
    created_at: iso(r.created_at),
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
  };
}

const ClaimWorkResponse = z.object({ data: z.array(WorkItemResponse) }).meta({ id: "ClaimedWork" });

function title(kind: WorkKind): string {
  return KINDS[kind].label;
}

function claimRoute(kind: WorkKind): AnyRoute {
  return defineRoute({
    method: "post",
    path: `/api/v2/work/${kind}/claim`,
    operationId: `claim${title(kind)}Work`,
    summary: `Lease the next queued ${kind} work items`,
    description:
      "Takes due queued items and items whose lease expired, oldest first; concurrent claims never get the " +
      "same item. Each claim counts as an attempt. An empty `data` means there is nothing to do.",
    tags: ["Work queue"],
    scope: "worker",
    body: ClaimWorkBody,
    response: { status: 200, description: "The leased items (possibly none).", schema: ClaimWorkResponse },
    handler: async ({ body }, uow) => ({ data: (await claimWork(uow, kind, body)).map(workItemResponse) }),
  });
}

function heartbeatRoute(kind: WorkKind): AnyRoute {
  return defineRoute({
    method: "post",
    path: `/api/v2/work/${kind}/{id}/heartbeat`,
    operationId: `heartbeat${title(kind)}Work`,
    summary: `Extend the lease on ${kind === "analysis" ? "an" : "a"} ${kind} work item`,
    tags: ["Work queue"],
    scope: "worker",
    params: IdParams,
    body: HeartbeatWorkBody,
    response: { status: 200, description: "The item with its new lease.", schema: WorkItemResponse },
    errors: [404],
    handler: async ({ params, body }, uow) =>
      workItemResponse(await heartbeatWork(uow, kind, params.id, body)),
  });
}

function failRoute(kind: WorkKind): AnyRoute {
  return defineRoute({
    method: "post",
    path: `/api/v2/work/${kind}/{id}/fail`,
    operationId: `fail${title(kind)}Work`,
    summary: `Report a failed attempt at ${kind === "analysis" ? "an" : "a"} ${kind} work item`,
    description:
      "Requeues the item after a backoff while attempts remain, else marks it (and its resource) failed.",
    tags: ["Work queue"],
    scope: "worker",
    params: IdParams,
    body: FailWorkBody,
    response: { status: 200, description: "The item after the failure.", schema: WorkItemResponse },
    errors: [404],
    handler: async ({ params, body }, uow) => workItemResponse(await failWork(uow, kind, params.id, body)),
  });
}

const completeShape = {
  worker_id: WorkerId,
  ai_gym: AiGymMetrics.optional().meta({
    description: "Recorded as an AI-GYM row for this work's task type.",
  }),
};
const Score = z.number().int().min(0).max(100).optional();

export const CompleteAnalysisBody = z
  .strictObject({
    ...completeShape,
    scores: z.strictObject({
      overall: Score,
      performance: Score,
      seo: Score,
      accessibility: Score,
      design: Score,
    }),
    findings: z.union([z.array(z.unknown()), JsonObject]).optional(),
    model_breakdown: JsonObject.optional(),
    lighthouse_report: JsonObject.optional(),
    model_used: ModelName.optional(),
  })
  .meta({ id: "CompleteAnalysisBody" });

export const CompleteDemoBody = z
  .strictObject({
    ...completeShape,
    deployment_url: HttpUrl,
    qa_report: JsonObject.optional(),
    model_used: ModelName.optional(),
  })
  .meta({ id: "CompleteDemoBody" });

export const CompleteVideoBody = z
  .strictObject({
    ...completeShape,
    video_url: HttpUrl,
    duration_seconds: z.number().int().min(0).max(86_400).optional(),
    script: JsonObject.optional(),
  })
  .meta({ id: "CompleteVideoBody" });

const completeCommon = {
  method: "post" as const,
  tags: ["Work queue"],
  scope: "worker" as const,
  params: IdParams,
  response: { status: 200 as const, description: "The finished item.", schema: WorkItemResponse },
  errors: [404],
};

export const completeAnalysisRoute = defineRoute({
  ...completeCommon,
  path: "/api/v2/work/analysis/{id}/complete",
  operationId: "completeAnalysisWork",
  summary: "Complete a website analysis with its results",
  description: "The analysis becomes `completed`; emits `analysis.completed`.",
  body: CompleteAnalysisBody,
  handler: async ({ params, body }, uow) => workItemResponse(await completeAnalysis(uow, params.id, body)),
});

export const completeDemoRoute = defineRoute({
  ...completeCommon,
  path: "/api/v2/work/demo/{id}/complete",
  operationId: "completeDemoWork",
  summary: "Complete a demo site with its deployment",
  description: "The demo site becomes `deployed`; emits `demo.deployed`.",
  body: CompleteDemoBody,
  handler: async ({ params, body }, uow) => workItemResponse(await completeDemo(uow, params.id, body)),
});

export const completeVideoRoute = defineRoute({
  ...completeCommon,
  path: "/api/v2/work/video/{id}/complete",
  operationId: "completeVideoWork",
  summary: "Complete a video with its URL",
  description: "The video becomes `ready`; emits `video.ready`.",
  body: CompleteVideoBody,
  handler: async ({ params, body }, uow) => workItemResponse(await completeVideo(uow, params.id, body)),
});

const COMPLETE_ROUTES: Record<WorkKind, AnyRoute> = {
  analysis: completeAnalysisRoute,
  demo: completeDemoRoute,
  video: completeVideoRoute,
};

export const workRoutes = WORK_KINDS.flatMap((kind) => [
  claimRoute(kind),
  heartbeatRoute(kind),
  COMPLETE_ROUTES[kind],
  failRoute(kind),
]);
