import { z } from "zod";
import { listVideos, queueVideo, type VideoRow } from "../../domain/work-queue.js";
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

export const QueueVideoBody = z
  .strictObject({
    demo_site_id: Uuid.optional().meta({
      description: "One of the lead's demo sites; defaults to its latest deployed demo.",
    }),
    preferences: JsonObject.optional().meta({ description: "Free-form hints for the video worker." }),
  })
  .meta({ id: "QueueVideoBody" });

export const VideoQueuedResponse = z
  .object({
    video_id: Uuid,
    status: z.literal("queued"),
    expected_ready_at: Timestamp.meta({
      description: "Now plus the median duration of recent video generations (AI-GYM).",
    }),
  })
  .meta({ id: "VideoQueued" });

export const VideoResponse = z
  .object({
    id: Uuid,
    lead_id: Uuid,
    demo_site_id: Uuid.nullable(),
    status: z.string().nullable().meta({ description: "queued → generating → ready | failed" }),
    video_url: z.string().nullable(),
    duration_seconds: z.number().int().nullable(),
    script: JsonObject.nullable(),
    preferences: JsonObject,
    attempts: z.number().int(),
    max_attempts: z.number().int(),
    last_error: z.string().nullable(),
    created_at: NullableTimestamp,
  })
  .meta({ id: "Video" });

function videoResponse(r: VideoRow): z.input<typeof VideoResponse> {
  return {
    id: r.id,
    lead_id: r.lead_id,
    demo_site_id: r.demo_site_id,
    status: r.status,
    video_url: r.video_url,
    duration_seconds: r.duration_seconds,
    script: r.script,
    preferences: r.preferences,
    attempts: r.attempts,
    max_attempts: r.max_attempts,
    last_error: r.last_error,
    created_at: iso(r.created_at),
  };
}

export const queueVideoRoute = defineRoute({
  method: "post",
  path: "/api/v2/videos/{lead_id}",
  operationId: "queueVideo",
  summary: "Queue a personal video for a lead",
  description:
    "Queues the video; a worker claims it from `/api/v2/work/video/claim` and completes it with the video URL, " +
    "which emits `video.ready`.",
  tags: ["Videos"],
  scope: "ingest",
  params: LeadIdParams,
  body: QueueVideoBody,
  response: { status: 202, description: "The video is queued.", schema: VideoQueuedResponse },
  errors: [404],
  handler: async ({ params, body }, uow) => {
    const queued = await queueVideo(uow, {
      leadId: params.lead_id,
      demo_site_id: body.demo_site_id,
      preferences: body.preferences,
    });
    return {
      video_id: queued.id,
      status: "queued" as const,
      expected_ready_at: iso(queued.expected_ready_at),
    };
  },
});

export const listVideosRoute = defineRoute({
  method: "get",
  path: "/api/v2/videos/{lead_id}",
  operationId: "listVideos",
  summary: "A lead's videos, newest first, with status",
  tags: ["Videos"],
  scope: "ingest",
  params: LeadIdParams,
  query: z.strictObject(PageQueryShape),
  response: { status: 200, description: "A page of videos.", schema: Page(VideoResponse) },
  errors: [404],
  handler: async ({ params, query }, { db }) => {
    const rows = await listVideos(db, params.lead_id, {
      limit: query.limit,
      after: decodeCursor(query.cursor),
    });
    return toPage(rows, query.limit, (r) => ({ at: r.sort_at, id: r.id }), videoResponse);
  },
});

export const videoRoutes = [queueVideoRoute, listVideosRoute];
