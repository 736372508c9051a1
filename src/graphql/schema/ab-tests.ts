import { type AbVariantResult, analyseAbTest } from "../../analytics/get-ab-test-results.js";
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
  description: "An A/B test of an email element within a campaign.",
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
