import {
  getModelLeaderboard,
  LEADERBOARD_ORDER,
  type LeaderboardPeriod,
  leaderboardPeriod,
  type ModelLeaderboardRow,
} from "../../analytics/get-model-leaderboard.js";
import { getModelOutcomes, type ModelOutcome } from "../../analytics/get-model-outcomes.js";
import {
  type ClassifierAccuracy,
  type ClassifierCategoryRow,
  getReplyClassifiers,
} from "../../analytics/get-reply-classifiers.js";
import { wilsonInterval } from "../../analytics/statistics.js";
import { UnprocessableError } from "../../domain/errors.js";
import { builder } from "../builder.js";
import { selectedFieldNames } from "../selection.js";

const TASK_TYPE = /^[a-z][a-z0-9_]{0,49}$/;
/** ModelLeaderboardEntry fields that need the period's percentiles. */
const PERCENTILE_FIELDS = ["p50DurationSeconds", "p95DurationSeconds", "p50CostUsd", "p95CostUsd"];

type Entry = ModelLeaderboardRow & { rank: number; minSamples: number };
type Leaderboard = {
  asOf: Date;
  taskType: string;
  period: LeaderboardPeriod;
  minSamples: number;
  entries: Entry[];
};

/** 422 for a malformed task type or a negative minSamples (both leaderboards take them). */
function assertLeaderboardArgs(args: { taskType?: string | null; minSamples?: number | null }): void {
  if (args.taskType != null && !TASK_TYPE.test(args.taskType))
    throw new UnprocessableError("taskType must look like website_analysis (lower case, digits, _).", [
      { path: "taskType", message: "must match ^[a-z][a-z0-9_]{0,49}$" },
    ]);
  if ((args.minSamples ?? 0) < 0)
    throw new UnprocessableError("minSamples must be 0 or more.", [{ path: "minSamples", message: ">= 0" }]);
}

const OrderEnum = builder.enumType("LeaderboardOrder", {
  description: "Best first: highest quality, lowest cost, highest conversion rate, or most used.",
  values: Object.fromEntries(LEADERBOARD_ORDER.map((o) => [o.toUpperCase(), { value: o }])) as Record<
    Uppercase<(typeof LEADERBOARD_ORDER)[number]>,
    { value: (typeof LEADERBOARD_ORDER)[number] }
  >,
});

const IntervalRef = builder.objectRef<{ low: number; high: number }>("Interval").implement({
  description: "A 95% confidence interval.",
  fields: (t) => ({ low: t.exposeFloat("low"), high: t.exposeFloat("high") }),
});

const RollingPeriodRef = builder.objectRef<LeaderboardPeriod>("RollingPeriod").implement({
  description: "`[from, to)` where to = asOf and from = asOf − days.",
  fields: (t) => ({
    from: t.field({ type: "DateTime", resolve: (p) => p.from }),
    to: t.field({ type: "DateTime", resolve: (p) => p.to }),
    days: t.exposeInt("days"),
  }),
});

const EntryRef = builder.objectRef<Entry>("ModelLeaderboardEntry").implement({
  description:
    "One model over the period. Means are over the AI-GYM rows that have the value, null when none do; " +
    "percentiles are percentile_cont over the rows that have a duration.",
  fields: (t) => ({
    rank: t.exposeInt("rank"),
    modelName: t.exposeString("model_name"),
    usageCount: t.exposeInt("usage_count", { description: "AI-GYM rows (runs) in the period." }),
    avgQuality: t.exposeFloat("avg_quality", { nullable: true, description: "Mean quality_score (0–100)." }),
    avgCostUsd: t.exposeFloat("avg_cost", { nullable: true, description: "Mean cost per run, USD." }),
    totalCostUsd: t.exposeFloat("total_cost", { nullable: true }),
    conversionRate: t.exposeFloat("conversion_rate", {
      nullable: true,
      description: "Mean conversion_metric over the rows that have one.",
    }),
    conversionSamples: t.exposeInt("conversion_samples", { description: "Rows with a conversion_metric." }),
    conversions: t.exposeFloat("conversions", { description: "Sum of conversion_metric." }),
    conversionRateInterval: t.field({
      type: IntervalRef,
      nullable: true,
      description:
        "Wilson score 95% interval of conversionRate over conversionSamples trials (conversion_metric read as a " +
        "0/1 outcome); null with no samples.",
      resolve: (e) => wilsonInterval(e.conversion_rate, e.conversion_samples),
    }),
    costPerConversionUsd: t.float({
      nullable: true,
      description: "totalCostUsd / conversions; null when nothing converted.",
      resolve: (e) => (e.conversions > 0 && e.total_cost !== null ? e.total_cost / e.conversions : null),
    }),
    p50DurationSeconds: t.exposeFloat("p50_duration_seconds", { nullable: true }),
    p95DurationSeconds: t.exposeFloat("p95_duration_seconds", { nullable: true }),
    p50CostUsd: t.exposeFloat("p50_cost", {
      nullable: true,
      description: "Median cost per run (percentile_cont over the runs that have a cost).",
    }),
    p95CostUsd: t.exposeFloat("p95_cost", {
      nullable: true,
      description: "95th percentile of the cost per run (percentile_cont over the runs that have a cost).",
    }),
    belowMinSamples: t.boolean({
      description: "usageCount < minSamples: too few runs to compare this model with confidence.",
      resolve: (e) => e.usage_count < e.minSamples,
    }),
  }),
});

