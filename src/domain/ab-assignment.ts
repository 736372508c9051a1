import { createHash } from "node:crypto";
import { z } from "zod";

/**
 * A/B test design and the deterministic assignment of a lead to a variant.
 *
 * Shape stored in ab_tests (and accepted by the API) — the shape the seed data already uses:
 * - `variants`: `[{ id: "A", subject: "Quick question about your website" }, { id: "B", subject: "…" }]` — `id` is
 *   what email_sends.ab_variant records (≤ 50 chars); `subject`, when present, is the subject line a send assigned
 *   to the variant gets; `content` is free-form content for other tested elements (body, CTA…), opaque to the API.
 * - `split_ratio`: `{ "A": 0.5, "B": 0.5 }` — one ratio in [0, 1] per variant id, summing to 1 (within 1e-9).
 */
export const AbVariantId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,50}$/, "letters, digits, '_' or '-', at most 50 characters");

export const AbVariant = z
  .strictObject({
    id: AbVariantId,
    subject: z.string().trim().min(1).max(998).optional().meta({
      description: "The subject line of sends assigned to this variant.",
    }),
    content: z.string().max(100_000).optional().meta({
      description: "Content of the variant for other tested elements (body, call to action…).",
    }),
  })
  .meta({ id: "AbVariant" });
export type AbVariant = z.infer<typeof AbVariant>;

export const AbVariants = z
  .array(AbVariant)
  .min(2)
  .max(26)
  .refine((vs) => new Set(vs.map((v) => v.id)).size === vs.length, { message: "variant ids must be unique" })
  .meta({ id: "AbVariants" });

const SUM_TOLERANCE = 1e-9;

export const AbSplitRatio = z
  .record(AbVariantId, z.number().min(0).max(1))
  .refine((r) => Object.keys(r).length > 0, { message: "needs a ratio per variant" })
  .refine((r) => Math.abs(Object.values(r).reduce((a, b) => a + b, 0) - 1) <= SUM_TOLERANCE, {
    message: "ratios must sum to 1",
  })
  .meta({ id: "AbSplitRatio", example: { A: 0.5, B: 0.5 } });
export type AbSplitRatio = z.infer<typeof AbSplitRatio>;

/** Why a split does not fit its variants (each variant needs exactly one ratio), or null when it fits. */
export function splitRatioMismatch(variants: readonly AbVariant[], splitRatio: AbSplitRatio): string | null {
  const keys = new Set(variants.map((v) => v.id));
  const missing = [...keys].filter((k) => !(k in splitRatio));
  const extra = Object.keys(splitRatio).filter((k) => !keys.has(k));
  if (missing.length === 0 && extra.length === 0) return null;
  return [
    missing.length ? `no ratio for ${missing.join(", ")}` : "",
    extra.length ? `ratio for unknown variant ${extra.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
}

/** variants + split_ratio validated together; use as the body of a test design, or spread its shape. */
export const AbDesign = z
  .object({ variants: AbVariants, split_ratio: AbSplitRatio })
  .superRefine((d, ctx) => {
    const mismatch = splitRatioMismatch(d.variants, d.split_ratio);
    if (mismatch) ctx.addIssue({ code: "custom", path: ["split_ratio"], message: mismatch });
  });

/** A stable number in [0, 1) for (test, lead): the first 48 bits of SHA-256(`${testId}:${leadId}`). */
export function assignmentPoint(testId: string, leadId: string): number {
  const digest = createHash("sha256").update(`${testId}:${leadId}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/**
 * The variant a lead gets in a test: deterministic (the same lead always gets the same variant of the same test, on
 * every process and after restarts) and distributed per split_ratio, by walking the cumulative ratios in the order
 * of `variants`. Variants with ratio 0 are never chosen; float rounding at the top end falls to the last variant
 * with a positive ratio.
 */
export function assignVariant(
  testId: string,
  leadId: string,
  variants: readonly AbVariant[],
  splitRatio: AbSplitRatio,
): AbVariant {
  const point = assignmentPoint(testId, leadId);
  let cumulative = 0;
  let lastPositive: AbVariant | undefined;
  for (const variant of variants) {
    const ratio = splitRatio[variant.id] ?? 0;
    if (ratio <= 0) continue;
    cumulative += ratio;
    lastPositive = variant;
    if (point < cumulative) return variant;
  }
  if (!lastPositive) throw new Error(`A/B test ${testId} has no variant with a positive split ratio`);
  return lastPositive;
}

/**
 * The variant a lead gets while some variants are stopped (they lost: src/domain/ab-evaluation.ts): the lead keeps
 * its variant when that one still runs; a lead whose variant is stopped is re-hashed (`${testId}:live`) over the
 * remaining variants' ratios. So no lead moves between running variants, and the running ones share the stopped
 * traffic in proportion to their ratios.
 */
export function assignLiveVariant(
  testId: string,
  leadId: string,
  variants: readonly AbVariant[],
  splitRatio: AbSplitRatio,
  stopped: readonly string[],
): AbVariant {
  const first = assignVariant(testId, leadId, variants, splitRatio);
  if (!stopped.includes(first.id)) return first;
  const live = variants.filter((v) => !stopped.includes(v.id) && (splitRatio[v.id] ?? 0) > 0);
  if (live.length === 0) return first;
  const total = live.reduce((sum, v) => sum + (splitRatio[v.id] ?? 0), 0);
  const liveSplit = Object.fromEntries(live.map((v) => [v.id, (splitRatio[v.id] ?? 0) / total]));
  return assignVariant(`${testId}:live`, leadId, live, liveSplit);
}
