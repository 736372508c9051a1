import type pg from "pg";
import { z } from "zod";
import type { EventValidator } from "../events/schemas.js";
import { ELEMENT_TYPES } from "./ab-exposure.js";
import {
  type ComparisonEvidence,
  type DecisionState,
  evaluateSequentialTest,
  type VariantSample,
} from "./ab-sequential-test.js";
import type { Principal } from "./principal.js";
import { inSystemTransaction, type UnitOfWork } from "./unit-of-work.js";

/**
 * The `ab_evaluate` job's work (src/jobs/scheduler.ts): every active A/B test is looked at on its declared metric
 * with the always-valid sequential test of src/domain/ab-sequential-test.ts. A look stores its evidence on the test;
 * a variant that lost is stopped (no new exposures); a decisive look records the winner, completes the test and
 * emits `abtest.decided` with the statistics.
 *
 * The unit of a sample is a lead exposed to a variant (the unit that was randomised — a lead's follow-ups repeat its
 * variant and are not independent trials) with at least one delivered email that carried the exposure; a success is
 * a lead any of whose such emails has the metric's outcome in email_send_outcomes (replied, positive_reply,
 * meeting_booked). Subject and body tests are carried by the email itself (email_sends.ab_test_id); demo_style and
 * video_script tests by the demo or video the email linked (email_sends.demo_site_id / video_id → demo_sites /
 * videos .ab_test_id), and, for a test of a campaign, only that campaign's emails.
 */

export const AB_METRICS = ["reply_rate", "positive_reply_rate", "meeting_rate"] as const;
export type AbMetric = (typeof AB_METRICS)[number];

/** The email_send_outcomes column each metric counts (an allow-list: it is interpolated as an identifier). */
const OUTCOME_COLUMN: Record<AbMetric, string> = {
  reply_rate: "replied",
  positive_reply_rate: "positive_reply",
  meeting_rate: "meeting_booked",
};

const NullableNumber = z.number().nullable();

const ComparisonEvidenceSchema = z.object({
  variant: z.string(),
  samples: z.number(),
  successes: z.number(),
  control_samples: z.number(),
  control_successes: z.number(),
  rate: NullableNumber,
  control_rate: NullableNumber,
  effect: NullableNumber,
  e_value: z.number(),
  p_value: z.number(),
  interval_low: NullableNumber,
  interval_high: NullableNumber,
  holm_threshold: z.number(),
  eligible: z.boolean(),
  significant: z.boolean(),
  projected_samples_needed: NullableNumber,
}) satisfies z.ZodType<ComparisonEvidence>;

/** What ab_tests.evidence holds: the last look of the sequential test. */
export const AbEvidence = z.object({
  method: z.literal("msprt"),
  metric: z.enum(AB_METRICS),
  alpha: z.number(),
  min_sample_per_variant: z.number(),
  mixing_variance: z.number(),
  control: z.string(),
  looks: z.number().int(),
  evaluated_at: z.string(),
  comparisons: z.array(ComparisonEvidenceSchema),
});
export type AbEvidence = z.infer<typeof AbEvidence>;