const LeaderboardRef = builder.objectRef<Leaderboard>("ModelLeaderboard").implement({
  description: "AI-GYM models for one task type, best first (the spec's /analytics/models sample, and more).",
  fields: (t) => ({
    asOf: t.field({ type: "DateTime", description: "The views' last refresh.", resolve: (l) => l.asOf }),
    taskType: t.exposeString("taskType"),
    period: t.field({ type: RollingPeriodRef, resolve: (l) => l.period }),
    minSamples: t.exposeInt("minSamples"),
    entries: t.field({ type: [EntryRef], resolve: (l) => l.entries }),
  }),
});

builder.queryField("modelLeaderboard", (t) =>
  t.field({
    type: LeaderboardRef,
    description:
      "Per model for `taskType` over `[asOf − period, asOf)`: usage, quality, cost, conversion rate with a Wilson " +
      "interval, cost per conversion and duration percentiles. Models with fewer than `minSamples` runs are flagged.",
    args: {
      taskType: t.arg.string({
        required: true,
        description: "e.g. website_analysis, demo_generation, email_copy.",
      }),
      period: t.arg({ type: "Period", required: false, defaultValue: 30 }),
      orderBy: t.arg({ type: OrderEnum, required: false, defaultValue: "avg_quality" }),
      minSamples: t.arg.int({ required: false, defaultValue: 30 }),
    },
    resolve: async (_root, args, ctx, info) => {
      assertLeaderboardArgs(args);
      const asOf = await ctx.asOf();
      const days = args.period ?? 30;
      const minSamples = args.minSamples ?? 30;
      // Percentiles rank every duration and cost of a computed period: only when the query asks for one.
      const selected = selectedFieldNames(info);
      const rows = await getModelLeaderboard(
        ctx.read.pool,
        {
          taskType: args.taskType,
          days,
          asOf,
          orderBy: args.orderBy ?? "avg_quality",
          percentiles: PERCENTILE_FIELDS.some((f) => selected.has(f)),
        },
        ctx.cache,
      );
      return {
        asOf,
        taskType: args.taskType,
        period: leaderboardPeriod(days, asOf),
        minSamples,
        entries: rows.map((r, i) => ({ ...r, rank: i + 1, minSamples })),
      };
    },
  }),
);

const MoneyAmountRef = builder.objectRef<{ currency: string; amount: string }>("WonRevenue").implement({
  description: "Won deal amounts in one currency (exact decimal string; currencies are never converted).",
  fields: (t) => ({ currency: t.exposeString("currency"), amount: t.exposeString("amount") }),
});

type OutcomeEntry = ModelOutcome & { rank: number };
type Outcomes = {
  asOf: Date;
  taskType: string | null;
  period: LeaderboardPeriod;
  minSamples: number;
  entries: OutcomeEntry[];
};

