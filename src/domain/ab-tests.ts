import type pg from "pg";
import {
  type AbSplitRatio,
  AbSplitRatio as AbSplitRatioSchema,
  type AbVariant,
  AbVariants,
  assignLiveVariant,
  splitRatioMismatch,
} from "./ab-assignment.js";
import { type AbMetric, decisionStatistics, parseEvidence } from "./ab-evaluation.js";
import { DEFAULT_DECISION_RULE } from "./ab-sequential-test.js";
import { ConflictError, InvalidTransitionError, NotFoundError, UnprocessableError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * A/B tests: an experiment on one element of the outreach (subject line, body, demo style, video script), usually
 * inside a campaign. The design (variants + split_ratio) and the decision rule (metric, alpha, minimum sample, τ²)
 * are fixed once the test leaves draft, because sends already assigned under it would otherwise be counted against
 * a different split or rule. A test is decided by hand (decide below) or by the `ab_evaluate` job
 * (src/domain/ab-evaluation.ts); either completes it and emits `abtest.decided`. Assignment is the pure function of
 * src/domain/ab-assignment.ts.
 */

export type AbTestStatus = "draft" | "active" | "paused" | "completed";

export type AbTestRow = {
  id: string;
  name: string | null;
  campaign_id: string | null;
  element_type: string | null;
  variants: unknown;
  split_ratio: unknown;
  status: string;
  winning_variant: string | null;
  decided_at: Date | null;
  created_at: Date | null;
  metric: AbMetric;
  alpha: number;
  min_sample_per_variant: number;
  mixing_variance: number;
  decision_state: string;
  decided_by: string | null;
  stopped_variants: string[];
  evidence: unknown;
  evaluated_at: Date | null;
};

export type VariantStats = {
  variant: string;
  assigned: number;
  sent: number;
  opened: number;
  clicked: number;
  replied: number;
};

const COLUMNS =
  "id, name, campaign_id, element_type, variants, split_ratio, status, winning_variant, decided_at, created_at, " +
  "metric, alpha, min_sample_per_variant, mixing_variance, decision_state, decided_by, stopped_variants, evidence, " +
  "evaluated_at";

/**
 * PATCH moves: draft → active, active ⇄ paused. `completed` is reached only through decide, which also records the
 * winner; a completed test never changes again.
 */
const TRANSITIONS: Record<AbTestStatus, readonly AbTestStatus[]> = {
  draft: ["draft", "active"],
  active: ["active", "paused"],
  paused: ["paused", "active"],
  completed: [],
};
const DECIDABLE: readonly string[] = ["active", "paused"];

/** How a test is decided (migration 0022); each field falls back to the column default. */
export type DecisionRuleInput = {
  metric?: AbMetric | undefined;
  alpha?: number | undefined;
  min_sample_per_variant?: number | undefined;
  mixing_variance?: number | undefined;
};

export type CreateAbTestInput = DecisionRuleInput & {
  name: string;
  campaign_id?: string | undefined;
  element_type: string;
  variants: AbVariant[];
  split_ratio: AbSplitRatio;
  status: "draft" | "active";
};

export async function createAbTest(uow: UnitOfWork, input: CreateAbTestInput): Promise<AbTestRow> {
  if (input.campaign_id !== undefined) {
    const { rowCount } = await uow.tx.query(`SELECT 1 FROM campaigns WHERE id = $1`, [input.campaign_id]);
    if (!rowCount) {
      throw new UnprocessableError("The campaign does not exist.", [
        { location: "body", path: "/campaign_id", message: "no such campaign" },
      ]);
    }
  }
  const { rows } = await uow.tx.query<AbTestRow>(
    `INSERT INTO ab_tests (name, campaign_id, element_type, variants, split_ratio, status, created_at, metric, alpha,
                           min_sample_per_variant, mixing_variance)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     RETURNING ${COLUMNS}`,
    [
      input.name,
      input.campaign_id ?? null,
      input.element_type,
      JSON.stringify(input.variants),
      JSON.stringify(input.split_ratio),
      input.status,
      uow.now.toISOString(),
      input.metric ?? "reply_rate",
      input.alpha ?? DEFAULT_DECISION_RULE.alpha,
      input.min_sample_per_variant ?? DEFAULT_DECISION_RULE.minSamplePerVariant,
      input.mixing_variance ?? DEFAULT_DECISION_RULE.mixingVariance,
    ],
  );
  const row = rows[0] as AbTestRow;
  uow.audit({ action: "ab_test.created", resourceType: "ab_test", resourceId: row.id });
  return row;
}

export async function getAbTest(db: pg.Pool | pg.ClientBase, id: string): Promise<AbTestRow> {
  const { rows } = await db.query<AbTestRow>(`SELECT ${COLUMNS} FROM ab_tests WHERE id = $1`, [id]);
  const row = rows[0];
  if (!row) throw new NotFoundError("A/B test", id);
  return row;
}

async function lockAbTest(tx: pg.ClientBase, id: string): Promise<AbTestRow> {
  // FOR UPDATE also waits for sends that are being inserted with this test (their FK takes KEY SHARE), so the
  // "no sends yet" checks below stay true until COMMIT.
  const { rows } = await tx.query<AbTestRow>(`SELECT ${COLUMNS} FROM ab_tests WHERE id = $1 FOR UPDATE`, [
    id,
  ]);
  const row = rows[0];
  if (!row) throw new NotFoundError("A/B test", id);
  return row;
}

/**
 * Counts of the test's sends per variant, one entry per declared variant (zeros included) plus any variant key
 * the sends carry that the design does not. One GROUP BY over the (ab_test_id, ab_variant) index.
 */
export async function getVariantStats(db: pg.Pool | pg.ClientBase, test: AbTestRow): Promise<VariantStats[]> {
  const { rows } = await db.query<VariantStats>(
    `SELECT ab_variant AS variant,
            count(*)::int AS assigned,
            count(sent_at)::int AS sent,
            count(opened_at)::int AS opened,
            count(clicked_at)::int AS clicked,
            count(replied_at)::int AS replied
       FROM email_sends
      WHERE ab_test_id = $1 AND ab_variant IS NOT NULL
      GROUP BY ab_variant`,
    [test.id],
  );
  const byVariant = new Map(rows.map((r) => [r.variant, r]));
  const declared = designOf(test)?.variants.map((v) => v.id) ?? [];
  const keys = [
    ...declared,
    ...rows
      .map((r) => r.variant)
      .filter((k) => !declared.includes(k))
      .sort(),
  ];
  return keys.map(
    (variant) =>
      byVariant.get(variant) ?? { variant, assigned: 0, sent: 0, opened: 0, clicked: 0, replied: 0 },
  );
}

/** The stored design, or null when the row holds a shape the API does not write (e.g. hand-inserted rows). */
function designOf(test: AbTestRow): { variants: AbVariant[]; split_ratio: AbSplitRatio } | null {
  const variants = AbVariants.safeParse(test.variants);
  const split = AbSplitRatioSchema.safeParse(test.split_ratio);
  if (!variants.success || !split.success) return null;
  return { variants: variants.data, split_ratio: split.data };
}

export async function listAbTests(
  db: pg.Pool,
  q: {
    limit: number;
    after: { at: Date; id: string } | null;
    status?: string | undefined;
    campaign_id?: string | undefined;
    element_type?: string | undefined;
  },
): Promise<AbTestRow[]> {
  const { rows } = await db.query<AbTestRow>(
    `SELECT ${COLUMNS} FROM ab_tests
      WHERE ($1::timestamp IS NULL OR (COALESCE(created_at, 'epoch'), id) > ($1::timestamp, $2::uuid))
        AND ($3::text IS NULL OR status = $3)
        AND ($4::uuid IS NULL OR campaign_id = $4)
        AND ($5::text IS NULL OR element_type = $5)
      -- created_at is nullable in the contract's table: a row without one sorts (and pages) as the epoch.
      ORDER BY COALESCE(created_at, 'epoch'), id
      LIMIT $6`,
    [
      q.after?.at.toISOString() ?? null,
      q.after?.id ?? null,
      q.status ?? null,
      q.campaign_id ?? null,
      q.element_type ?? null,
      q.limit + 1,
    ],
  );
  return rows;
}

export type UpdateAbTestInput = DecisionRuleInput & {
  name?: string | undefined;
  status?: AbTestStatus | undefined;
  variants?: AbVariant[] | undefined;
  split_ratio?: AbSplitRatio | undefined;
};

export async function updateAbTest(
  uow: UnitOfWork,
  id: string,
  input: UpdateAbTestInput,
): Promise<AbTestRow> {
  const test = await lockAbTest(uow.tx, id);
  const from = test.status as AbTestStatus;
  const to = input.status ?? from;
  if (input.status === "completed") {
    throw new InvalidTransitionError(
      "A/B test",
      from,
      to,
      "Complete a test with POST /api/v2/ab-tests/{id}/decide.",
    );
  }
  if (!TRANSITIONS[from]?.includes(to)) throw new InvalidTransitionError("A/B test", from, to);

  const redesign =
    input.variants !== undefined ||
    input.split_ratio !== undefined ||
    input.metric !== undefined ||
    input.alpha !== undefined ||
    input.min_sample_per_variant !== undefined ||
    input.mixing_variance !== undefined;
  if (redesign && from !== "draft") {
    throw new ConflictError(
      `The variants, split_ratio and decision rule of a ${from} A/B test are fixed; only a draft can change.`,
      {
        current_status: from,
      },
    );
  }
  if (input.variants !== undefined || input.split_ratio !== undefined) {
    const stored = designOf(test);
    const variants = input.variants ?? stored?.variants;
    const split = input.split_ratio ?? stored?.split_ratio;
    const mismatch =
      variants && split ? splitRatioMismatch(variants, split) : "the stored design is not valid";
    if (mismatch) {
      throw new UnprocessableError("split_ratio must give exactly one ratio per variant.", [
        { location: "body", path: "/split_ratio", message: mismatch },
      ]);
    }
  }

  const { rows } = await uow.tx.query<AbTestRow>(
    `UPDATE ab_tests
        SET name = COALESCE($2, name),
            status = $3,
            variants = COALESCE($4::jsonb, variants),
            split_ratio = COALESCE($5::jsonb, split_ratio),
            metric = COALESCE($6, metric),
            alpha = COALESCE($7, alpha),
            min_sample_per_variant = COALESCE($8, min_sample_per_variant),
            mixing_variance = COALESCE($9, mixing_variance)
      WHERE id = $1
      RETURNING ${COLUMNS}`,
    [
      id,
      input.name ?? null,
      to,
      input.variants ? JSON.stringify(input.variants) : null,
      input.split_ratio ? JSON.stringify(input.split_ratio) : null,
      input.metric ?? null,
      input.alpha ?? null,
      input.min_sample_per_variant ?? null,
      input.mixing_variance ?? null,
    ],
  );
  uow.audit({
    action: from === to ? "ab_test.updated" : `ab_test.${to}`,
    resourceType: "ab_test",
    resourceId: id,
    details: { from, to, fields: Object.keys(input).filter((k) => k !== "status") },
  });
  return rows[0] as AbTestRow;
}

/** Hard delete, only while no send references the test: sends keep their attribution, so such a test is completed. */
export async function deleteAbTest(uow: UnitOfWork, id: string): Promise<void> {
  const test = await lockAbTest(uow.tx, id);
  const { rowCount } = await uow.tx.query(`SELECT 1 FROM email_sends WHERE ab_test_id = $1 LIMIT 1`, [id]);
  if (rowCount) {
    throw new ConflictError(
      "Email sends were assigned under this A/B test, so it cannot be deleted. Pause it (PATCH status paused) or " +
        "decide it (POST /api/v2/ab-tests/{id}/decide) instead.",
      { current_status: test.status },
    );
  }
  await uow.tx.query(`DELETE FROM ab_tests WHERE id = $1`, [id]);
  uow.audit({ action: "ab_test.deleted", resourceType: "ab_test", resourceId: id });
}

export async function decideAbTest(uow: UnitOfWork, id: string, winningVariant: string): Promise<AbTestRow> {
  const test = await lockAbTest(uow.tx, id);
  if (!DECIDABLE.includes(test.status)) {
    throw new InvalidTransitionError(
      "A/B test",
      test.status,
      "completed",
      test.status === "draft" ? "Activate it first." : "It is already decided.",
    );
  }
  const design = designOf(test);
  if (!design?.variants.some((v) => v.id === winningVariant)) {
    throw new UnprocessableError("The winning variant is not one of the test's variants.", [
      { location: "body", path: "/winning_variant", message: "not a variant of this test" },
    ]);
  }
  const { rows } = await uow.tx.query<AbTestRow>(
    `UPDATE ab_tests SET status = 'completed', winning_variant = $2, decided_at = $3, decision_state = 'decided',
                         decided_by = 'manual', stopped_variants = $4::varchar[]
      WHERE id = $1
      RETURNING ${COLUMNS}`,
    [
      id,
      winningVariant,
      uow.now.toISOString(),
      design.variants.map((v) => v.id).filter((v) => v !== winningVariant),
    ],
  );
  const decided = rows[0] as AbTestRow;
  uow.audit({
    action: "ab_test.decided",
    resourceType: "ab_test",
    resourceId: id,
    details: { winning_variant: winningVariant, decided_by: "manual" },
  });
  // A manual decision carries the job's last look, when there was one, so consumers see what the data said.
  const evidence = parseEvidence(decided.evidence);
  uow.emit("abtest.decided", {
    ab_test_id: id,
    campaign_id: decided.campaign_id,
    winning_variant: winningVariant,
    decided_at: uow.now.toISOString(),
    decided_by: "manual",
    statistics: evidence ? decisionStatistics(evidence) : null,
  });
  return decided;
}

export type Assignment = {
  ab_test_id: string;
  lead_id: string;
  variant: string;
  subject: string | null;
  content: string | null;
};

/**
 * The variant a lead gets: the deterministic split while the test runs, never a stopped variant (a lead whose
 * variant was stopped is re-hashed over the remaining ones); once decided, everyone gets the winner (that is what
 * deciding is for).
 */
export async function getAssignment(db: pg.Pool, testId: string, leadId: string): Promise<Assignment> {
  const test = await getAbTest(db, testId);
  const { rowCount } = await db.query(`SELECT 1 FROM leads WHERE id = $1 AND erased_at IS NULL`, [leadId]);
  if (!rowCount) throw new NotFoundError("Lead", leadId);
  const design = designOf(test);
  if (!design)
    throw new ConflictError(`A/B test ${testId} has no valid variants/split_ratio to assign from.`);
  const variant =
    (test.winning_variant ? design.variants.find((v) => v.id === test.winning_variant) : undefined) ??
    assignLiveVariant(testId, leadId, design.variants, design.split_ratio, test.stopped_variants);
  return {
    ab_test_id: testId,
    lead_id: leadId,
    variant: variant.id,
    subject: variant.subject ?? null,
    content: variant.content ?? null,
  };
}
