import { z } from "zod";
import { AbSplitRatio, AbVariantId, AbVariants, splitRatioMismatch } from "../../domain/ab-assignment.js";
import { AB_METRICS, AbEvidence, decisionStateOf, parseEvidence } from "../../domain/ab-evaluation.js";
import {
  type AbTestRow,
  createAbTest,
  decideAbTest,
  deleteAbTest,
  getAbTest,
  getAssignment,
  getVariantStats,
  listAbTests,
  updateAbTest,
} from "../../domain/ab-tests.js";
import { defineRoute } from "../route.js";
import {
  decodeCursor,
  IdParams,
  iso,
  NullableTimestamp,
  Page,
  PageQueryShape,
  toPage,
  Uuid,
} from "../schemas.js";

export const AbElementType = z
  .enum(["subject_line", "email_body", "demo_style", "video_script"])
  .meta({ description: "The element of the outreach the test varies." });
export const AbTestStatus = z.enum(["draft", "active", "paused", "completed"]);

/** The decision rule a test declares; fixed once it leaves draft (409 on PATCH otherwise). */
const DecisionRuleShape = {
  metric: z
    .enum(AB_METRICS)
    .optional()
    .meta({
      description:
        "What the test is decided on, per exposed lead: reply_rate (replied), positive_reply_rate (positive_reply) " +
        "or meeting_rate (meeting_booked), as email_send_outcomes counts them. Default reply_rate.",
    }),
  alpha: z.number().gt(0).max(0.2).optional().meta({
    example: 0.05,
    description:
      "Family-wise false-decision rate of the sequential test (Holm over the comparisons). Default 0.05.",
  }),
  min_sample_per_variant: z.number().int().min(10).max(10_000_000).optional().meta({
    description: "Exposed leads every variant needs before a look can decide anything. Default 200.",
  }),
  mixing_variance: z
    .number()
    .gt(0)
    .max(1)
    .optional()
    .meta({
      example: 0.0025,
      description:
        "τ² of the mSPRT: the variance of the normal prior on the difference in rate it is most sensitive to " +
        "(τ = 0.05: effects of about five points). Default 0.0025.",
    }),
};

/** Adds the "one ratio per variant" issue when both halves of a design are present. */
function checkDesign(
  d: {
    variants?: z.infer<typeof AbVariants> | undefined;
    split_ratio?: z.infer<typeof AbSplitRatio> | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  if (!d.variants || !d.split_ratio) return;
  const mismatch = splitRatioMismatch(d.variants, d.split_ratio);
  if (mismatch) ctx.addIssue({ code: "custom", path: ["split_ratio"], message: mismatch });
}

export const CreateAbTestBody = z
  .strictObject({
    name: z.string().trim().min(1).max(255),
    campaign_id: Uuid.optional(),
    element_type: AbElementType,
    variants: AbVariants,
    split_ratio: AbSplitRatio.meta({ description: "One ratio per variant id, summing to 1." }),
    status: z.enum(["draft", "active"]).default("active"),
    ...DecisionRuleShape,
  })
  .superRefine(checkDesign)
  .meta({ id: "CreateAbTestBody" });

export const UpdateAbTestBody = z
  .strictObject({
    name: z.string().trim().min(1).max(255).optional(),
    status: AbTestStatus.optional().meta({
      description: "draft → active, active ⇄ paused. `completed` only through POST …/decide (409 here).",
    }),
    variants: AbVariants.optional().meta({ description: "Only while draft (409 otherwise)." }),
    split_ratio: AbSplitRatio.optional().meta({ description: "Only while draft (409 otherwise)." }),
    ...DecisionRuleShape,
  })
  .superRefine(checkDesign)
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: "nothing to change", path: [] })
  .meta({ id: "UpdateAbTestBody" });

export const DecideAbTestBody = z
  .strictObject({ winning_variant: AbVariantId })
  .meta({ id: "DecideAbTestBody" });

