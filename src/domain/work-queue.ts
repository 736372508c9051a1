import type pg from "pg";
import type { WorkAbVariant } from "./ab-exposure.js";
import { type AiGymRecordInput, recordAiGymPerformance } from "./ai-gym.js";
import { InvalidTransitionError, NotFoundError } from "./errors.js";
import { getMedianTaskDuration } from "./get-median-task-duration.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * The generic lease queue behind POST /analysis, /demos and /videos: enqueue, claim, heartbeat, fail/retry, the
 * state machine and expected_ready_at. A work_items row and the analysis/demo/video row it produces share one id and
 * are written in the same transaction; work_items holds the lease and retry bookkeeping, the resource row holds the
 * status and results clients read. What is particular to a kind (its queue input, results, list columns) lives in
 * analyses.ts, demos.ts and videos.ts, one per src/rest/v2 file.
 */
export const WORK_KINDS = ["analysis", "demo", "video"] as const;
export type WorkKind = (typeof WORK_KINDS)[number];
export type WorkStatus = "queued" | "running" | "succeeded" | "failed";

type KindSpec = {
  /** Name used in error messages. */
  label: string;
  /** Allow-listed table name: never interpolate anything else into SQL. */
  table: "website_analyses" | "demo_sites" | "videos";
  resourceType: string;
  /** ai_gym_performance.task_type this kind's work is measured under (src/seed/catalog.ts TASK_TYPES). */
  taskType: string;
  /** Used for expected_ready_at until AI-GYM has measured durations. */
  defaultDurationSeconds: number;
  /** The resource row's status for each queue status. */
  statuses: Record<WorkStatus, string>;
};

export const KINDS: Record<WorkKind, KindSpec> = {
  analysis: {
    label: "Analysis",
    table: "website_analyses",
    resourceType: "website_analysis",
    taskType: "website_analysis",
    defaultDurationSeconds: 120,
    statuses: { queued: "queued", running: "running", succeeded: "completed", failed: "failed" },
  },
  demo: {
    label: "Demo",
    table: "demo_sites",
    resourceType: "demo_site",
    taskType: "demo_generation",
    defaultDurationSeconds: 600,
    statuses: { queued: "queued", running: "building", succeeded: "deployed", failed: "failed" },
  },
  video: {
    label: "Video",
    table: "videos",
    resourceType: "video",
    taskType: "video_script",
    defaultDurationSeconds: 300,
    statuses: { queued: "queued", running: "generating", succeeded: "ready", failed: "failed" },
  },
};

/**
 * The state machine of each kind, in the statuses clients see. Every status change below goes through
 * `assertTransition`. running → running is a claim of an expired lease's item or a heartbeat; running → queued is a
 * retryable failure or an expired lease. Finished work never moves again.
 */
export const TRANSITIONS: Record<WorkKind, Readonly<Record<string, readonly string[]>>> = {
  analysis: {
    queued: ["running"],
    running: ["running", "completed", "queued", "failed"],
    completed: [],
    failed: [],
  },
  demo: {
    queued: ["building"],
    building: ["building", "deployed", "queued", "failed"],
    deployed: [],
    failed: [],
  },
  video: {
    queued: ["generating"],
    generating: ["generating", "ready", "queued", "failed"],
    ready: [],
    failed: [],
  },
};

export function assertTransition(kind: WorkKind, from: string, to: string, hint?: string): void {
  if (!TRANSITIONS[kind][from]?.includes(to)) {
    throw new InvalidTransitionError(KINDS[kind].label, from, to, hint);
  }
}

/** Retry delay after the n-th failed attempt: 30 s, 60 s, 120 s, … */
export function retryBackoffMs(attempts: number): number {
  return 30_000 * 2 ** Math.max(0, attempts - 1);
}

// ---- queueing ----

export type QueuedWork = { id: string; expected_ready_at: Date };

