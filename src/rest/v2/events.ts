import { z } from "zod";
import { decodeFeedCursor, encodeFeedCursor, readEventFeed } from "../../domain/events-feed.js";
import { EVENT_TYPES } from "../../events/catalog.js";
import { defineRoute } from "../route.js";
import { Timestamp, Uuid } from "../schemas.js";

export const EventsQuery = z.strictObject({
  after: z
    .string()
    .max(100)
    .optional()
    .meta({ description: "`page.next_cursor` of the previous page; omit to start at the beginning." }),
  type: z
    .string()
    .max(500)
    .transform((s) => s.split(",").map((t) => t.trim()))
    .pipe(z.array(z.enum(EVENT_TYPES)).min(1))
    .optional()
    .meta({ description: "Comma-separated event types to return, e.g. `demo.deployed,video.ready`." }),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const EventEnvelopeResponse = z
  .object({
    id: Uuid,
    type: z.enum(EVENT_TYPES),
    version: z.number().int(),
    occurred_at: Timestamp,
    correlation_id: z.string(),
    payload: z
      .record(z.string(), z.unknown())
      .meta({ description: "Per type: see events/<type>.v<version>.schema.json." }),
  })
  .meta({ id: "EventEnvelope" });

export const EventFeedResponse = z
  .object({
    data: z.array(EventEnvelopeResponse),
    page: z.object({
      next_cursor: z
        .string()
        .meta({ description: "Pass as `after` to continue; unchanged when there is nothing new." }),
      limit: z.number().int(),
    }),
  })
  .meta({ id: "EventFeed" });

export const listEventsRoute = defineRoute({
  method: "get",
  path: "/api/v2/events",
  operationId: "listEvents",
  summary: "Page through domain events in order (replayable)",
  description:
    "The transactional outbox of §4 events. Every event was validated against its JSON Schema before it was " +
    "written in the same transaction as the change. Start without `after` to replay from the beginning; keep " +
    "polling with the returned cursor.",
  tags: ["Events"],
  scope: "events:read",
  query: EventsQuery,
  response: { status: 200, description: "Events after the cursor, oldest first.", schema: EventFeedResponse },
  handler: async ({ query }, { db }) => {
    const after = decodeFeedCursor(query.after);
    const rows = await readEventFeed(db, { after, types: query.type, limit: query.limit });
    const last = rows.at(-1);
    return {
      data: rows.map((r) => ({
        id: r.id,
        type: r.type as (typeof EVENT_TYPES)[number],
        version: r.version,
        occurred_at: r.occurred_at.toISOString(),
        correlation_id: r.correlation_id,
        payload: r.payload,
      })),
      page: { next_cursor: encodeFeedCursor(last ?? after), limit: query.limit },
    };
  },
});

export const eventRoutes = [listEventsRoute];
