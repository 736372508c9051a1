import type pg from "pg";
import { InvalidTransitionError, NotFoundError, UnprocessableError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * Source-agnostic scraping jobs (spec §3.2): a scraper registers what it is about to search (source type, query,
 * filters), reports its progress through status, and tags the leads it ingests with the job id — lead ingest
 * (src/domain/leads.ts) maintains leads_found/created/updated in the same transaction as the leads.
 */

export type ScrapingJobStatus = "queued" | "running" | "completed" | "failed" | "cancelled";

export type ScrapingJobRow = {
  id: string;
  source_type: string;
  query: Record<string, unknown>;
  filters: Record<string, unknown> | null;
  status: ScrapingJobStatus;
  leads_found: number;
  leads_created: number;
  leads_updated: number;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
};

const COLUMNS = `id, source_type, query, filters, status, leads_found, leads_created, leads_updated, error, created_at,
  started_at, finished_at, updated_at`;

/** queued → running → completed | failed; queued | running → cancelled. Finished jobs never change. */
const TRANSITIONS: Record<ScrapingJobStatus, readonly ScrapingJobStatus[]> = {
  queued: ["running", "cancelled"],
  running: ["completed", "failed", "cancelled"],
  completed: [],
  failed: [],
  cancelled: [],
};
const FINISHED: readonly ScrapingJobStatus[] = ["completed", "failed", "cancelled"];
/** Statuses that may say why: a failure, or the reason for a cancellation. */
const WITH_ERROR: readonly ScrapingJobStatus[] = ["failed", "cancelled"];

export async function createScrapingJob(
  uow: UnitOfWork,
  input: {
    source_type: string;
    query: Record<string, unknown>;
    filters?: Record<string, unknown> | undefined;
  },
): Promise<ScrapingJobRow> {
  const now = uow.now.toISOString();
  const { rows } = await uow.tx.query<ScrapingJobRow>(
    `INSERT INTO scraping_jobs (source_type, query, filters, status, created_at, updated_at)
     VALUES ($1, $2, $3, 'queued', $4, $4)
     RETURNING ${COLUMNS}`,
    [
      input.source_type,
      JSON.stringify(input.query),
      input.filters ? JSON.stringify(input.filters) : null,
      now,
    ],
  );
  const row = rows[0] as ScrapingJobRow;
  uow.audit({ action: "scraping_job.created", resourceType: "scraping_job", resourceId: row.id });
  return row;
}

export async function getScrapingJob(db: pg.Pool | pg.ClientBase, id: string): Promise<ScrapingJobRow> {
  const { rows } = await db.query<ScrapingJobRow>(`SELECT ${COLUMNS} FROM scraping_jobs WHERE id = $1`, [id]);
  const row = rows[0];
  if (!row) throw new NotFoundError("Scraping job", id);
  return row;
}

export async function listScrapingJobs(
  db: pg.Pool,
  q: {
    limit: number;
    after: { at: Date; id: string } | null;
    status?: string | undefined;
    source_type?: string | undefined;
  },
): Promise<ScrapingJobRow[]> {
  const { rows } = await db.query<ScrapingJobRow>(
    `SELECT ${COLUMNS} FROM scraping_jobs
      WHERE ($1::timestamp IS NULL OR (created_at, id) > ($1::timestamp, $2::uuid))
        AND ($3::text IS NULL OR status = $3)
        AND ($4::text IS NULL OR source_type = $4)
      ORDER BY created_at, id
      LIMIT $5`,
    [
      q.after?.at.toISOString() ?? null,
      q.after?.id ?? null,
      q.status ?? null,
      q.source_type ?? null,
      q.limit + 1,
    ],
  );
  return rows;
}

/** Moves a job along its state machine; stamps started_at on running and finished_at on every final status. */
export async function updateScrapingJobStatus(
  uow: UnitOfWork,
  id: string,
  input: { status: ScrapingJobStatus; error?: string | undefined },
): Promise<ScrapingJobRow> {
  const { rows: current } = await uow.tx.query<{ status: ScrapingJobStatus }>(
    `SELECT status FROM scraping_jobs WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const from = current[0]?.status;
  if (!from) throw new NotFoundError("Scraping job", id);
  if (input.error !== undefined && !WITH_ERROR.includes(input.status)) {
    throw new UnprocessableError("Only a failed or cancelled job carries an error.", [
      { location: "body", path: "/error", message: "allowed with status failed or cancelled" },
    ]);
  }
  if (!TRANSITIONS[from]?.includes(input.status)) {
    throw new InvalidTransitionError(
      "Scraping job",
      from,
      input.status,
      FINISHED.includes(from) ? "A finished job does not change." : undefined,
    );
  }
  const now = uow.now.toISOString();
  const { rows } = await uow.tx.query<ScrapingJobRow>(
    `UPDATE scraping_jobs
        SET status = $2::text,
            error = $3,
            started_at = CASE WHEN $2::text = 'running' THEN $4::timestamp ELSE started_at END,
            finished_at = CASE WHEN $5::boolean THEN $4::timestamp ELSE finished_at END,
            updated_at = $4::timestamp
      WHERE id = $1
      RETURNING ${COLUMNS}`,
    [id, input.status, input.error ?? null, now, FINISHED.includes(input.status)],
  );
  uow.audit({
    action: `scraping_job.${input.status}`,
    resourceType: "scraping_job",
    resourceId: id,
    details: { from, to: input.status },
  });
  return rows[0] as ScrapingJobRow;
}
