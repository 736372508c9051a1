import { z } from "zod";
import { listVideos, queueVideo, type VideoRow } from "../../domain/videos.js";
import { defineRoute } from "../route.js";
import { iso, JsonObject, LeadIdParams, NullableTimestamp, Uuid } from "../schemas.js";
import {
  listLeadItemsRoute,
  QueuedResponse,
  queuedResponse,
  WorkStateShape,
  workState,
} from "./work-contracts.js";

export const QueueVideoBody = z
  .strictObject({
    demo_site_id: Uuid.optional().meta({
      description: "One of the lead's demo sites; defaults to its latest deployed demo.",
    }),
    preferences: JsonObject.optional().meta({ description: "Free-form hints for the video worker." }),
  })
  .meta({ id: "QueueVideoBody" });

export const VideoQueuedResponse = QueuedResponse("video_id", "video generations", "VideoQueued");

export const VideoResponse = z
  .object({
    id: Uuid,
    lead_id: Uuid,
    demo_site_id: Uuid.nullable(),
    status: z.string().nullable().meta({
      description:
        "queued → generating → ready | failed; ready → archived after the asset retention (spec §8)",
    }),
    video_url: z.string().nullable(),
    duration_seconds: z.number().int().nullable(),
    script: JsonObject.nullable(),
    ...WorkStateShape,
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
    ...workState(r),
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
    return queuedResponse("video_id", queued);
  },
});

export const listVideosRoute = listLeadItemsRoute({
  path: "/api/v2/videos/{lead_id}",
  operationId: "listVideos",
  summary: "A lead's videos, newest first, with status",
  tags: ["Videos"],
  pageDescription: "A page of videos.",
  item: VideoResponse,
  list: listVideos,
  toItem: videoResponse,
});

export const videoRoutes = [queueVideoRoute, listVideosRoute];
