import {
  getModelLeaderboard,
  LEADERBOARD_ORDER,
  type LeaderboardPeriod,
  leaderboardPeriod,
  type ModelLeaderboardRow,
} from "../../analytics/get-model-leaderboard.js";
import { wilsonInterval } from "../../analytics/statistics.js";
import { UnprocessableError } from "../../domain/errors.js";
import { builder } from "../builder.js";

const TASK_TYPE = /^[a-z][a-z0-9_]{0,49}$/;

type Entry = ModelLeaderboardRow & { rank: number; minSamples: number };
type Leaderboard = {
  asOf: Date;
  taskType: string;
  period: LeaderboardPeriod;
  minSamples: number;
  entries: Entry[];
};

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
    resolve: async (_root, args, ctx) => {
      if (!TASK_TYPE.test(args.taskType))
        throw new UnprocessableError("taskType must look like website_analysis (lower case, digits, _).", [
          { path: "taskType", message: "must match ^[a-z][a-z0-9_]{0,49}$" },
        ]);
      if ((args.minSamples ?? 0) < 0)
        throw new UnprocessableError("minSamples must be 0 or more.", [
          { path: "minSamples", message: ">= 0" },
        ]);
      const asOf = await ctx.asOf();
      const days = args.period ?? 30;
      const minSamples = args.minSamples ?? 30;
      const rows = await getModelLeaderboard(ctx.read.pool, {
        taskType: args.taskType,
        days,
        asOf,
        orderBy: args.orderBy ?? "avg_quality",
      });
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