/** The stored evidence, or null when there is none or it is not in today's shape (then the next look starts over). */
export function parseEvidence(value: unknown): AbEvidence | null {
  const parsed = AbEvidence.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * The decision state to show: a test with a winner is decided whoever wrote it (rows inserted with a winner but
 * without the 0022 columns — hand-written or older generators — keep the column default `collecting`).
 */
export function decisionStateOf(row: {
  winning_variant: string | null;
  decision_state: string;
}): DecisionState {
  if (row.winning_variant !== null) return "decided";
  return row.decision_state === "testing" ? "testing" : "collecting";
}

/** The statistics `abtest.decided` carries (events/abtest.decided.v1.schema.json, `statistics`). */
export function decisionStatistics(e: AbEvidence) {
  return {
    method: e.method,
    metric: e.metric,
    alpha: e.alpha,
    min_sample_per_variant: e.min_sample_per_variant,
    mixing_variance: e.mixing_variance,
    control: e.control,
    looks: e.looks,
    comparisons: e.comparisons.map((c) => ({
      variant: c.variant,
      samples: c.samples,
      successes: c.successes,
      control_samples: c.control_samples,
      control_successes: c.control_successes,
      effect: c.effect,
      p_value: c.p_value,
      e_value: c.e_value,
      interval_low: c.interval_low,
      interval_high: c.interval_high,
      holm_threshold: c.holm_threshold,
      significant: c.significant,
    })),
  };
}

type TestRow = {
  id: string;
  campaign_id: string | null;
  element_type: string | null;
  variants: unknown;
  status: string;
  metric: AbMetric;
  alpha: number;
  min_sample_per_variant: number;
  mixing_variance: number;
  stopped_variants: string[];
  evidence: unknown;
};

/** Where the exposures of a test's element type are recorded, as (variant, lead, send) rows; $1 the test. */
function exposures(test: { id: string; campaign_id: string | null; element_type: string | null }): {
  sql: string;
  params: unknown[];
} {
  const via = (table: string, column: string) => ({
    sql: `SELECT r.ab_variant AS variant, s.lead_id, s.id, s.created_at
            FROM ${table} r JOIN email_sends s ON s.${column} = r.id
           WHERE r.ab_test_id = $1 AND ($2::uuid IS NULL OR s.campaign_id = $2)`,
    params: [test.id, test.campaign_id],
  });
  if (test.element_type && ELEMENT_TYPES.demo.includes(test.element_type))
    return via("demo_sites", "demo_site_id");
  if (test.element_type && ELEMENT_TYPES.video.includes(test.element_type)) return via("videos", "video_id");
  return {
    sql: `SELECT s.ab_variant AS variant, s.lead_id, s.id, s.created_at FROM email_sends s WHERE s.ab_test_id = $1`,
    params: [test.id],
  };
}

/**
 * Exposed leads and successes per variant on the metric, in the order of `variantIds` (zeros for a variant without
 * any). One statement; reads the base tables through email_send_outcomes, so it is exact and needs no refresh.
 */
export async function getAbTestSamples(
  db: pg.Pool | pg.ClientBase,
  test: { id: string; campaign_id: string | null; element_type: string | null; metric: AbMetric },
  variantIds: readonly string[],
): Promise<VariantSample[]> {
  const outcome = OUTCOME_COLUMN[test.metric];
  const exposed = exposures(test);
  const { rows } = await db.query<{ variant: string; n: number; successes: number }>(
    `WITH exposures AS (${exposed.sql}),
          units AS (
            SELECT e.variant, e.lead_id, bool_or(o.${outcome}) AS success
              FROM exposures e
              JOIN email_send_outcomes o ON o.id = e.id AND o.created_at = e.created_at
             WHERE o.delivered AND e.variant IS NOT NULL AND e.lead_id IS NOT NULL
             GROUP BY e.variant, e.lead_id)
     SELECT variant, count(*)::int AS n, count(*) FILTER (WHERE success)::int AS successes
       FROM units GROUP BY variant`,
    exposed.params,
  );
  const byVariant = new Map(rows.map((r) => [r.variant, r]));
  return variantIds.map((variant) => {
    const r = byVariant.get(variant);
    return { variant, n: r?.n ?? 0, successes: r?.successes ?? 0 };
  });
}

function variantIdsOf(variants: unknown): string[] {
  const parsed = z.array(z.looseObject({ id: z.string() })).safeParse(variants);
  return parsed.success ? parsed.data.map((v) => v.id) : [];
}

export type TestEvaluation = {
  ab_test_id: string;
  state: DecisionState;
  winner: string | null;
  newly_stopped: string[];
};

/**
 * One look at one test, in the caller's transaction. Locks the test (FOR UPDATE: waits for sends that are reading
 * its stopped variants FOR SHARE, and serialises with a manual decide), then counts, evaluates and writes. Null
 * when the test is no longer active or has no valid design.
 */
export async function evaluateAbTest(uow: UnitOfWork, testId: string): Promise<TestEvaluation | null> {
  const { rows } = await uow.tx.query<TestRow>(
    `SELECT id, campaign_id, element_type, variants, status, metric, alpha, min_sample_per_variant,
            mixing_variance, stopped_variants, evidence
       FROM ab_tests WHERE id = $1 FOR UPDATE`,
    [testId],
  );
  const test = rows[0];
  const variantIds = variantIdsOf(test?.variants);
  if (test?.status !== "active" || variantIds.length < 2) {
    uow.wroteNothing();
    return null;
  }

  const samples = await getAbTestSamples(uow.tx, test, variantIds);
  const previous = parseEvidence(test.evidence);
  // Evidence of another rule (a test redesigned while draft never has any; this guards hand edits) starts over.
  const sameRule =
    previous !== null &&
    previous.metric === test.metric &&
    previous.mixing_variance === test.mixing_variance &&
    previous.alpha === test.alpha;
  const rule = {
    alpha: test.alpha,
    minSamplePerVariant: test.min_sample_per_variant,
    mixingVariance: test.mixing_variance,
  };
  const result = evaluateSequentialTest(
    samples,
    rule,
    sameRule ? previous.comparisons : null,
    test.stopped_variants,
  );
  const evidence: AbEvidence = {
    method: "msprt",
    metric: test.metric,
    alpha: test.alpha,
    min_sample_per_variant: test.min_sample_per_variant,
    mixing_variance: test.mixing_variance,
    control: result.control,
    looks: (sameRule ? previous.looks : 0) + 1,
    evaluated_at: uow.now.toISOString(),
    comparisons: result.comparisons,
  };
  const decided = result.state === "decided";
  await uow.tx.query(
    `UPDATE ab_tests
        SET evidence = $2, evaluated_at = $3, decision_state = $4, stopped_variants = $5::varchar[],
            status = CASE WHEN $6::boolean THEN 'completed' ELSE status END,
            winning_variant = CASE WHEN $6::boolean THEN $7::varchar ELSE winning_variant END,
            decided_at = CASE WHEN $6::boolean THEN $3::timestamp ELSE decided_at END,
            decided_by = CASE WHEN $6::boolean THEN 'sequential_test' ELSE decided_by END
      WHERE id = $1`,
    [
      test.id,
      JSON.stringify(evidence),
      uow.now.toISOString(),
      result.state,
      result.stopped,
      decided,
      result.winner,
    ],
  );

  const newlyStopped = result.stopped.filter((v) => !test.stopped_variants.includes(v));
  if (decided && result.winner) {
    uow.audit({
      action: "ab_test.decided",
      resourceType: "ab_test",
      resourceId: test.id,
      details: { winning_variant: result.winner, decided_by: "sequential_test", looks: evidence.looks },
    });
    uow.emit("abtest.decided", {
      ab_test_id: test.id,
      campaign_id: test.campaign_id,
      winning_variant: result.winner,
      decided_at: uow.now.toISOString(),
      decided_by: "sequential_test",
      statistics: decisionStatistics(evidence),
    });
  } else if (newlyStopped.length > 0) {
    uow.audit({
      action: "ab_test.variants_stopped",
      resourceType: "ab_test",
      resourceId: test.id,
      details: { stopped: newlyStopped, looks: evidence.looks },
    });
  } else {
    // The evidence is derived data, recomputable from the sends; an audit row per test per look would only say
    // that a clock ticked. State changes (stops, decisions) are audited above.
    uow.wroteNothing();
  }
  return { ab_test_id: test.id, state: result.state, winner: result.winner, newly_stopped: newlyStopped };
}

const SYSTEM: Principal = { type: "system", id: "ab-evaluate" };

/**
 * Looks at every active test, each in a transaction of its own (a test's lock is held only for its own look, and
 * one test's failure does not undo the others').
 */
export async function evaluateActiveAbTests(
  primary: pg.Pool,
  options: { now: Date; events: EventValidator; runId: string },
): Promise<TestEvaluation[]> {
  const { rows } = await primary.query<{ id: string }>(
    `SELECT id FROM ab_tests WHERE status = 'active' ORDER BY created_at NULLS LAST, id`,
  );
  const out: TestEvaluation[] = [];
  const failures: unknown[] = [];
  for (const { id } of rows) {
    try {
      const r = await inSystemTransaction(
        primary,
        { principal: SYSTEM, now: options.now, runId: options.runId, events: options.events },
        (uow) => evaluateAbTest(uow, id),
      );
      if (r) out.push(r);
    } catch (err) {
      failures.push(err);
    }
  }
  // The other tests' looks are committed; the job fails (and is retried) when any test could not be evaluated.
  if (failures.length > 0)
    throw new AggregateError(failures, `${failures.length} A/B test evaluation(s) failed`);
  return out;
}
