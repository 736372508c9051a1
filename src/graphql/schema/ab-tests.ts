import { type AbVariantResult, analyseAbTest } from "../../analytics/get-ab-test-results.js";
import { type AbEvidence, decisionStateOf, parseEvidence } from "../../domain/ab-evaluation.js";
import { builder } from "../builder.js";

const SignificanceRef = builder
  .objectRef<NonNullable<AbVariantResult["significance"]>>("SignificanceTest")
  .implement({
    description:
      "Two-sided pooled two-proportion z-test of this variant's reply rate against the control's (H0: equal " +
      "rates), significant when p < 0.05.",
    fields: (t) => ({
      method: t.string({ resolve: () => "two-proportion z-test (pooled, two-sided, α = 0.05)" }),
      z: t.exposeFloat("z"),
      pValue: t.exposeFloat("pValue"),
      significant: t.exposeBoolean("significant"),
    }),
  });

const VariantRef = builder.objectRef<AbVariantResult>("AbVariantResult").implement({
  description:
    "A variant's lifetime results. exposures = delivered emails carrying the variant; rates are over exposures " +
    "(null with none). meetings: exposed leads whose first meeting in the campaign is credited to this email.",
  fields: (t) => ({
    variant: t.exposeString("variant"),
    isControl: t.exposeBoolean("is_control", { description: "The first variant the test declares." }),
    sent: t.exposeInt("sent"),
    exposures: t.exposeInt("exposures"),
    opens: t.exposeInt("opens"),
    clicks: t.exposeInt("clicks"),
    replies: t.exposeInt("replies"),
    positiveReplies: t.exposeInt("positive_replies"),
    meetings: t.exposeInt("meetings"),
    openRate: t.exposeFloat("open_rate", { nullable: true }),
    clickRate: t.exposeFloat("click_rate", { nullable: true }),
    replyRate: t.exposeFloat("reply_rate", { nullable: true }),
    positiveReplyRate: t.exposeFloat("positive_reply_rate", { nullable: true }),
    meetingRate: t.exposeFloat("meeting_rate", { nullable: true }),
    replyRateLift: t.exposeFloat("reply_rate_lift", {
      nullable: true,
      description:
        "Observed lift: (replyRate − control's) / control's; null for the control or a zero control rate.",
    }),
    significance: t.field({
      type: SignificanceRef,
      nullable: true,
      description: "Null for the control, or when either side has no exposures or no variance.",
      resolve: (v) => v.significance,
    }),
  }),
});

const ResultsRef = builder.objectRef<{ asOf: Date; variants: AbVariantResult[] }>("AbTestResults").implement({
  fields: (t) => ({
    asOf: t.field({ type: "DateTime", description: "The views' last refresh.", resolve: (r) => r.asOf }),
    variants: t.field({ type: [VariantRef], resolve: (r) => r.variants }),
  }),
});

type Comparison = AbEvidence["comparisons"][number] & { min_sample: number };

const METHOD =
  "mSPRT for two proportions (Johari et al., Always Valid Inference): for a variant against the control, " +
  "θ̂ = rate − control rate, V = p̂(1−p̂)/n + p̂c(1−p̂c)/nc, and the mixture likelihood ratio " +
  "Λ = √(V/(V+τ²))·exp(τ²θ̂²/(2V(V+τ²))) of H1: θ ~ N(0, τ²) against H0: θ = 0. Λ is an e-value; the " +
  "always-valid p-value is the minimum over looks of 1/Λ, so looking at the test as often as one likes keeps the " +
  "false-decision rate at α. Only looks where both arms have minSamplePerVariant count. With more than one " +
  "treatment the p-values are Holm-corrected (step-down α/m, α/(m−1), …). A significantly better treatment " +
  "decides the test (the best observed rate among those that are); a significantly worse one is stopped; when " +
  "every treatment is stopped the control wins.";

const ComparisonRef = builder.objectRef<Comparison>("AbComparison").implement({
  description:
    "One variant against the control at the ab_evaluate job's last look (see AbDecision.method). Samples are " +
    "exposed leads with a delivered email carrying the variant; successes are those with the metric's outcome.",
  fields: (t) => ({
    variant: t.exposeString("variant"),
    samples: t.exposeInt("samples", { description: "The variant's samples so far." }),
    successes: t.exposeInt("successes"),
    controlSamples: t.exposeInt("control_samples"),
    controlSuccesses: t.exposeInt("control_successes"),
    rate: t.exposeFloat("rate", { nullable: true }),
    controlRate: t.exposeFloat("control_rate", { nullable: true }),
    effect: t.exposeFloat("effect", {
      nullable: true,
      description: "Difference in rate, variant − control (θ̂); null while an arm has no samples.",
    }),
    pValue: t.exposeFloat("p_value", {
      description:
        "Always-valid p-value: the minimum over counted looks of 1/Λ (1 until a look counts). Never increases.",
    }),
    eValue: t.exposeFloat("e_value", {
      description:
        "Λ, the mixture likelihood ratio (an e-value) at the last look; 1 when the look did not count.",
    }),
    intervalLow: t.exposeFloat("interval_low", {
      nullable: true,
      description:
        "Always-valid (1 − α) interval of the effect (not Holm-adjusted): the running intersection over counted " +
        "looks of θ̂ ± √(2V(V+τ²)/τ² · (ln(1/α) + ½·ln((V+τ²)/V))). Null before the first counted look.",
    }),
    intervalHigh: t.exposeFloat("interval_high", { nullable: true }),
    holmThreshold: t.exposeFloat("holm_threshold", {
      description: "The level pValue is held to after Holm's correction (α/m for the smallest p-value … α).",
    }),
    significant: t.exposeBoolean("significant", { description: "pValue ≤ holmThreshold, in Holm's order." }),
    minSampleMet: t.exposeBoolean("eligible", {
      description: "Both arms have minSamplePerVariant samples, so the look counted.",
    }),
    samplesToMinimum: t.int({
      description: "Samples the smaller arm still needs to reach minSamplePerVariant (0 once met).",
      resolve: (c) => Math.max(0, c.min_sample - Math.min(c.samples, c.control_samples)),
    }),
    samplesNeeded: t.int({
      nullable: true,
      description:
        "Projected samples per variant at which pValue would reach holmThreshold if the observed rates held (at " +
        "least minSamplePerVariant): a planning figure, not a promise. Null while no effect is observed.",
      resolve: (c) =>
        c.projected_samples_needed === null ? null : Math.max(c.min_sample, c.projected_samples_needed),
    }),
  }),
});