/** Inserts the resource row and its work item in one statement; `resourceInsert` must return the new id. */
export async function enqueue(
  uow: UnitOfWork,
  kind: WorkKind,
  leadId: string,
  payload: Record<string, unknown>,
  resourceInsert: { sql: string; params: unknown[] },
): Promise<QueuedWork> {
  const now = uow.now.toISOString();
  const offset = resourceInsert.params.length;
  const { rows } = await uow.tx.query<{ id: string }>(
    `WITH resource AS (${resourceInsert.sql} RETURNING id)
     INSERT INTO work_items (id, kind, lead_id, payload, available_at, correlation_id, created_at, updated_at)
     SELECT resource.id, $${offset + 1}, $${offset + 2}, $${offset + 3}, $${offset + 4}, $${offset + 5},
            $${offset + 4}, $${offset + 4}
       FROM resource
     RETURNING id`,
    [...resourceInsert.params, kind, leadId, JSON.stringify(payload), now, uow.correlationId],
  );
  const id = rows[0]?.id;
  if (!id) throw new Error("enqueue inserted no row");
  const median = await getMedianTaskDuration(uow.tx, KINDS[kind].taskType, uow.now);
  const seconds = median ?? KINDS[kind].defaultDurationSeconds;
  uow.audit({
    action: `${kind}.queued`,
    resourceType: KINDS[kind].resourceType,
    resourceId: id,
    details: { lead_id: leadId },
  });
  return { id, expected_ready_at: new Date(uow.now.getTime() + Math.round(seconds * 1000)) };
}

/** Free-form hints for the worker, kept in the work item's payload. */
export type Preferences = Record<string, unknown> | undefined;

// ---- what a worker sees ----

export type WorkItemRow = {
  id: string;
  kind: WorkKind;
  lead_id: string;
  status: WorkStatus;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  available_at: Date;
  last_error: string | null;
  payload: { preferences?: Record<string, unknown>; ab?: WorkAbVariant };
  correlation_id: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  website: string | null;
  domain: string | null;
  analysis_id: string | null;
  demo_site_id: string | null;
  deployment_url: string | null;
};

/** Work items with what a worker needs to do them: the lead's site, the demo's analysis, the video's demo. */
async function loadWorkItems(db: pg.ClientBase, ids: readonly string[]): Promise<WorkItemRow[]> {
  const { rows } = await db.query<WorkItemRow>(
    `SELECT w.id, w.kind, w.lead_id, w.status, w.attempts, w.max_attempts, w.lease_owner, w.lease_expires_at,
            w.available_at, w.last_error, w.payload, w.correlation_id, w.created_at, w.started_at, w.finished_at,
            l.website, l.domain, d.analysis_id, v.demo_site_id, vd.deployment_url
       FROM work_items w
       JOIN leads l ON l.id = w.lead_id
       LEFT JOIN demo_sites d ON w.kind = 'demo' AND d.id = w.id
       LEFT JOIN videos v ON w.kind = 'video' AND v.id = w.id
       LEFT JOIN demo_sites vd ON vd.id = v.demo_site_id
      WHERE w.id = ANY($1::uuid[])
      ORDER BY array_position($1::uuid[], w.id)`,
    [ids],
  );
  return rows;
}

async function setResourceStatus(
  uow: UnitOfWork,
  kind: WorkKind,
  ids: readonly string[],
  status: WorkStatus,
): Promise<void> {
  if (ids.length === 0) return;
  const touch = kind === "analysis" ? ", updated_at = $3" : "";
  const params = [ids, KINDS[kind].statuses[status], ...(kind === "analysis" ? [uow.now.toISOString()] : [])];
  await uow.tx.query(
    `UPDATE ${KINDS[kind].table} SET status = $2${touch} WHERE id = ANY($1::uuid[])`,
    params,
  );
}

// ---- claiming ----