export const AbTestResponse = z
  .object({
    id: Uuid,
    name: z.string().nullable(),
    campaign_id: Uuid.nullable(),
    element_type: z.string().nullable(),
    variants: AbVariants,
    split_ratio: AbSplitRatio,
    status: z.string(),
    winning_variant: z.string().nullable(),
    decided_at: NullableTimestamp,
    created_at: NullableTimestamp,
    metric: z.enum(AB_METRICS),
    alpha: z.number(),
    min_sample_per_variant: z.number().int(),
    mixing_variance: z.number(),
    decision_state: z.enum(["collecting", "testing", "decided"]).meta({
      description:
        "collecting: a variant is below min_sample_per_variant; testing: all have it, nothing decisive yet; " +
        "decided: winning_variant is set (decided_by says by whom).",
    }),
    decided_by: z.enum(["manual", "sequential_test"]).nullable(),
    stopped_variants: z.array(z.string()).meta({
      description: "Variants that lost (or every loser once decided): they get no new exposures.",
    }),
    evaluated_at: NullableTimestamp.meta({ description: "The ab_evaluate job's last look at this test." }),
    evidence: AbEvidence.meta({ id: "AbEvidence" })
      .nullable()
      .meta({
        description:
          "The last look of the always-valid sequential test (mSPRT, Holm-corrected): per variant against the " +
          "control, the counts, effect, always-valid p-value and interval. See GraphQL AbDecision for the method.",
      }),
  })
  .meta({ id: "AbTest" });

export const AbVariantStats = z
  .object({
    variant: z.string(),
    assigned: z.number().int().meta({ description: "Sends assigned this variant (queued or not)." }),
    sent: z.number().int(),
    opened: z.number().int(),
    clicked: z.number().int(),
    replied: z.number().int(),
  })
  .meta({ id: "AbVariantStats" });

export const AbTestDetailResponse = AbTestResponse.extend({
  stats: z
    .array(AbVariantStats)
    .meta({ description: "Email sends of this test per variant, in variant order." }),
}).meta({ id: "AbTestDetail" });

export const AbAssignmentResponse = z
  .object({
    ab_test_id: Uuid,
    lead_id: Uuid,
    variant: z.string().meta({ description: "The variant id; the winner once the test is decided." }),
    subject: z.string().nullable().meta({ description: "The variant's subject line, when it has one." }),
    content: z.string().nullable().meta({ description: "The variant's other content, when it has any." }),
  })
  .meta({ id: "AbAssignment" });

export const ListAbTestsQuery = z.strictObject({
  ...PageQueryShape,
  status: AbTestStatus.optional(),
  campaign_id: Uuid.optional(),
  element_type: z.string().max(50).optional(),
});

export const AssignmentQuery = z.strictObject({ lead_id: Uuid });

function abTestResponse(r: AbTestRow): z.input<typeof AbTestResponse> {
  return {
    ...r,
    variants: r.variants as z.input<typeof AbVariants>,
    split_ratio: r.split_ratio as z.input<typeof AbSplitRatio>,
    decided_at: iso(r.decided_at),
    created_at: iso(r.created_at),
    decision_state: decisionStateOf(r),
    decided_by: r.decided_by as z.input<typeof AbTestResponse>["decided_by"],
    evaluated_at: iso(r.evaluated_at),
    evidence: parseEvidence(r.evidence),
  };
}

const TAGS = ["A/B tests"];

export const createAbTestRoute = defineRoute({
  method: "post",
  path: "/api/v2/ab-tests",
  operationId: "createAbTest",
  summary: "Create an A/B test",
  description: "`split_ratio` needs exactly one ratio per variant id, summing to 1 (422 otherwise).",
  tags: TAGS,
  scope: "admin",
  body: CreateAbTestBody,
  response: { status: 201, description: "The new test.", schema: AbTestResponse },
  handler: async ({ body }, uow) => abTestResponse(await createAbTest(uow, body)),
});

