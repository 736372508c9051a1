import { randomUUID } from "node:crypto";
import type { AiGymRecordInput } from "./ai-gym.js";
import {
  type BulkItem,
  BulkLoadRefusedError,
  type BulkOptions,
  type BulkReport,
  DEFAULT_MAX_ERRORS,
  RejectionLog,
} from "./bulk/bulk-load.js";
import { copyLine, copyText } from "./bulk/copy-text.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * A row of an AI-GYM bulk load: what `POST /api/v2/ai-gym/records` takes, plus what only a trusted caller (the seeder)
 * may set — the row id, and a missing quality score as stored history has it.
 */
export type AiGymBulkRecord = Omit<AiGymRecordInput, "quality_score"> & {
  quality_score: number | null;
  id?: string | undefined;
};

/** Rows per COPY statement and per lead check: big enough to amortise the round trips, small enough to stay bounded. */
const CHUNK_ROWS = 10_000;

const COPY_SQL = `COPY ai_gym_performance (id, task_type, model_name, lead_id, cost, duration_seconds, quality_score,
  conversion_metric, prompt_hash, response_hash, metadata, created_at) FROM STDIN`;

/**
 * Loads AI-GYM records through `COPY … FROM STDIN` into the partitioned parent (PostgreSQL routes each row to its
 * month), in the caller's transaction, in chunks of CHUNK_ROWS: each chunk's leads are checked in one query (a
 * missing or erased lead refuses that line, as `recordAiGymPerformance` refuses the record) and its rows are COPYed
 * while the next chunk is parsed. The rows are exactly what `recordAiGymPerformance` writes for the same input:
 * generated id, lower-cased hashes, `created_at` defaulting to the request clock.
 *
 * Audit and outbox are per load, not per row (one `ai_gym.bulk_loaded` audit entry and event): a row each would
 * double the write volume of a load, and single AI-GYM writes emit no event at all.
 */
export async function loadAiGymRecords(
  uow: UnitOfWork,
  items: AsyncIterable<BulkItem<AiGymBulkRecord>>,
  options: BulkOptions,
): Promise<BulkReport> {
  const loadId = randomUUID();
  const log = new RejectionLog(options.maxErrors ?? DEFAULT_MAX_ERRORS);
  let accepted = 0;
  let from: Date | null = null;
  let to: Date | null = null;
  let chunk: { line: number; value: AiGymBulkRecord }[] = [];
  let inFlight: Promise<number> | null = null;
  const now = uow.now;

  const flush = async () => {
    const rows = chunk;
    chunk = [];
    // One statement at a time on the connection: the previous COPY must end before the lead check.
    if (inFlight) await inFlight;
    inFlight = null;
    const leadIds = [...new Set(rows.flatMap((r) => (r.value.lead_id ? [r.value.lead_id] : [])))];
    let missing = new Set<string>();
    if (leadIds.length > 0) {
      const { rows: absent } = await uow.tx.query<{ id: string }>(
        `SELECT x.id FROM unnest($1::uuid[]) AS x(id)
          WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = x.id AND l.erased_at IS NULL)`,
        [leadIds],
      );
      missing = new Set(absent.map((r) => r.id));
    }
    const good = missing.size === 0 ? rows : [];
    if (missing.size > 0) {
      for (const r of rows) {
        if (r.value.lead_id && missing.has(r.value.lead_id)) {
          log.reject(r.line, [{ path: "/lead_id", message: "no such lead" }]);
        } else good.push(r);
      }
    }
    // Atomic and already refused: keep validating the rest for the report, write nothing more.
    if (options.atomic && log.rejected > 0) return;
    accepted += good.length;
    for (const { value } of good) {
      const at = value.created_at ?? now;
      if (!from || at < from) from = at;
      if (!to || at > to) to = at;
    }
    inFlight = copyText(uow.tx, COPY_SQL, encode(good, now));
    // Observed at the next flush or at the end; this keeps a failure between the two from going unhandled.
    inFlight.catch(() => undefined);
  };

  for await (const item of items) {
    if ("errors" in item) log.reject(item.line, item.errors);
    else chunk.push(item);
    if (chunk.length >= CHUNK_ROWS) await flush();
  }
  if (chunk.length > 0) await flush();
  if (inFlight) await inFlight;

  const report = log.report(loadId, options.atomic && log.rejected > 0 ? 0 : accepted);
  if (options.atomic && report.rejected > 0) throw new BulkLoadRefusedError(report);
  const fromAt = from as Date | null;
  const toAt = to as Date | null;
  uow.audit({
    action: "ai_gym.bulk_loaded",
    resourceType: "ai_gym_bulk_load",
    resourceId: loadId,
    details: { accepted: report.accepted, rejected: report.rejected, atomic: options.atomic },
  });
  uow.emit("ai_gym.bulk_loaded", {
    load_id: loadId,
    accepted: report.accepted,
    rejected: report.rejected,
    created_from: fromAt ? fromAt.toISOString() : null,
    created_to: toAt ? toAt.toISOString() : null,
  });
  return report;
}

/** Chunk rows as COPY text, a few hundred rows per string so the stream gets large writes. */
function* encode(rows: readonly { value: AiGymBulkRecord }[], now: Date): Generator<string> {
  let text = "";
  for (let i = 0; i < rows.length; i++) {
    const r = (rows[i] as { value: AiGymBulkRecord }).value;
    text += copyLine([
      r.id ?? randomUUID(),
      r.task_type,
      r.model_name,
      r.lead_id ?? null,
      r.cost,
      r.duration_seconds,
      r.quality_score,
      r.conversion_metric ?? null,
      r.prompt_hash?.toLowerCase() ?? null,
      r.response_hash?.toLowerCase() ?? null,
      r.metadata ? JSON.stringify(r.metadata) : null,
      (r.created_at ?? now).toISOString(),
    ]);
    if (text.length > 256 * 1024) {
      yield text;
      text = "";
    }
  }
  if (text) yield text;
}