const OutcomeEntryRef = builder.objectRef<OutcomeEntry>("ModelOutcomeEntry").implement({
  description:
    "What followed one model's work for one task type over the period, derived from what happened (not from the " +
    "posted conversion_metric). Attribution through lineage: the model touched a lead in the period when the lead " +
    "has an AI-GYM record of the task type and model, or an artefact on the lead's path names the model — its " +
    "completed analysis (website_analysis), deployed demo (demo_generation), a delivered email's model_used " +
    "(email_copy), an outbound AI reply in its threads (reply_drafting). The model is credited with the lead's " +
    "positive reply, booked meeting and won deals that happened at or after its first touch in the period (and " +
    "before asOf). Counted per lead; every model on a lead's path is credited, so outcomes do not sum across models.",
  fields: (t) => ({
    rank: t.exposeInt("rank"),
    taskType: t.exposeString("task_type"),
    modelName: t.exposeString("model_name"),
    aiRuns: t.exposeInt("ai_runs", {
      description: "AI-GYM records of this task type and model in the period.",
    }),
    aiSpendUsd: t.exposeFloat("ai_spend", { description: "Sum of their cost, USD." }),
    leadsTouched: t.exposeInt("leads_touched", {
      description: "Distinct leads the model touched in the period (AI-GYM records or artefacts naming it).",
    }),
    positiveReplyLeads: t.exposeInt("positive_reply_leads", {
      description:
        "Touched leads with an inbound reply in the positive group (interested, meeting_request; the human " +
        "correction of a category wins over the classifier's) afterwards.",
    }),
    meetingLeads: t.exposeInt("meeting_leads", {
      description: "Touched leads that booked a meeting afterwards.",
    }),
    wonDeals: t.exposeInt("won_deals", { description: "Deals of touched leads won afterwards." }),
    wonRevenue: t.field({ type: [MoneyAmountRef], resolve: (e) => e.revenue }),
    positiveReplyRate: t.exposeFloat("positive_reply_rate", {
      nullable: true,
      description: "positiveReplyLeads / leadsTouched.",
    }),
    positiveReplyRateInterval: t.field({
      type: IntervalRef,
      nullable: true,
      description: "Wilson score 95% interval of positiveReplyRate over leadsTouched.",
      resolve: (e) => e.positive_reply_rate_interval,
    }),
    meetingRate: t.exposeFloat("meeting_rate", {
      nullable: true,
      description: "meetingLeads / leadsTouched.",
    }),
    meetingRateInterval: t.field({
      type: IntervalRef,
      nullable: true,
      description: "Wilson score 95% interval of meetingRate over leadsTouched.",
      resolve: (e) => e.meeting_rate_interval,
    }),
    costPerPositiveReplyUsd: t.exposeFloat("cost_per_positive_reply", {
      nullable: true,
      description:
        "aiSpendUsd / positiveReplyLeads; null with none, or without AI-GYM records (no known spend).",
    }),
    costPerMeetingUsd: t.exposeFloat("cost_per_meeting", {
      nullable: true,
      description: "aiSpendUsd / meetingLeads; null with none, or without AI-GYM records (no known spend).",
    }),
    revenuePerAiDollar: t.exposeFloat("revenue_per_ai_dollar", {
      nullable: true,
      description: "Won USD revenue / aiSpendUsd; null without spend. Other currencies are not converted.",
    }),
    belowMinSamples: t.exposeBoolean("below_min_samples", {
      description: "leadsTouched < minSamples: too few leads to compare this model with confidence.",
    }),
  }),
});

const OutcomesRef = builder.objectRef<Outcomes>("ModelOutcomes").implement({
  description:
    "Outcome leaderboard: per task type × model, best first by revenue per AI dollar, then positive-reply rate.",
  fields: (t) => ({
    asOf: t.field({
      type: "DateTime",
      description: "The views' last refresh: records and outcomes are counted before it.",
      resolve: (o) => o.asOf,
    }),
    taskType: t.exposeString("taskType", { nullable: true }),
    period: t.field({ type: RollingPeriodRef, resolve: (o) => o.period }),
    minSamples: t.exposeInt("minSamples"),
    entries: t.field({ type: [OutcomeEntryRef], resolve: (o) => o.entries }),
  }),
});