/**
 * Fails items whose lease expired on their last allowed attempt, so they are not claimed again.
 * SKIP LOCKED: an item a worker is completing right now is left to that worker.
 */
async function failExhaustedLeases(uow: UnitOfWork, kind: WorkKind): Promise<void> {
  const now = uow.now.toISOString();
  const { rows } = await uow.tx.query<{ id: string; attempts: number }>(
    `WITH exhausted AS (
       SELECT id FROM work_items
        WHERE kind = $1 AND status = 'running' AND lease_expires_at <= $2 AND attempts >= max_attempts
        FOR UPDATE SKIP LOCKED)
     UPDATE work_items w
        SET status = 'failed', finished_at = $2, updated_at = $2, lease_expires_at = NULL,
            last_error = 'the lease of ' || w.lease_owner || ' expired on the last allowed attempt'
       FROM exhausted
      WHERE w.id = exhausted.id
     RETURNING w.id, w.attempts`,
    [kind, now],
  );
  const statuses = KINDS[kind].statuses;
  for (const r of rows) {
    assertTransition(kind, statuses.running, statuses.failed);
    uow.audit({
      action: `${kind}.failed`,
      resourceType: KINDS[kind].resourceType,
      resourceId: r.id,
      details: { reason: "lease_expired", attempts: r.attempts },
    });
  }
  await setResourceStatus(
    uow,
    kind,
    rows.map((r) => r.id),
    "failed",
  );
}

/**
 * Leases up to `limit` items: queued ones that are due, and running ones whose lease expired (which returns them
 * to the queue). FOR UPDATE SKIP LOCKED lets concurrent workers claim side by side without ever getting the same
 * item or waiting on each other.
 */
export async function claimWork(
  uow: UnitOfWork,
  kind: WorkKind,
  input: { worker_id: string; lease_seconds: number; limit: number },
): Promise<WorkItemRow[]> {
  await failExhaustedLeases(uow, kind);
  const now = uow.now.toISOString();
  const leaseExpiresAt = new Date(uow.now.getTime() + input.lease_seconds * 1000).toISOString();
  const { rows } = await uow.tx.query<{ id: string; previous_status: WorkStatus }>(
    `WITH picked AS (
       SELECT id, status AS previous_status FROM work_items
        WHERE kind = $1
          AND ((status = 'queued' AND available_at <= $2)
               OR (status = 'running' AND lease_expires_at <= $2 AND attempts < max_attempts))
        ORDER BY CASE WHEN status = 'queued' THEN available_at ELSE lease_expires_at END, id
        LIMIT $3
        FOR UPDATE SKIP LOCKED)
     UPDATE work_items w
        SET status = 'running', attempts = w.attempts + 1, started_at = $2, lease_owner = $4,
            lease_expires_at = $5, updated_at = $2
       FROM picked
      WHERE w.id = picked.id
     RETURNING w.id, picked.previous_status`,
    [kind, now, input.limit, input.worker_id, leaseExpiresAt],
  );
  const statuses = KINDS[kind].statuses;
  for (const r of rows) {
    if (r.previous_status === "running") assertTransition(kind, statuses.running, statuses.queued);
    else assertTransition(kind, statuses[r.previous_status], statuses.running);
    uow.audit({
      action: `${kind}.claimed`,
      resourceType: KINDS[kind].resourceType,
      resourceId: r.id,
      details: { worker_id: input.worker_id, lease_expired: r.previous_status === "running" },
    });
  }
  if (rows.length === 0 && uow.audits.length === 0) uow.wroteNothing();
  const ids = rows.map((r) => r.id);
  await setResourceStatus(uow, kind, ids, "running");
  return loadWorkItems(uow.tx, ids);
}

// ---- one leased item ----

export type LockedItem = {
  id: string;
  lead_id: string;
  status: WorkStatus;
  attempts: number;
  max_attempts: number;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  /** Of the request that queued the work; the completion event carries it so the whole chain shares one id. */
  correlation_id: string | null;
};

