import { z } from "zod";
import type { QueuedWork, WorkColumns } from "../../domain/work-queue.js";
import { type AnyRoute, defineRoute, type ReadContext } from "../route.js";
import {
  type Cursor,
  decodeCursor,
  iso,
  JsonObject,
  LeadIdParams,
  Page,
  PageQueryShape,
  Timestamp,
  toPage,
  Uuid,
} from "../schemas.js";

/**
 * What the analysis, demo and video routes share: each queues work for a lead, answers 202 with the new id and an
 * estimate, and lists a lead's items with their queue state next to the resource's own fields.
 */

/** The queue bookkeeping every analysis/demo/video response carries (from its work_items row). */
export const WorkStateShape = {
  preferences: JsonObject,
  attempts: z.number().int(),
  max_attempts: z.number().int(),
  last_error: z.string().nullable(),
};

export function workState(r: WorkColumns): z.input<z.ZodObject<typeof WorkStateShape>> {
  return {
    preferences: r.preferences,
    attempts: r.attempts,
    max_attempts: r.max_attempts,
    last_error: r.last_error,
  };
}

/** `{ <idField>: uuid, status: "queued", expected_ready_at }`, the 202 body of a queueing route. */
export function QueuedResponse<K extends string>(idField: K, measuredTask: string, componentId: string) {
  return z
    .object({
      ...({ [idField]: Uuid } as Record<K, typeof Uuid>),
      status: z.literal("queued"),
      expected_ready_at: Timestamp.meta({
        description: `Now plus the median duration of recent ${measuredTask} (AI-GYM).`,
      }),
    })
    .meta({ id: componentId });
}

export function queuedResponse<K extends string>(
  idField: K,
  queued: QueuedWork,
): Record<K, string> & { status: "queued"; expected_ready_at: string } {
  return {
    ...({ [idField]: queued.id } as Record<K, string>),
    status: "queued",
    expected_ready_at: iso(queued.expected_ready_at),
  };
}

type LeadPage = { limit: number; after: Cursor | null };

/** GET /api/v2/<resource>/{lead_id}: a lead's items, newest first, keyset-paginated; 404 for an unknown lead. */
export function listLeadItemsRoute<Row extends { sort_at: Date; id: string }, Item extends z.ZodType>(spec: {
  path: string;
  operationId: string;
  summary: string;
  tags: string[];
  /** The 200 response's description, e.g. "A page of videos.". */
  pageDescription: string;
  item: Item;
  list: (db: ReadContext["db"], leadId: string, page: LeadPage) => Promise<Row[]>;
  toItem: (row: Row) => z.input<Item>;
}): AnyRoute {
  return defineRoute({
    method: "get",
    path: spec.path,
    operationId: spec.operationId,
    summary: spec.summary,
    tags: spec.tags,
    scope: "ingest",
    params: LeadIdParams,
    query: z.strictObject(PageQueryShape),
    response: { status: 200, description: spec.pageDescription, schema: Page(spec.item) },
    errors: [404],
    handler: async ({ params, query }, { db }) => {
      const rows = await spec.list(db, params.lead_id, {
        limit: query.limit,
        after: decodeCursor(query.cursor),
      });
      return toPage(rows, query.limit, (r) => ({ at: r.sort_at, id: r.id }), spec.toItem);
    },
  });
}
