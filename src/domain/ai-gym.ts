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
  const [ids] = await recordAiGymPerformanceOfMany([{ uow, records }], pointer);
  return ids ?? [];
}

/**
 * recordAiGymPerformance for several requests sharing one transaction (group commit): one lead check and one INSERT
 * for all of them, each request's audit entries on its own UnitOfWork. Refuses all of them, with the first failing
 * request's errors, when any names a missing lead (the caller then runs each alone).
 */
export async function recordAiGymPerformanceOfMany(
  parts: readonly { uow: UnitOfWork; records: readonly AiGymRecordInput[] }[],
  pointer: (index: number) => string = (i) => `/records/${i}`,
): Promise<{ id: string }[][]> {
  const tx = parts[0]?.uow.tx;
  if (!tx) return [];
  const leadIds = [
    ...new Set(parts.flatMap((p) => p.records.flatMap((r) => (r.lead_id ? [r.lead_id] : [])))),
  ];
  if (leadIds.length > 0) {
    const { rows } = await tx.query<{ id: string }>(
      `SELECT x.id FROM unnest($1::uuid[]) AS x(id) WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = x.id AND l.erased_at IS NULL)`,
      [leadIds],
    );
    const missing = new Set(rows.map((r) => r.id));
    for (const { records } of parts) {
      const errors: FieldError[] = [];
      for (const [i, r] of records.entries()) {
        if (r.lead_id && missing.has(r.lead_id)) {
          errors.push({ location: "body", path: `${pointer(i)}/lead_id`, message: "no such lead" });
        }
      }
      if (errors.length) throw new UnprocessableError("Some AI-GYM records cannot be stored.", errors);
    }
  }

  const rows = parts.flatMap(({ uow, records }) =>
    records.map((record) => ({ uow, record, id: randomUUID() as string })),
  );
  const col = <K extends keyof AiGymRecordInput>(k: K) => rows.map(({ record }) => record[k] ?? null);
  await tx.query({
    name: "ai-gym-insert",
    text: `INSERT INTO ai_gym_performance (id, task_type, model_name, lead_id, cost, duration_seconds, quality_score,
                                     conversion_metric, prompt_hash, response_hash, metadata, created_at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::numeric[], $6::int[], $7::int[],
                          $8::numeric[], $9::text[], $10::text[], $11::jsonb[], $12::timestamp[])`,
    values: [
      rows.map((r) => r.id),
      col("task_type"),
      col("model_name"),
      col("lead_id"),
      col("cost"),
      col("duration_seconds"),
      col("quality_score"),
      col("conversion_metric"),
      rows.map(({ record }) => record.prompt_hash?.toLowerCase() ?? null),
      rows.map(({ record }) => record.response_hash?.toLowerCase() ?? null),
      rows.map(({ record }) => (record.metadata ? JSON.stringify(record.metadata) : null)),
      rows.map(({ uow, record }) => (record.created_at ?? uow.now).toISOString()),
    ],
  });
  for (const { uow, record, id } of rows) {
    uow.audit({
      action: "ai_gym.recorded",
      resourceType: "ai_gym_performance",
      resourceId: id,
      details: { task_type: record.task_type, model_name: record.model_name },
    });
  }
  let at = 0;
  return parts.map(({ records }) => {
    const ids = rows.slice(at, at + records.length).map(({ id }) => ({ id }));
    at += records.length;
    return ids;
  });
}