/**
 * Locks the item and checks that moving it to `to` is legal and that `workerId` holds a live lease on it. An
 * expired lease counts as lost: the item is back in the queue even if no one has claimed it yet.
 */
async function lockLeasedItem(
  uow: UnitOfWork,
  kind: WorkKind,
  id: string,
  workerId: string,
  to: (item: LockedItem) => WorkStatus,
): Promise<{ item: LockedItem; to: WorkStatus }> {
  const { rows } = await uow.tx.query<LockedItem>(
    `SELECT id, lead_id, status, attempts, max_attempts, lease_owner, lease_expires_at, correlation_id
       FROM work_items WHERE id = $1 AND kind = $2 FOR UPDATE`,
    [id, kind],
  );
  const item = rows[0];
  if (!item) throw new NotFoundError(KINDS[kind].label, id);
  const target = to(item);
  const statuses = KINDS[kind].statuses;
  const from = statuses[item.status];
  assertTransition(kind, from, statuses[target]);
  // queued → running is legal only as a claim; heartbeat, complete and fail need a claimed item.
  if (item.status !== "running") {
    throw new InvalidTransitionError(KINDS[kind].label, from, statuses[target], "Claim the item first.");
  }
  if (item.lease_owner !== workerId) {
    throw new InvalidTransitionError(
      KINDS[kind].label,
      from,
      statuses[target],
      "Another worker holds the lease.",
    );
  }
  if (!item.lease_expires_at || item.lease_expires_at.getTime() <= uow.now.getTime()) {
    throw new InvalidTransitionError(
      KINDS[kind].label,
      from,
      statuses[target],
      "The lease expired; claim the item again.",
    );
  }
  return { item, to: target };
}

export async function heartbeatWork(
  uow: UnitOfWork,
  kind: WorkKind,
  id: string,
  input: { worker_id: string; lease_seconds: number },
): Promise<WorkItemRow> {
  await lockLeasedItem(uow, kind, id, input.worker_id, () => "running");
  const leaseExpiresAt = new Date(uow.now.getTime() + input.lease_seconds * 1000).toISOString();
  await uow.tx.query(`UPDATE work_items SET lease_expires_at = $2, updated_at = $3 WHERE id = $1`, [
    id,
    leaseExpiresAt,
    uow.now.toISOString(),
  ]);
  uow.audit({
    action: `${kind}.lease_extended`,
    resourceType: KINDS[kind].resourceType,
    resourceId: id,
    details: { worker_id: input.worker_id, lease_expires_at: leaseExpiresAt },
  });
  return one(await loadWorkItems(uow.tx, [id]));
}

export async function failWork(
  uow: UnitOfWork,
  kind: WorkKind,
  id: string,
  input: { worker_id: string; error: string; retryable: boolean },
): Promise<WorkItemRow> {
  const { item, to } = await lockLeasedItem(uow, kind, id, input.worker_id, (i) =>
    input.retryable && i.attempts < i.max_attempts ? "queued" : "failed",
  );
  const now = uow.now.toISOString();
  const availableAt =
    to === "queued" ? new Date(uow.now.getTime() + retryBackoffMs(item.attempts)).toISOString() : null;
  await uow.tx.query(
    `UPDATE work_items
        SET status = $2, last_error = $3, lease_owner = NULL, lease_expires_at = NULL, updated_at = $4,
            available_at = COALESCE($5::timestamp, available_at), finished_at = $6::timestamp
      WHERE id = $1`,
    [id, to, input.error, now, availableAt, to === "failed" ? now : null],
  );
  await setResourceStatus(uow, kind, [id], to);
  uow.audit({
    action: to === "queued" ? `${kind}.retry_scheduled` : `${kind}.failed`,
    resourceType: KINDS[kind].resourceType,
    resourceId: id,
    details: { worker_id: input.worker_id, attempts: item.attempts, retryable: input.retryable },
  });
  return one(await loadWorkItems(uow.tx, [id]));
}

