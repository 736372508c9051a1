import type { z } from "zod";
import { requestNow } from "../request-clock.js";
import { FUTURE_SKEW_MS, IsoDateTimeWithOffset, inStorableRange, Uuid } from "../schemas.js";
import type { AiGymRecordInput } from "./ai-gym.js";

type AiGymRecord = z.output<typeof AiGymRecordInput>;

/** zod's own patterns for these formats, so the fast path cannot accept a value zod refuses. */
const UUID = Uuid._zod.pattern as RegExp;
const ISO_DATETIME = IsoDateTimeWithOffset._zod.pattern as RegExp;
const TASK_TYPE = /^[a-z][a-z0-9_]{0,49}$/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const FOUR_DECIMALS = /^\d+(\.\d{1,4})?$/;
const KEYS = new Set([
  "task_type",
  "lead_id",
  "model_name",
  "cost",
  "duration_seconds",
  "quality_score",
  "prompt_hash",
  "response_hash",
  "metadata",
  "conversion_metric",
  "created_at",
]);

const isNumeric10_4 = (v: unknown): v is number =>
  typeof v === "number" && v >= 0 && v <= 999_999.9999 && FOUR_DECIMALS.test(String(v));
const isInt = (v: unknown, max: number): v is number =>
  Number.isInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isHash = (v: unknown) => v === undefined || (typeof v === "string" && SHA256_HEX.test(v));
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/**
 * AiGymRecordInput's answer for the common, valid line at a fraction of zod's cost (zod is most of a bulk load's CPU
 * time per row): the same output when it accepts, `null` when the line is anything unusual — then zod decides and
 * words the errors. It may only ever be stricter than zod, never looser; test/rest/bulk-ingest.test.ts checks that
 * on generated lines.
 */
export function fastAiGymRecord(value: unknown): AiGymRecord | null {
  if (!isPlainObject(value)) return null;
  for (const k in value) if (!KEYS.has(k)) return null;
  const v = value;
  const { task_type, model_name, lead_id, created_at, metadata, conversion_metric } = v;
  if (typeof task_type !== "string" || !TASK_TYPE.test(task_type)) return null;
  // ModelName trims; a name that trimming would change goes to zod.
  if (typeof model_name !== "string" || model_name.length < 1 || model_name.length > 50) return null;
  if (model_name.trim() !== model_name) return null;
  if (!isNumeric10_4(v.cost)) return null;
  if (!isInt(v.duration_seconds, 2_147_483_647) || !isInt(v.quality_score, 100)) return null;
  if (!isHash(v.prompt_hash) || !isHash(v.response_hash)) return null;
  if (lead_id !== undefined && (typeof lead_id !== "string" || !UUID.test(lead_id))) return null;
  if (conversion_metric !== undefined && !isNumeric10_4(conversion_metric)) return null;
  // zod's record drops an own "__proto__" key (it assigns it); leave such a line to zod.
  if (metadata !== undefined && (!isPlainObject(metadata) || Object.hasOwn(metadata, "__proto__")))
    return null;
  let at: Date | undefined;
  if (created_at !== undefined) {
    if (typeof created_at !== "string" || !ISO_DATETIME.test(created_at)) return null;
    at = new Date(created_at);
    if (!inStorableRange(at) || at.getTime() > requestNow().getTime() + FUTURE_SKEW_MS) return null;
  }
  const out: AiGymRecord = {
    task_type,
    model_name,
    cost: v.cost,
    duration_seconds: v.duration_seconds,
    quality_score: v.quality_score,
  };
  if (lead_id !== undefined) out.lead_id = lead_id;
  if (v.prompt_hash !== undefined) out.prompt_hash = v.prompt_hash as string;
  if (v.response_hash !== undefined) out.response_hash = v.response_hash as string;
  if (metadata !== undefined) out.metadata = metadata;
  if (conversion_metric !== undefined) out.conversion_metric = conversion_metric;
  if (at !== undefined) out.created_at = at;
  return out;
}
