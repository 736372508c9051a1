import type pg from "pg";
import { prepared } from "../db/prepared.js";
import { rate, type TwoProportionTest, twoProportionZTest } from "./statistics.js";

/** Lifetime results per test × variant (views/ab_variant_results.sql). */
export type AbVariantCounts = {
  ab_test_id: string;
  variant: string;
  sent: number;
  exposures: number;
  opens: number;
  clicks: number;
  replies: number;
  positive_replies: number;
  meetings: number;
};

/** One statement for any number of tests. */
export async function getAbVariantCounts(
  db: pg.Pool,
  testIds: readonly string[],
): Promise<AbVariantCounts[]> {
  const { rows } = await db.query<AbVariantCounts>(
    prepared(
      `SELECT ab_test_id, variant, sent, exposures, opens, clicks, replies, positive_replies, meetings
       FROM ab_variant_results WHERE ab_test_id = ANY($1::uuid[])
      ORDER BY ab_test_id, variant`,
      [testIds],
    ),
  );
  return rows;
}

export type AbVariantResult = AbVariantCounts & {
  is_control: boolean;
  open_rate: number | null;
  click_rate: number | null;
  reply_rate: number | null;
  positive_reply_rate: number | null;
  meeting_rate: number | null;
  /** (reply_rate − control's) / control's; null for the control or when the control's rate is 0 or unknown. */
  reply_rate_lift: number | null;
  /** Two-sided pooled two-proportion z-test of this variant's reply rate against the control's, α = 0.05. */
  significance: TwoProportionTest | null;
};

/**
 * Rates per variant (over exposures = delivered emails), and each variant's reply-rate lift over the control — the
 * first variant the test declares — with a two-proportion z-test. Variants declared but never sent show zeros.
 */
export function analyseAbTest(
  testId: string,
  declaredVariants: readonly string[],
  counts: readonly AbVariantCounts[],
): AbVariantResult[] {
  const byVariant = new Map(counts.filter((c) => c.ab_test_id === testId).map((c) => [c.variant, c]));
  const ids = [...declaredVariants, ...[...byVariant.keys()].filter((v) => !declaredVariants.includes(v))];
  const zero = (variant: string): AbVariantCounts => ({
    ab_test_id: testId,
    variant,
    sent: 0,
    exposures: 0,
    opens: 0,
    clicks: 0,
    replies: 0,
    positive_replies: 0,
    meetings: 0,
  });
  const rows = ids.map((v) => byVariant.get(v) ?? zero(v));
  const control = rows[0];
  const controlRate = control ? rate(control.replies, control.exposures) : null;
  return rows.map((c, i) => {
    const replyRate = rate(c.replies, c.exposures);
    const isControl = i === 0;
    return {
      ...c,
      is_control: isControl,
      open_rate: rate(c.opens, c.exposures),
      click_rate: rate(c.clicks, c.exposures),
      reply_rate: replyRate,
      positive_reply_rate: rate(c.positive_replies, c.exposures),
      meeting_rate: rate(c.meetings, c.exposures),
      reply_rate_lift:
        isControl || replyRate === null || !controlRate ? null : (replyRate - controlRate) / controlRate,
      significance:
        isControl || !control
          ? null
          : twoProportionZTest(c.replies, c.exposures, control.replies, control.exposures),
    };
  });
}
