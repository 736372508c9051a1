import type pg from "pg";
import { exposeWork } from "./ab-exposure.js";
import { UnprocessableError } from "./errors.js";
import { assertLeadExists } from "./leads.js";
import type { UnitOfWork } from "./unit-of-work.js";
import {
  type AiGymMetrics,
  completeWork,
  enqueue,
  KINDS,
  listForLead,
  type Page,
  type Preferences,
  type QueuedWork,
  type Sortable,
  type WorkColumns,
  type WorkItemRow,
} from "./work-queue.js";

/** Videos: what POST /api/v2/videos/{lead_id}, their completion and a lead's list do (src/rest/v2/videos.ts). */

/** Queues a video; `demo_site_id` defaults to the lead's latest deployed demo. */
export async function queueVideo(
  uow: UnitOfWork,
  input: { leadId: string; demo_site_id?: string | undefined; preferences: Preferences },
): Promise<QueuedWork> {
  await assertLeadExists(uow.tx, input.leadId);
  let demoSiteId: string | null = null;
  if (input.demo_site_id) {
    const { rowCount } = await uow.tx.query(`SELECT 1 FROM demo_sites WHERE id = $1 AND lead_id = $2`, [
      input.demo_site_id,
      input.leadId,
    ]);
    if (!rowCount) {
      throw new UnprocessableError("The demo site is not one of this lead's demos.", [
        { field: "demo_site_id", message: "no demo site with this id for the lead" },
      ]);
    }
    demoSiteId = input.demo_site_id;
  } else {
    const { rows } = await uow.tx.query<{ id: string }>(
      `SELECT id FROM demo_sites WHERE lead_id = $1 AND status = 'deployed'
        ORDER BY deployed_at DESC NULLS LAST, created_at DESC LIMIT 1`,
      [input.leadId],
    );
    demoSiteId = rows[0]?.id ?? null;
  }
  // A running video_script test assigns the lead's variant now; the worker gets it with the work item.
  const ab = await exposeWork(uow.tx, "video", input.leadId);
  return enqueue(
    uow,
    "video",
    input.leadId,
    { preferences: input.preferences ?? {}, ...(ab ? { ab } : {}) },
    {
      sql: `INSERT INTO videos (lead_id, demo_site_id, status, created_at, ab_test_id, ab_variant)
            VALUES ($1, $2, 'queued', $3, $4, $5)`,
      params: [input.leadId, demoSiteId, uow.now.toISOString(), ab?.ab_test_id ?? null, ab?.variant ?? null],
    },
  );
}

export async function completeVideo(
  uow: UnitOfWork,
  id: string,
  input: {
    worker_id: string;
    video_url: string;
    duration_seconds?: number | undefined;
    script?: Record<string, unknown> | undefined;
    ai_gym?: AiGymMetrics | undefined;
  },
): Promise<WorkItemRow> {
  return completeWork(uow, "video", id, input, async (item) => {
    const { rows } = await uow.tx.query<{ demo_site_id: string | null }>(
      `UPDATE videos SET status = $2, video_url = $3, duration_seconds = $4, script = $5 WHERE id = $1
       RETURNING demo_site_id`,
      [
        id,
        KINDS.video.statuses.succeeded,
        input.video_url,
        input.duration_seconds ?? null,
        input.script ? JSON.stringify(input.script) : null,
      ],
    );
    uow.emit(
      "video.ready",
      {
        video_id: id,
        lead_id: item.lead_id,
        demo_site_id: rows[0]?.demo_site_id ?? null,
        video_url: input.video_url,
        duration_seconds: input.duration_seconds ?? null,
      },
      { correlationId: item.correlation_id },
    );
  });
}

export type VideoRow = Sortable &
  WorkColumns & {
    lead_id: string;
    demo_site_id: string | null;
    status: string | null;
    video_url: string | null;
    duration_seconds: number | null;
    script: Record<string, unknown> | null;
    created_at: Date | null;
  };

export function listVideos(db: pg.Pool, leadId: string, page: Page): Promise<VideoRow[]> {
  return listForLead(db, "video", leadId, page, {
    columns: `r.id, r.lead_id, r.demo_site_id, r.status, r.video_url, r.duration_seconds, r.script, r.created_at`,
    sortAt: "COALESCE(r.created_at, 'epoch')",
  });
}
