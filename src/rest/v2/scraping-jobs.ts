import { z } from "zod";
import {
  createScrapingJob,
  getScrapingJob,
  listScrapingJobs,
  type ScrapingJobRow,
  updateScrapingJobStatus,
} from "../../domain/scraping-jobs.js";
import { defineRoute } from "../route.js";
import {
  decodeCursor,
  IdParams,
  iso,
  JsonObject,
  NullableTimestamp,
  Page,
  PageQueryShape,
  Timestamp,
  toPage,
  Uuid,
} from "../schemas.js";

export const ScrapingJobStatus = z.enum(["queued", "running", "completed", "failed", "cancelled"]);
export const SourceType = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,49}$/, "lower-case identifier such as google_maps, at most 50 characters")
  .meta({ example: "google_maps" });

export const CreateScrapingJobBody = z
  .strictObject({
    source_type: SourceType,
    query: JsonObject.meta({
      description: "What to search, in the source's terms.",
      example: { keyword: "dentist", location: "Berlin" },
    }),
    filters: JsonObject.optional().meta({ example: { min_rating: 4 } }),
  })
  .meta({ id: "CreateScrapingJobBody" });

export const UpdateScrapingJobBody = z
  .strictObject({
    status: ScrapingJobStatus.meta({
      description: "queued → running → completed | failed; queued | running → cancelled (409 otherwise).",
    }),
    error: z
      .string()
      .trim()
      .min(1)
      .max(10_000)
      .optional()
      .meta({ description: "With failed or cancelled only." }),
  })
  .meta({ id: "UpdateScrapingJobBody" });

export const ScrapingJobResponse = z
  .object({
    id: Uuid,
    source_type: z.string(),
    query: JsonObject,
    filters: JsonObject.nullable(),
    status: ScrapingJobStatus,
    leads_found: z
      .number()
      .int()
      .meta({ description: "Leads ingested with this job's id (maintained by ingest)." }),
    leads_created: z.number().int(),
    leads_updated: z.number().int(),
    error: z.string().nullable(),
    created_at: Timestamp,
    started_at: NullableTimestamp,
    finished_at: NullableTimestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "ScrapingJob" });

export const ListScrapingJobsQuery = z.strictObject({
  ...PageQueryShape,
  status: ScrapingJobStatus.optional(),
  source_type: z.string().max(50).optional(),
});

function scrapingJobResponse(r: ScrapingJobRow): z.input<typeof ScrapingJobResponse> {
  return {
    ...r,
    created_at: iso(r.created_at),
    started_at: iso(r.started_at),
    finished_at: iso(r.finished_at),
    updated_at: iso(r.updated_at),
  };
}

const TAGS = ["Scraping jobs"];

export const createScrapingJobRoute = defineRoute({
  method: "post",
  path: "/api/v2/scraping/jobs",
  operationId: "createScrapingJob",
  summary: "Register a scraping job",
  description:
    "The job starts queued. Ingest its leads with `scraping_job_id` to have them counted on the job.",
  tags: TAGS,
  scope: "ingest",
  body: CreateScrapingJobBody,
  response: { status: 201, description: "The new job.", schema: ScrapingJobResponse },
  handler: async ({ body }, uow) => scrapingJobResponse(await createScrapingJob(uow, body)),
});

export const listScrapingJobsRoute = defineRoute({
  method: "get",
  path: "/api/v2/scraping/jobs",
  operationId: "listScrapingJobs",
  summary: "List scraping jobs (oldest first, cursor-paginated)",
  tags: TAGS,
  scope: "ingest",
  query: ListScrapingJobsQuery,
  response: { status: 200, description: "A page of jobs.", schema: Page(ScrapingJobResponse) },
  handler: async ({ query }, { db }) => {
    const rows = await listScrapingJobs(db, { ...query, after: decodeCursor(query.cursor) });
    return toPage(rows, query.limit, (r) => ({ at: r.created_at, id: r.id }), scrapingJobResponse);
  },
});

export const getScrapingJobRoute = defineRoute({
  method: "get",
  path: "/api/v2/scraping/jobs/{id}",
  operationId: "getScrapingJob",
  summary: "Get a scraping job with its lead counts",
  tags: TAGS,
  scope: "ingest",
  params: IdParams,
  response: { status: 200, description: "The job.", schema: ScrapingJobResponse },
  errors: [404],
  handler: async ({ params }, { db }) => scrapingJobResponse(await getScrapingJob(db, params.id)),
});

export const updateScrapingJobRoute = defineRoute({
  method: "patch",
  path: "/api/v2/scraping/jobs/{id}",
  operationId: "updateScrapingJob",
  summary: "Report a scraping job's progress (running, completed, failed, cancelled)",
  description: "Sets started_at on running and finished_at on completed, failed and cancelled.",
  tags: TAGS,
  scope: "ingest",
  params: IdParams,
  body: UpdateScrapingJobBody,
  response: { status: 200, description: "The job.", schema: ScrapingJobResponse },
  errors: [404, 409],
  handler: async ({ params, body }, uow) =>
    scrapingJobResponse(await updateScrapingJobStatus(uow, params.id, body)),
});

export const scrapingJobRoutes = [
  createScrapingJobRoute,
  listScrapingJobsRoute,
  getScrapingJobRoute,
  updateScrapingJobRoute,
];