builder.queryField("modelOutcomes", (t) =>
  t.field({
    type: OutcomesRef,
    description:
      "Which model makes money: per task type × model over `[asOf − period, asOf)`, AI spend, leads touched, and " +
      "the positive replies, meetings and won revenue that followed, with cost per positive reply, cost per " +
      "meeting, revenue per AI dollar and Wilson intervals. Exact, from the base tables of the read replica.",
    args: {
      taskType: t.arg.string({ required: false, description: "One task type; all when omitted." }),
      period: t.arg({ type: "Period", required: false, defaultValue: 30 }),
      minSamples: t.arg.int({ required: false, defaultValue: 30 }),
    },
    resolve: async (_root, args, ctx) => {
      assertLeaderboardArgs(args);
      const asOf = await ctx.asOf();
      const period = leaderboardPeriod(args.period ?? 30, asOf);
      const minSamples = args.minSamples ?? 30;
      const rows = await getModelOutcomes(ctx.read.pool, {
        period,
        taskType: args.taskType ?? null,
        minSamples,
      });
      return {
        asOf,
        taskType: args.taskType ?? null,
        period,
        minSamples,
        entries: rows.map((r, i) => ({ ...r, rank: i + 1 })),
      };
    },
  }),
);

type Classifiers = {
  asOf: Date;
  period: LeaderboardPeriod;
  minSamples: number;
  entries: ClassifierAccuracy[];
};

const ClassifierCategoryRef = builder.objectRef<ClassifierCategoryRow>("ReplyClassifierCategory").implement({
  description:
    "One category as the model labelled it: how often, how often reviewed, how often a human agreed.",
  fields: (t) => ({
    category: t.exposeString("category", { description: "The model's label (a ReplyCategory value)." }),
    labelled: t.exposeInt("labelled"),
    reviewed: t.exposeInt("reviewed"),
    agreed: t.exposeInt("agreed"),
  }),
});

const ClassifierRef = builder.objectRef<ClassifierAccuracy>("ReplyClassifier").implement({
  description:
    "A reply-classifier model's accuracy: of its labels a human reviewed (a correction recorded, equal to the " +
    "label when confirmed), the share the human agreed with. Unreviewed labels are not guessed at.",
  fields: (t) => ({
    modelName: t.exposeString("model_name"),
    labelled: t.exposeInt("labelled", { description: "Inbound messages it classified in the period." }),
    reviewed: t.exposeInt("reviewed", { description: "Of those, reviewed by a human." }),
    agreed: t.exposeInt("agreed", { description: "Reviewed labels the human kept." }),
    accuracy: t.exposeFloat("accuracy", {
      nullable: true,
      description: "agreed / reviewed; null when none.",
    }),
    accuracyInterval: t.field({
      type: IntervalRef,
      nullable: true,
      description: "Wilson score 95% interval of accuracy over reviewed.",
      resolve: (e) => e.accuracy_interval,
    }),
    meanConfidence: t.exposeFloat("mean_confidence", {
      nullable: true,
      description: "Mean confidence the model gave its labels (of those that carry one).",
    }),
    belowMinSamples: t.exposeBoolean("below_min_samples", { description: "reviewed < minSamples." }),
    byCategory: t.field({ type: [ClassifierCategoryRef], resolve: (e) => e.by_category }),
  }),
});

const ClassifiersRef = builder.objectRef<Classifiers>("ReplyClassifiers").implement({
  description: "Reply-classifier models, most accurate first (unreviewed last).",
  fields: (t) => ({
    asOf: t.field({ type: "DateTime", resolve: (o) => o.asOf }),
    period: t.field({ type: RollingPeriodRef, resolve: (o) => o.period }),
    minSamples: t.exposeInt("minSamples"),
    entries: t.field({ type: [ClassifierRef], resolve: (o) => o.entries }),
  }),
});

builder.queryField("replyClassifiers", (t) =>
  t.field({
    type: ClassifiersRef,
    description:
      'How well each reply-classifier model labels replies (README "Reply taxonomy"), from human corrections, ' +
      "over inbound messages sent in `[asOf − period, asOf)`. Exact, from the read replica's base tables.",
    args: {
      period: t.arg({ type: "Period", required: false, defaultValue: 30 }),
      minSamples: t.arg.int({ required: false, defaultValue: 30 }),
    },
    resolve: async (_root, args, ctx) => {
      assertLeaderboardArgs(args);
      const asOf = await ctx.asOf();
      const period = leaderboardPeriod(args.period ?? 30, asOf);
      const minSamples = args.minSamples ?? 30;
      const entries = await getReplyClassifiers(ctx.read.pool, { period, minSamples });
      return { asOf, period, minSamples, entries };
    },
  }),
);
