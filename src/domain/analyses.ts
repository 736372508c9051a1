import type pg from "pg";
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

/** Website analyses: what POST /api/v2/analysis/{lead_id}, its completion and a lead's list do (src/rest/v2/analysis.ts). */

export async function queueAnalysis(
  uow: UnitOfWork,
  leadId: string,
  preferences: Preferences,
): Promise<QueuedWork> {
  await assertLeadExists(uow.tx, leadId);
  const now = uow.now.toISOString();
  return enqueue(
    uow,
    "analysis",
    leadId,
    { preferences: preferences ?? {} },
    {
      sql: `INSERT INTO website_analyses (lead_id, status, created_at, updated_at) VALUES ($1, 'queued', $2, $2)`,
      params: [leadId, now],
    },
  );
}

export type AnalysisScores = {
  overall?: number | undefined;
  performance?: number | undefined;
  seo?: number | undefined;
  accessibility?: number | undefined;
  design?: number | undefined;
};

export async function completeAnalysis(
  uow: UnitOfWork,
  id: string,
  input: {
    worker_id: string;
    scores: AnalysisScores;
    findings?: unknown;
    model_breakdown?: Record<string, unknown> | undefined;
    lighthouse_report?: Record<string, unknown> | undefined;
    model_used?: string | undefined;
    ai_gym?: AiGymMetrics | undefined;
  },
): Promise<WorkItemRow> {
  return completeWork(uow, "analysis", id, input, async (item) => {
    const s = input.scores;
    const json = (v: unknown) => (v === undefined ? null : JSON.stringify(v));
    await uow.tx.query(
      `UPDATE website_analyses
          SET status = $2, overall_score = $3, performance_score = $4, seo_score = $5, accessibility_score = $6,
              design_score = $7, findings = $8, model_breakdown = $9, lighthouse_report = $10, model_used = $11,
              completed_at = $12, updated_at = $12
        WHERE id = $1`,
      [
        id,
        KINDS.analysis.statuses.succeeded,
        s.overall ?? null,
        s.performance ?? null,
        s.seo ?? null,
        s.accessibility ?? null,
        s.design ?? null,
        json(input.findings),
        json(input.model_breakdown),
        json(input.lighthouse_report),
        input.model_used ?? null,
        uow.now.toISOString(),
      ],
    );
    uow.emit(
      "analysis.completed",
      {
        analysis_id: id,
        lead_id: item.lead_id,
        overall_score: s.overall ?? null,
        performance_score: s.performance ?? null,
        seo_score: s.seo ?? null,
        accessibility_score: s.accessibility ?? null,
        design_score: s.design ?? null,
        model_used: input.model_used ?? null,
      },
      { correlationId: item.correlation_id },
    );
  });
}

export type AnalysisRow = Sortable &
  WorkColumns & {
    lead_id: string;
    status: string;
    overall_score: number | null;
    performance_score: number | null;
    seo_score: number | null;
    accessibility_score: number | null;
    design_score: number | null;
    findings: unknown;
    model_breakdown: Record<string, unknown> | null;
    lighthouse_report: Record<string, unknown> | null;
    model_used: string | null;
    created_at: Date;
    completed_at: Date | null;
  };

export function listAnalyses(db: pg.Pool, leadId: string, page: Page): Promise<AnalysisRow[]> {
  return listForLead(db, "analysis", leadId, page, {
    columns: `r.id, r.lead_id, r.status, r.overall_score, r.performance_score, r.seo_score, r.accessibility_score,
              r.design_score, r.findings, r.model_breakdown, r.lighthouse_report, r.model_used, r.created_at,
              r.completed_at`,
    sortAt: "r.created_at",
  });
}
