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

/** Demo sites: what POST /api/v2/demos[/{lead_id}], their completion and a lead's list do (src/rest/v2/demos.ts). */

/** Where the lead id came from decides its error: a missing path resource is 404, a bad body reference 422. */
export type LeadRef = { id: string; from: "path" | "body" };

async function assertLead(uow: UnitOfWork, lead: LeadRef): Promise<void> {
  if (lead.from === "path") return assertLeadExists(uow.tx, lead.id);
  const { rowCount } = await uow.tx.query(`SELECT 1 FROM leads WHERE id = $1 AND erased_at IS NULL`, [
    lead.id,
  ]);
  if (!rowCount) {
    throw new UnprocessableError("The lead does not exist.", [{ field: "lead_id", message: "no such lead" }]);
  }
}

/**
 * Queues a demo for a lead. `analysis_id` must be one of the lead's analyses; when omitted, the lead's latest
 * completed analysis (if any) is the one the worker builds from.
 */
export async function queueDemo(
  uow: UnitOfWork,
  input: { lead: LeadRef; analysis_id?: string | undefined; preferences: Preferences },
): Promise<QueuedWork> {
  await assertLead(uow, input.lead);
  let analysisId: string | null = null;
  if (input.analysis_id) {
    const { rowCount } = await uow.tx.query(`SELECT 1 FROM website_analyses WHERE id = $1 AND lead_id = $2`, [
      input.analysis_id,
      input.lead.id,
    ]);
    if (!rowCount) {
      throw new UnprocessableError("The analysis is not one of this lead's analyses.", [
        { field: "analysis_id", message: "no analysis with this id for the lead" },
      ]);
    }
    analysisId = input.analysis_id;
  } else {
    const { rows } = await uow.tx.query<{ id: string }>(
      `SELECT id FROM website_analyses WHERE lead_id = $1 AND status = 'completed'
        ORDER BY completed_at DESC NULLS LAST, created_at DESC LIMIT 1`,
      [input.lead.id],
    );
    analysisId = rows[0]?.id ?? null;
  }
  // A running demo_style test assigns the lead's variant now; the worker gets it with the work item.
  const ab = await exposeWork(uow.tx, "demo", input.lead.id);
  return enqueue(
    uow,
    "demo",
    input.lead.id,
    { preferences: input.preferences ?? {}, ...(ab ? { ab } : {}) },
    {
      sql: `INSERT INTO demo_sites (lead_id, analysis_id, status, created_at, ab_test_id, ab_variant)
            VALUES ($1, $2, 'queued', $3, $4, $5)`,
      params: [input.lead.id, analysisId, uow.now.toISOString(), ab?.ab_test_id ?? null, ab?.variant ?? null],
    },
  );
}

export async function completeDemo(
  uow: UnitOfWork,
  id: string,
  input: {
    worker_id: string;
    deployment_url: string;
    qa_report?: Record<string, unknown> | undefined;
    model_used?: string | undefined;
    ai_gym?: AiGymMetrics | undefined;
  },
): Promise<WorkItemRow> {
  return completeWork(uow, "demo", id, input, async (item) => {
    const { rows } = await uow.tx.query<{ analysis_id: string | null }>(
      `UPDATE demo_sites SET status = $2, deployment_url = $3, qa_report = $4, model_used = $5, deployed_at = $6
        WHERE id = $1
       RETURNING analysis_id`,
      [
        id,
        KINDS.demo.statuses.succeeded,
        input.deployment_url,
        input.qa_report ? JSON.stringify(input.qa_report) : null,
        input.model_used ?? null,
        uow.now.toISOString(),
      ],
    );
    uow.emit(
      "demo.deployed",
      {
        demo_id: id,
        lead_id: item.lead_id,
        analysis_id: rows[0]?.analysis_id ?? null,
        deployment_url: input.deployment_url,
        model_used: input.model_used ?? null,
      },
      { correlationId: item.correlation_id },
    );
  });
}

export type DemoRow = Sortable &
  WorkColumns & {
    lead_id: string;
    analysis_id: string | null;
    status: string | null;
    deployment_url: string | null;
    qa_report: Record<string, unknown> | null;
    model_used: string | null;
    created_at: Date | null;
    deployed_at: Date | null;
  };

export function listDemos(db: pg.Pool, leadId: string, page: Page): Promise<DemoRow[]> {
  return listForLead(db, "demo", leadId, page, {
    columns: `r.id, r.lead_id, r.analysis_id, r.status, r.deployment_url, r.qa_report, r.model_used, r.created_at,
              r.deployed_at`,
    sortAt: "COALESCE(r.created_at, 'epoch')",
  });
}