export const listAbTestsRoute = defineRoute({
  method: "get",
  path: "/api/v2/ab-tests",
  operationId: "listAbTests",
  summary: "List A/B tests (oldest first, cursor-paginated)",
  tags: TAGS,
  scope: "admin",
  query: ListAbTestsQuery,
  response: { status: 200, description: "A page of tests.", schema: Page(AbTestResponse) },
  handler: async ({ query }, { db }) => {
    const rows = await listAbTests(db, { ...query, after: decodeCursor(query.cursor) });
    return toPage(rows, query.limit, (r) => ({ at: r.created_at ?? new Date(0), id: r.id }), abTestResponse);
  },
});

export const getAbTestRoute = defineRoute({
  method: "get",
  path: "/api/v2/ab-tests/{id}",
  operationId: "getAbTest",
  summary: "Get an A/B test with per-variant send counts",
  tags: TAGS,
  scope: "admin",
  params: IdParams,
  response: { status: 200, description: "The test and its counts.", schema: AbTestDetailResponse },
  errors: [404],
  handler: async ({ params }, { db }) => {
    const test = await getAbTest(db, params.id);
    return { ...abTestResponse(test), stats: await getVariantStats(db, test) };
  },
});

export const updateAbTestRoute = defineRoute({
  method: "patch",
  path: "/api/v2/ab-tests/{id}",
  operationId: "updateAbTest",
  summary: "Rename, activate, pause or resume an A/B test; redesign a draft",
  tags: TAGS,
  scope: "admin",
  params: IdParams,
  body: UpdateAbTestBody,
  response: { status: 200, description: "The test.", schema: AbTestResponse },
  errors: [404, 409],
  handler: async ({ params, body }, uow) => abTestResponse(await updateAbTest(uow, params.id, body)),
});

export const deleteAbTestRoute = defineRoute({
  method: "delete",
  path: "/api/v2/ab-tests/{id}",
  operationId: "deleteAbTest",
  summary: "Delete an A/B test that no email send references",
  description: "A test with sends answers 409: pause or decide it instead.",
  tags: TAGS,
  scope: "admin",
  params: IdParams,
  response: {
    status: 200,
    description: "The test is gone.",
    schema: z.object({ id: Uuid, deleted: z.literal(true) }).meta({ id: "AbTestDeleted" }),
  },
  errors: [404, 409],
  handler: async ({ params }, uow) => {
    await deleteAbTest(uow, params.id);
    return { id: params.id, deleted: true as const };
  },
});

export const decideAbTestRoute = defineRoute({
  method: "post",
  path: "/api/v2/ab-tests/{id}/decide",
  operationId: "decideAbTest",
  summary: "Decide an A/B test: record the winner and complete it",
  description: "Only an active or paused test can be decided (409 otherwise). Emits `abtest.decided`.",
  tags: TAGS,
  scope: "admin",
  params: IdParams,
  body: DecideAbTestBody,
  response: { status: 200, description: "The completed test.", schema: AbTestResponse },
  errors: [404],
  handler: async ({ params, body }, uow) =>
    abTestResponse(await decideAbTest(uow, params.id, body.winning_variant)),
});

export const getAbAssignmentRoute = defineRoute({
  method: "get",
  path: "/api/v2/ab-tests/{id}/assignment",
  operationId: "getAbAssignment",
  summary: "The variant a lead is assigned in an A/B test",
  description:
    "Deterministic: a stable hash of test id and lead id placed on the cumulative split_ratio. Once the test is " +
    "decided every lead gets the winning variant.",
  tags: TAGS,
  scope: "admin",
  params: IdParams,
  query: AssignmentQuery,
  response: { status: 200, description: "The assignment.", schema: AbAssignmentResponse },
  errors: [404, 409],
  handler: async ({ params, query }, { db }) => getAssignment(db, params.id, query.lead_id),
});

export const abTestRoutes = [
  createAbTestRoute,
  listAbTestsRoute,
  getAbTestRoute,
  updateAbTestRoute,
  deleteAbTestRoute,
  decideAbTestRoute,
  getAbAssignmentRoute,
];