type Decision = {
  state: string;
  decidedBy: string | null;
  metric: string;
  alpha: number;
  minSamplePerVariant: number;
  mixingVariance: number;
  evaluatedAt: Date | null;
  stoppedVariants: string[];
  evidence: AbEvidence | null;
};

const DecisionRef = builder.objectRef<Decision>("AbDecision").implement({
  description: `How the test is decided and the evidence of the last look. ${METHOD}`,
  fields: (t) => ({
    state: t.exposeString("state", {
      description:
        "collecting (a variant is below minSamplePerVariant), testing (all have it, nothing decisive yet) or " +
        "decided.",
    }),
    decidedBy: t.exposeString("decidedBy", {
      nullable: true,
      description: "manual (POST …/decide) or sequential_test (the ab_evaluate job); null until decided.",
    }),
    method: t.string({ resolve: () => METHOD }),
    metric: t.exposeString("metric", {
      description: "reply_rate, positive_reply_rate or meeting_rate, per exposed lead (email_send_outcomes).",
    }),
    alpha: t.exposeFloat("alpha", { description: "Family-wise false-decision rate over the comparisons." }),
    minSamplePerVariant: t.exposeInt("minSamplePerVariant", {
      description: "Samples every variant needs before a look can decide.",
    }),
    mixingVariance: t.exposeFloat("mixingVariance", {
      description: "τ², the variance of the normal mixing distribution of the effect under H1.",
    }),
    evaluatedAt: t.expose("evaluatedAt", { type: "DateTime", nullable: true }),
    looks: t.int({ resolve: (d) => d.evidence?.looks ?? 0 }),
    control: t.string({
      nullable: true,
      description: "The control variant (the first declared); null before the first look.",
      resolve: (d) => d.evidence?.control ?? null,
    }),
    stoppedVariants: t.exposeStringList("stoppedVariants", {
      description: "Variants that get no new exposures: losers, or everyone but the winner once decided.",
    }),
    comparisons: t.field({
      type: [ComparisonRef],
      description: "Each treatment against the control at the last look, in declared order.",
      resolve: (d) =>
        (d.evidence?.comparisons ?? []).map((c) => ({ ...c, min_sample: d.minSamplePerVariant })),
    }),
  }),
});

/** Variant ids only: a variant's subject and content are message text and stay out of the analytics API. */
function declaredVariantIds(variants: unknown): string[] {
  if (!Array.isArray(variants)) return [];
  return variants.flatMap((v) =>
    v && typeof v === "object" && typeof (v as { id?: unknown }).id === "string"
      ? [(v as { id: string }).id]
      : [],
  );
}

builder.prismaObject("AbTest", {
  description:
    "An A/B test of an outreach element (subject line, email body, demo style, video script), usually within a " +
    "campaign.",
  fields: (t) => ({
    id: t.exposeID("id"),
    name: t.exposeString("name", { nullable: true }),
    elementType: t.exposeString("elementType", { nullable: true }),
    status: t.exposeString("status", { nullable: true }),
    createdAt: t.expose("createdAt", { type: "DateTime", nullable: true }),
    decidedAt: t.expose("decidedAt", { type: "DateTime", nullable: true }),
    winningVariant: t.exposeString("winningVariant", { nullable: true }),
    variantIds: t.stringList({ resolve: (test) => declaredVariantIds(test.variants) }),
    campaign: t.relation("campaign", { nullable: true }),
    decision: t.field({
      type: DecisionRef,
      description: "Decision rule, state and the sequential test's last evidence.",
      resolve: (test) => ({
        state: decisionStateOf({ winning_variant: test.winningVariant, decision_state: test.decisionState }),
        decidedBy: test.decidedBy,
        metric: test.metric,
        alpha: test.alpha,
        minSamplePerVariant: test.minSamplePerVariant,
        mixingVariance: test.mixingVariance,
        evaluatedAt: test.evaluatedAt,
        stoppedVariants: test.stoppedVariants,
        evidence: parseEvidence(test.evidence),
      }),
    }),
    results: t.field({
      type: ResultsRef,
      resolve: async (test, _args, ctx) => {
        const [asOf, counts] = await Promise.all([ctx.asOf(), ctx.loaders.abVariantCounts.load(test.id)]);
        return { asOf, variants: analyseAbTest(test.id, declaredVariantIds(test.variants), counts) };
      },
    }),
  }),
});

builder.queryField("abTests", (t) =>
  t.prismaField({
    type: ["AbTest"],
    description: "A/B tests, newest first, optionally by status (draft, active, completed, …), at most 200.",
    args: { status: t.arg.stringList({ required: false }) },
    resolve: (query, _root, args, ctx) =>
      ctx.read.prisma.abTest.findMany({
        ...query,
        where: args.status?.length ? { status: { in: args.status } } : {},
        orderBy: [{ createdAt: { sort: "desc", nulls: "last" } }, { id: "asc" }],
        take: 200,
      }),
  }),
);
