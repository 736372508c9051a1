import type pg from "pg";
import { z } from "zod";
import { type AbVariant, assignLiveVariant } from "./ab-assignment.js";

/**
 * Where A/B tests are exposed: every element type gets its variant at the moment the thing it varies is produced —
 * `subject_line` and `email_body` when an email is queued (src/domain/email-sends.ts), `demo_style` when a demo is
 * queued (demos.ts), `video_script` when a video is queued (videos.ts). The row produced records the test and the
 * variant (email_sends / demo_sites / videos `.ab_test_id`, `.ab_variant`); the evaluation job counts outcomes of the
 * delivered emails that carried them (src/domain/ab-evaluation.ts).
 */

export type AbElementKind = "email" | "demo" | "video";

/** Element types (ab_tests.element_type) per place of exposure. `subject` is the seed's older name. */
export const ELEMENT_TYPES: Record<AbElementKind, readonly string[]> = {
  email: ["subject_line", "subject", "email_body"],
  demo: ["demo_style"],
  video: ["video_script"],
};

/** Element types whose variants change the subject line of a send (the others change its body). */
export const SUBJECT_ELEMENT_TYPES: readonly string[] = ["subject_line", "subject"];

/** ab_tests rows are read leniently: only the fields assignment needs. */
const StoredVariants = z
  .array(
    z.looseObject({ id: z.string().min(1), subject: z.string().optional(), content: z.string().optional() }),
  )
  .min(1);
const StoredSplit = z.record(z.string(), z.number());

export type ExposedTest = {
  id: string;
  element_type: string;
  variants: AbVariant[];
  split: Record<string, number>;
  stopped: string[];
};

/**
 * The active test exposed here: the newest active test of the element types (for emails: of the campaign; demos
 * and videos belong to no campaign, so the newest active one of their type). One test per send, demo or video, as
 * the rows have one ab_test_id.
 *
 * FOR SHARE: a concurrent evaluation that stops variants or decides the test (it locks the row FOR UPDATE) is
 * waited for, and then the stopped set it committed is read — so a stopped variant never gets another exposure.
 */
export async function findExposedTest(
  tx: pg.ClientBase,
  kind: AbElementKind,
  campaignId: string | null,
): Promise<ExposedTest | null> {
  const { rows } = await tx.query<{
    id: string;
    element_type: string;
    variants: unknown;
    split_ratio: unknown;
    stopped_variants: string[];
  }>(
    `SELECT id, element_type, variants, split_ratio, stopped_variants FROM ab_tests
      WHERE status = 'active' AND element_type = ANY($1) AND ($2::uuid IS NULL OR campaign_id = $2)
      ORDER BY created_at DESC NULLS LAST, id DESC
      LIMIT 1
      FOR SHARE`,
    [ELEMENT_TYPES[kind], campaignId],
  );
  const row = rows[0];
  if (!row) return null;
  const variants = StoredVariants.safeParse(row.variants);
  const split = StoredSplit.safeParse(row.split_ratio);
  // The A/B endpoints validate designs, so a bad row is corrupt data: fail loudly rather than expose unassigned.
  if (!variants.success || !split.success) throw new Error(`ab_tests ${row.id} holds an invalid design`);
  return {
    id: row.id,
    element_type: row.element_type,
    variants: variants.data,
    split: split.data,
    stopped: row.stopped_variants,
  };
}

/** The variant the lead is exposed to: deterministic, never a stopped one (assignLiveVariant). */
export function exposeLead(test: ExposedTest, leadId: string): AbVariant {
  return assignLiveVariant(test.id, leadId, test.variants, test.split, test.stopped);
}

/** What a demo or video worker is told to produce, kept in its work item's payload. */
export type WorkAbVariant = { ab_test_id: string; variant: string; content: string | null };

/** Finds the active demo_style / video_script test and the lead's variant in it, or null when none runs. */
export async function exposeWork(
  tx: pg.ClientBase,
  kind: "demo" | "video",
  leadId: string,
): Promise<WorkAbVariant | null> {
  const test = await findExposedTest(tx, kind, null);
  if (!test) return null;
  const variant = exposeLead(test, leadId);
  return { ab_test_id: test.id, variant: variant.id, content: variant.content ?? null };
}