// ---- completion ----

export type AiGymMetrics = Omit<AiGymRecordInput, "task_type" | "lead_id" | "created_at">;

/**
 * Marks the leased item succeeded and records its AI-GYM metrics; `writeResult` then stores the kind's results on
 * the resource row and emits its event under the correlation id of the request that queued the work.
 */
export async function completeWork(
  uow: UnitOfWork,
  kind: WorkKind,
  id: string,
  input: { worker_id: string; ai_gym?: AiGymMetrics | undefined },
  writeResult: (item: LockedItem) => Promise<void>,
): Promise<WorkItemRow> {
  const { item } = await lockLeasedItem(uow, kind, id, input.worker_id, () => "succeeded");
  await uow.tx.query(
    `UPDATE work_items SET status = 'succeeded', finished_at = $2, updated_at = $2, lease_expires_at = NULL
      WHERE id = $1`,
    [id, uow.now.toISOString()],
  );
  if (input.ai_gym) {
    await recordAiGymPerformance(
      uow,
      [{ ...input.ai_gym, task_type: KINDS[kind].taskType, lead_id: item.lead_id }],
      () => "/ai_gym",
    );
  }
  uow.audit({
    action: `${kind}.completed`,
    resourceType: KINDS[kind].resourceType,
    resourceId: id,
    details: { worker_id: input.worker_id, attempts: item.attempts },
  });
  await writeResult(item);
  return one(await loadWorkItems(uow.tx, [id]));
}

export function one<T>(rows: T[]): T {
  const row = rows[0];
  if (!row) throw new Error("work item vanished inside its own transaction");
  return row;
}

// ---- what a lead's page shows ----

/** assertLeadExists for a pool: a lead's lists answer 404 rather than an empty page for an unknown lead. */
async function assertLeadFound(db: pg.Pool, id: string): Promise<void> {
  const { rowCount } = await db.query(`SELECT 1 FROM leads WHERE id = $1 AND erased_at IS NULL`, [id]);
  if (!rowCount) throw new NotFoundError("Lead", id);
}

export type Page = { limit: number; after: { at: Date; id: string } | null };
/** Newest first; `sort_at` is created_at, never null, so it can be a cursor. */
export type Sortable = { sort_at: Date; id: string };

const WORK_COLUMNS = `COALESCE(w.attempts, 0) AS attempts, COALESCE(w.max_attempts, 0) AS max_attempts,
  w.last_error, COALESCE(w.payload -> 'preferences', '{}'::jsonb) AS preferences`;
export type WorkColumns = {
  attempts: number;
  max_attempts: number;
  last_error: string | null;
  preferences: Record<string, unknown>;
};

/**
 * A lead's items of one kind with their queue state, newest first, after the keyset cursor. `columns` and `sortAt`
 * name the resource table as `r`; they are constants of the list functions below, never input.
 */
export async function listForLead<Row extends pg.QueryResultRow>(
  db: pg.Pool,
  kind: WorkKind,
  leadId: string,
  page: Page,
  select: { columns: string; sortAt: string },
): Promise<Row[]> {
  await assertLeadFound(db, leadId);
  const { rows } = await db.query<Row>(
    `SELECT ${select.columns}, ${select.sortAt} AS sort_at, ${WORK_COLUMNS}
       FROM ${KINDS[kind].table} r
       LEFT JOIN work_items w ON w.id = r.id
      WHERE r.lead_id = $1
        AND ($2::timestamp IS NULL OR (${select.sortAt}, r.id) < ($2::timestamp, $3::uuid))
      ORDER BY ${select.sortAt} DESC, r.id DESC
      LIMIT $4`,
    [leadId, page.after?.at.toISOString() ?? null, page.after?.id ?? null, page.limit + 1],
  );
  return rows;
}
