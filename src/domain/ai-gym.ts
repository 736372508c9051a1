import { randomUUID } from "node:crypto";
import { type FieldError, UnprocessableError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

export type AiGymRecordInput = {
  task_type: string;
  model_name: string;
  lead_id?: string | null | undefined;
  cost: number;
  duration_seconds: number;
  quality_score: number;
  conversion_metric?: number | null | undefined;
  prompt_hash?: string | null | undefined;
  response_hash?: string | null | undefined;
  metadata?: Record<string, unknown> | null | undefined;
  /** Defaults to the request clock; the REST contract (occurredAtInput) has refused one in the future. */
  created_at?: Date | undefined;
};

/**
 * Records AI-GYM rows in one INSERT, whatever the batch size. Ids are generated here rather than by the database so
 * that the answer can list them in input order without relying on RETURNING order. Leads are checked up front to
 * name the failing records (the FK alone would only say "unknown reference").
 */
export async function recordAiGymPerformance(
  uow: UnitOfWork,
  records: readonly AiGymRecordInput[],
  pointer: (index: number) => string = (i) => `/records/${i}`,
): Promise<{ id: string }[]> {
  const errors: FieldError[] = [];
  const leadIds = [...new Set(records.flatMap((r) => (r.lead_id ? [r.lead_id] : [])))];
  if (leadIds.length > 0) {
    const { rows } = await uow.tx.query<{ id: string }>(
      `SELECT x.id FROM unnest($1::uuid[]) AS x(id) WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = x.id AND l.erased_at IS NULL)`,
      [leadIds],
    );
    const missing = new Set(rows.map((r) => r.id));
    for (const [i, r] of records.entries()) {
      if (r.lead_id && missing.has(r.lead_id)) {
        errors.push({ location: "body", path: `${pointer(i)}/lead_id`, message: "no such lead" });
      }
    }
  }
  if (errors.length) throw new UnprocessableError("Some AI-GYM records cannot be stored.", errors);

  const ids = records.map(() => randomUUID());
  const col = <K extends keyof AiGymRecordInput>(k: K) => records.map((r) => r[k] ?? null);
  await uow.tx.query(
    `INSERT INTO ai_gym_performance (id, task_type, model_name, lead_id, cost, duration_seconds, quality_score,
                                     conversion_metric, prompt_hash, response_hash, metadata, created_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::numeric[], $6::int[], $7::int[],
                          $8::numeric[], $9::text[], $10::text[], $11::jsonb[], $12::timestamp[])`,
    [
      ids,
      col("task_type"),
      col("model_name"),
      col("lead_id"),
      col("cost"),
      col("duration_seconds"),
      col("quality_score"),
      col("conversion_metric"),
      records.map((r) => r.prompt_hash?.toLowerCase() ?? null),
      records.map((r) => r.response_hash?.toLowerCase() ?? null),
      records.map((r) => (r.metadata ? JSON.stringify(r.metadata) : null)),
      records.map((r) => (r.created_at ?? uow.now).toISOString()),
    ],
  );
  for (const [i, id] of ids.entries()) {
    uow.audit({
      action: "ai_gym.recorded",
      resourceType: "ai_gym_performance",
      resourceId: id,
      details: { task_type: records[i]?.task_type, model_name: records[i]?.model_name },
    });
  }
  return ids.map((id) => ({ id }));
}
