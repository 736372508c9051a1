import { z } from "zod";
import { FUNNEL_METRICS } from "../../analytics/get-campaign-kpis.js";
import {
  getModelLeaderboard,
  LEADERBOARD_ORDER,
  leaderboardPeriod,
} from "../../analytics/get-model-leaderboard.js";
import {
  byOutcomeMetric,
  getModelOutcomes,
  type ModelOutcome,
  OUTCOME_METRICS,
} from "../../analytics/get-model-outcomes.js";
import { getOverview } from "../../analytics/get-overview.js";
import { PLATFORM_METRICS } from "../../analytics/get-platform-activity.js";
import { getReplyClassifiers } from "../../analytics/get-reply-classifiers.js";
import { getStepAnalytics, STEP_COUNTS, STEP_RATES } from "../../analytics/get-step-analytics.js";
import {
  GRANULARITIES,
  isIsoDate,
  MAX_PERIOD_DAYS,
  resolveCalendarPeriod,
  validTimeZone,
} from "../../analytics/period.js";
import { ROLLUPS, refreshViews } from "../../analytics/refresh-views.js";
import { NotFoundError } from "../../domain/errors.js";
import { defineRoute } from "../route.js";
import { IdParams, Timestamp } from "../schemas.js";

const DaysPeriod = z
  .string()
  .regex(/^([1-9]\d{0,3})d$/, `must be a number of days such as 30d (1d–${MAX_PERIOD_DAYS}d)`)
  .transform((p) => Number.parseInt(p, 10))
  .refine((n) => n <= MAX_PERIOD_DAYS, `at most ${MAX_PERIOD_DAYS}d`);
const LocalDate = z.string().refine(isIsoDate, "must be a date YYYY-MM-DD").meta({ example: "2026-11-01" });
const TimeZone = z
  .string()
  .refine((tz) => validTimeZone(tz) !== undefined, "must be an IANA time zone such as Europe/Berlin or UTC")
  .default("UTC")
  .meta({ example: "Europe/Berlin" });
const AsOf = Timestamp.meta({
  description:
    "When the materialized views behind this answer were last refreshed: the data is current to then.",
});

export const ModelLeaderboardQuery = z.strictObject({
  task_type: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,49}$/, "must be a task type such as website_analysis")
    .meta({ example: "website_analysis" }),
  period: DaysPeriod.default(30).meta({
    description: "`Nd`: rows with created_at in [as_of − N days, as_of).",
  }),
  order_by: z.enum(LEADERBOARD_ORDER).default("avg_quality"),
  metric: z
    .enum(OUTCOME_METRICS)
    .optional()
    .meta({
      description:
        'An outcome figure (README "Outcome leaderboards"): each entry then carries `outcomes` — what followed ' +
        "the model's work, derived from what happened — and the list is ordered by it (costs lowest first, the " +
        "rest highest first, nulls last) instead of `order_by`.",
    }),
  min_samples: z.coerce.number().int().min(0).max(1_000_000).default(30).meta({
    description: "With `metric`: fewer leads touched sets `outcomes.below_min_samples`.",
  }),
});

const Interval = z.object({ low: z.number(), high: z.number() }).nullable();
const Money = z.object({ currency: z.string().length(3), amount: z.string().meta({ example: "12500.00" }) });
const Nullable = z.number().nullable();

export const ModelOutcomesResponse = z
  .object({
    ai_runs: z
      .number()
      .int()
      .meta({ description: "AI-GYM records of this task type and model in the period." }),
    ai_spend: z.number().meta({ description: "Their cost, USD." }),
    leads_touched: z.number().int().meta({ description: "Distinct leads of those records." }),
    positive_reply_leads: z
      .number()
      .int()
      .meta({
        description:
          "Touched leads with an inbound reply in the positive group (interested, meeting_request; a human " +
          "correction wins) at or after the model's first touch of the lead.",
      }),
    meeting_leads: z.number().int().meta({ description: "Touched leads that booked a meeting afterwards." }),
    won_deals: z.number().int().meta({ description: "Deals of touched leads won afterwards." }),
    won_revenue: z.array(Money),
    positive_reply_rate: Nullable.meta({ description: "positive_reply_leads / leads_touched." }),
    positive_reply_rate_interval: Interval.meta({ description: "Wilson 95% over leads_touched." }),
    meeting_rate: Nullable.meta({ description: "meeting_leads / leads_touched." }),
    meeting_rate_interval: Interval.meta({ description: "Wilson 95% over leads_touched." }),
    cost_per_positive_reply: Nullable.meta({ description: "ai_spend / positive_reply_leads (USD)." }),
    cost_per_meeting: Nullable.meta({ description: "ai_spend / meeting_leads (USD)." }),
    revenue_per_ai_dollar: Nullable.meta({ description: "Won USD revenue / ai_spend." }),
    below_min_samples: z.boolean(),
  })
  .meta({
    id: "ModelOutcomes",
    description:
      "Attribution through lineage: a model touched a lead in the period when it has an AI-GYM record of the task " +
      "type for the lead, or an artefact on the lead's path names it (completed analysis, deployed demo, a " +
      "delivered email's model_used, an outbound AI reply); it is credited with the lead's outcomes at or after its " +
      "first touch (multi-touch: every model on the path is credited; outcomes do not sum across models). The " +
      "posted conversion_metric is not used.",
  });

function outcomesResponse(o: ModelOutcome): z.input<typeof ModelOutcomesResponse> {
  return {
    ai_runs: o.ai_runs,
    ai_spend: o.ai_spend,
    leads_touched: o.leads_touched,
    positive_reply_leads: o.positive_reply_leads,
    meeting_leads: o.meeting_leads,
    won_deals: o.won_deals,
    won_revenue: o.revenue,
    positive_reply_rate: o.positive_reply_rate,
    positive_reply_rate_interval: o.positive_reply_rate_interval,
    meeting_rate: o.meeting_rate,
    meeting_rate_interval: o.meeting_rate_interval,
    cost_per_positive_reply: o.cost_per_positive_reply,
    cost_per_meeting: o.cost_per_meeting,
    revenue_per_ai_dollar: o.revenue_per_ai_dollar,
    below_min_samples: o.below_min_samples,
  };
}

export const ModelLeaderboardResponse = z
  .object({
    data: z.array(
      z.object({
        model_name: z.string(),
        avg_quality: Nullable.meta({ description: "Mean quality_score (0–100) over rows that have one." }),
        avg_cost: Nullable.meta({ description: "Mean cost in USD over rows that have one." }),
        conversion_rate: Nullable.meta({ description: "Mean conversion_metric over rows that have one." }),
        usage_count: z.number().int(),
        conversion_samples: z.number().int().meta({ description: "Rows with a conversion_metric." }),
        conversions: z.number().meta({ description: "Sum of conversion_metric." }),
        quality_samples: z.number().int(),
        p50_duration_seconds: Nullable,
        p95_duration_seconds: Nullable,
        p50_cost: Nullable.meta({
          description: "Median cost in USD over rows that have one (percentile_cont).",
        }),
        p95_cost: Nullable.meta({ description: "95th percentile of cost in USD over rows that have one." }),
        total_cost: Nullable,
        outcomes: ModelOutcomesResponse.nullable().optional().meta({
          description: "Only with `metric`; null when the model has no records with a lead in the period.",
        }),
      }),
    ),
    meta: z.object({
      generated_at: Timestamp,
      as_of: AsOf,
      task_type: z.string(),
      period: z.object({ from: Timestamp, to: Timestamp, days: z.number().int() }),
      metric: z.enum(OUTCOME_METRICS).optional(),
      min_samples: z.number().int().optional(),
    }),
  })
  .meta({ id: "ModelLeaderboard" });

export const modelLeaderboardRoute = defineRoute({
  method: "get",
  path: "/api/v2/analytics/models",
  operationId: "getModelLeaderboard",
  summary: "AI-GYM model leaderboard for a task type (spec §3.3)",
  description:
    "Per model over `[as_of − N days, as_of)`: usage_count, avg_cost, avg_quality, conversion_rate (means over the " +
    "rows that have the value; null when none do), duration and cost percentiles. With `metric`, each entry also " +
    "carries the outcomes that followed the model's work (positive replies, meetings, won revenue, cost per " +
    "outcome, revenue per AI dollar, Wilson intervals; computed exactly from the base tables) and the list is " +
    "ordered by that figure. Built on the daily AI-GYM views " +
    "(each refresh stores the 1, 7, 30 and 90-day leaderboards; other periods are computed on request), read from " +
    "the replica when one is configured; `meta.as_of` is their last refresh.",
  tags: ["Analytics"],
  scope: "analytics:read",
  query: ModelLeaderboardQuery,
  response: {
    status: 200,
    description: "The leaderboard, best first by `order_by`.",
    schema: ModelLeaderboardResponse,
  },
  handler: async ({ query }, ctx) => {
    const reader = await ctx.reader();
    const asOf = await ctx.cache.asOf(reader);
    const data = await getModelLeaderboard(
      reader,
      { taskType: query.task_type, days: query.period, asOf, orderBy: query.order_by },
      ctx.cache,
    );
    const period = leaderboardPeriod(query.period, asOf);
    const meta = {
      generated_at: ctx.now.toISOString(),
      as_of: asOf.toISOString(),
      task_type: query.task_type,
      period: { from: period.from.toISOString(), to: period.to.toISOString(), days: period.days },
    };
    const metric = query.metric;
    if (metric === undefined) return { data, meta };
    const outcomes = new Map(
      (
        await getModelOutcomes(reader, { period, taskType: query.task_type, minSamples: query.min_samples })
      ).map((o) => [o.model_name, o]),
    );
    return {
      data: data.sort(byOutcomeMetric(metric, (r) => outcomes.get(r.model_name))).map((r) => {
        const o = outcomes.get(r.model_name);
        return { ...r, outcomes: o ? outcomesResponse(o) : null };
      }),
      meta: { ...meta, metric, min_samples: query.min_samples },
    };
  },
});

export const ReplyClassifiersQuery = z.strictObject({
  period: DaysPeriod.default(30).meta({
    description: "`Nd`: inbound messages sent in [as_of − N days, as_of).",
  }),
  min_samples: z.coerce.number().int().min(0).max(1_000_000).default(30).meta({
    description: "Fewer reviewed labels sets `below_min_samples`.",
  }),
});

const ClassifierCounts = {
  labelled: z.number().int().meta({ description: "Inbound messages the model classified." }),
  reviewed: z.number().int().meta({ description: "Of those, reviewed by a human (a correction recorded)." }),
  agreed: z.number().int().meta({ description: "Reviewed labels the human kept." }),
};

export const ReplyClassifiersResponse = z
  .object({
    data: z.array(
      z.object({
        model_name: z.string(),
        ...ClassifierCounts,
        accuracy: Nullable.meta({ description: "agreed / reviewed; null when nothing was reviewed." }),
        accuracy_interval: Interval.meta({ description: "Wilson 95% over reviewed." }),
        mean_confidence: Nullable,
        below_min_samples: z.boolean(),
        by_category: z.array(z.object({ category: z.string(), ...ClassifierCounts })).meta({
          description: "The same counts per label the model gave.",
        }),
      }),
    ),
    meta: z.object({
      generated_at: Timestamp,
      as_of: AsOf,
      period: z.object({ from: Timestamp, to: Timestamp, days: z.number().int() }),
      min_samples: z.number().int(),
    }),
  })
  .meta({ id: "ReplyClassifiers" });

export const replyClassifiersRoute = defineRoute({
  method: "get",
  path: "/api/v2/analytics/reply-classifiers",
  operationId: "getReplyClassifiers",
  summary: "Reply-classifier accuracy per model, from human corrections",
  description:
    "Per `reply_category_model` over the inbound messages sent in the period: how many it labelled, how many a " +
    "human reviewed (PUT …/messages/{messageId}/category) and how many of those the human kept; accuracy with " +
    "a Wilson 95% interval. Most accurate first. Exact, from the replica's base tables. No PII.",
  tags: ["Analytics"],
  scope: "analytics:read",
  query: ReplyClassifiersQuery,
  response: { status: 200, description: "The classifiers.", schema: ReplyClassifiersResponse },
  handler: async ({ query }, ctx) => {
    const reader = await ctx.reader();
    const asOf = await ctx.cache.asOf(reader);
    const period = leaderboardPeriod(query.period, asOf);
    const data = await getReplyClassifiers(reader, { period, minSamples: query.min_samples });
    return {
      data,
      meta: {
        generated_at: ctx.now.toISOString(),
        as_of: asOf.toISOString(),
        period: { from: period.from.toISOString(), to: period.to.toISOString(), days: period.days },
        min_samples: query.min_samples,
      },
    };
  },
});

export const OverviewQuery = z.strictObject({
  period: DaysPeriod.optional().meta({
    description: "`Nd`: the N local days ending with the day of `as_of` (today included). Default 30d.",
  }),
  from: LocalDate.optional().meta({ description: "First local day (with `to`, instead of `period`)." }),
  to: LocalDate.optional().meta({ description: "Last local day, inclusive." }),
  granularity: z.enum(GRANULARITIES).default("day"),
  timezone: TimeZone,
});

export const StepsQuery = z.strictObject({
  period: DaysPeriod.optional().meta({
    description: "`Nd`: the N local days ending with the day of `as_of` (today included). Default 30d.",
  }),
  from: LocalDate.optional().meta({ description: "First local day (with `to`, instead of `period`)." }),
  to: LocalDate.optional().meta({ description: "Last local day, inclusive." }),
  timezone: TimeZone,
});

const StepRate = z.object({
  value: Nullable,
  numerator: z.enum(STEP_COUNTS),
  denominator: z.enum(STEP_COUNTS),
  over: z.number().int().meta({ description: "The denominator's value." }),
});

export const StepsResponse = z
  .object({
    data: z.array(
      z.object({
        step: z.number().int().meta({ description: "Sequence step (1 = the first email)." }),
        ab_test_id: z.uuid().nullable(),
        variant: z.string().nullable().meta({ description: "The A/B variant; null: none." }),
        ...(Object.fromEntries(STEP_COUNTS.map((c) => [c, z.number().int()])) as Record<
          (typeof STEP_COUNTS)[number],
          z.ZodNumber
        >),
        rates: z.object(
          Object.fromEntries(Object.keys(STEP_RATES).map((r) => [r, StepRate])) as Record<
            keyof typeof STEP_RATES,
            typeof StepRate
          >,
        ),
      }),
    ),
    meta: z.object({
      generated_at: Timestamp,
      as_of: AsOf,
      period: z.object({ from: LocalDate, to: LocalDate, timezone: z.string() }),
    }),
  })
  .meta({ id: "CampaignSteps" });

export const campaignStepsRoute = defineRoute({
  method: "get",
  path: "/api/v2/analytics/campaigns/{id}/steps",
  operationId: "getCampaignSteps",
  summary: "A campaign's analytics by sequence step × A/B variant",
  description:
    "Per step × variant over the local days of the period (emails count on the day they were sent): sent, " +
    "delivered, bounced, unique opens and clicks, human and automatic replies, positive replies, unsubscribes and " +
    'meetings (last touch), and rates that name their numerator and denominator. README "Step analytics". ' +
    "Live from the replica's base tables. No PII.",
  tags: ["Analytics"],
  scope: "analytics:read",
  params: IdParams,
  query: StepsQuery,
  response: { status: 200, description: "The rows, step first.", schema: StepsResponse },
  errors: [404, 422],
  handler: async ({ params, query }, ctx) => {
    const reader = await ctx.reader();
    const asOf = await ctx.cache.asOf(reader);
    const period = resolveCalendarPeriod(
      { days: query.period, from: query.from, to: query.to, timezone: query.timezone },
      asOf,
    );
    const { rowCount } = await reader.query("SELECT 1 FROM campaigns WHERE id = $1", [params.id]);
    if (!rowCount) throw new NotFoundError("Campaign", params.id);
    return {
      data: await getStepAnalytics(reader, params.id, period),
      meta: { generated_at: ctx.now.toISOString(), as_of: asOf.toISOString(), period },
    };
  },
});

const Counts = <const K extends readonly string[]>(keys: K) =>
  z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as { [P in K[number]]: z.ZodNumber });
const OutreachSlice = z.object({
  funnel: Counts(FUNNEL_METRICS),
  deals_won: z.number().int(),
  revenue: z.array(Money),
});
const PlatformSlice = Counts(PLATFORM_METRICS).extend({ ai_spend: z.number().meta({ description: "USD." }) });
const Start = z.object({
  start: LocalDate.meta({ description: "Local start date of the day, ISO week or month." }),
});

export const OverviewResponse = z
  .object({
    data: z.object({
      platform: z.object({ totals: PlatformSlice, series: z.array(PlatformSlice.extend(Start.shape)) }),
      outreach: z.object({ totals: OutreachSlice, series: z.array(OutreachSlice.extend(Start.shape)) }),
      rates: z.object(
        Object.fromEntries(
          [
            "delivery_rate",
            "bounce_rate",
            "open_rate",
            "click_rate",
            "reply_rate",
            "positive_reply_rate",
            "meeting_booking_rate",
          ].map((k) => [k, Nullable]),
        ),
      ),
    }),
    meta: z.object({
      generated_at: Timestamp,
      as_of: AsOf,
      period: z.object({ from: LocalDate, to: LocalDate, timezone: z.string() }),
      granularity: z.enum(GRANULARITIES),
    }),
  })
  .meta({ id: "AnalyticsOverview" });

export const overviewRoute = defineRoute({
  method: "get",
  path: "/api/v2/analytics/overview",
  operationId: "getAnalyticsOverview",
  summary: "Platform KPIs and the outreach funnel for a period (spec §3.2)",
  description:
    "Totals and a series per local day, ISO week or month in `timezone`. Emails count in the local day they were " +
    "sent; delivered = sent − bounced; rates are over delivered and null when nothing was delivered; revenue is " +
    "per currency, on the day deals were won. See the README's KPI definitions. Aggregates only: no PII.",
  tags: ["Analytics"],
  scope: "analytics:read",
  query: OverviewQuery,
  response: { status: 200, description: "The overview.", schema: OverviewResponse },
  errors: [422],
  handler: async ({ query }, { reader, now, cache }) => {
    const o = await getOverview(
      await reader(),
      {
        days: query.period,
        from: query.from,
        to: query.to,
        timezone: query.timezone,
        granularity: query.granularity,
      },
      { cache },
    );
    return {
      data: { platform: o.platform, outreach: o.outreach, rates: o.rates },
      meta: {
        generated_at: now.toISOString(),
        as_of: o.as_of.toISOString(),
        period: o.period,
        granularity: o.granularity,
      },
    };
  },
});

const ViewRefreshResponse = z
  .object({
    as_of: AsOf,
    duration_ms: z.number().int(),
    horizon: z.string().meta({
      description:
        "UTC timestamp: buckets before it are kept in the closed rollup tables, the rest in the open materialized views.",
      example: "2026-11-11 00:00:00",
    }),
    sealed_before: z.string().meta({
      description:
        "UTC timestamp: closed buckets before it are sealed — never recounted, since retention purged their base rows ('-infinity': none).",
      example: "2024-12-01 00:00:00",
    }),
    views: z.array(
      z.object({
        view_name: z.enum(ROLLUPS),
        duration_ms: z.number().int(),
        row_count: z.number().int().meta({
          description: "Rows of the open window, plus closed rows rewritten.",
        }),
        closed_ranges: z
          .array(
            z.object({
              from: z.string(),
              to: z.string(),
              keys: z.array(z.uuid()).optional().meta({
                description:
                  "Only these keys' rows of the range were recounted: campaign ids for campaign_kpis_15m and campaign_revenue_15m, A/B test ids for ab_variant_results. Absent: all rows.",
              }),
            }),
          )
          .meta({
            description:
              "UTC [from, to) ranges of this rollup's closed buckets that this refresh rewrote: the days the horizon passed, and the closed days (and campaigns or A/B tests) that writes changed since the last refresh.",
          }),
      }),
    ),
    leaderboard_snapshots: z
      .object({
        period_days: z.array(z.number().int()),
        duration_ms: z.number().int(),
        row_count: z.number().int(),
      })
      .meta({
        description:
          "The model leaderboards this refresh stored for its as_of: every task type over each of period_days (reads of those periods are one indexed lookup; others are computed on request).",
      }),
  })
  .meta({ id: "ViewRefresh" });

export const refreshViewsRoute = defineRoute({
  method: "post",
  path: "/api/v2/analytics/refreshes",
  operationId: "refreshAnalyticsViews",
  summary: "Refresh the analytics views now (admin)",
  description:
    "Refreshes the analytics rollups in one snapshot and answers with the new `as_of` and each rollup's " +
    "duration: closed days that writes changed are recounted, the horizon moves up to the open window, and the " +
    "open materialized views are refreshed with REFRESH … CONCURRENTLY (writers are not blocked and readers keep " +
    "the previous contents until it commits); then the model leaderboards of the stored periods are computed for " +
    "the new `as_of`. Its cost follows the open window and the changes, not the history. Runs after any refresh " +
    "already in progress. The scheduler also refreshes every " +
    "VIEW_REFRESH_INTERVAL_MINUTES.",
  tags: ["Analytics"],
  scope: "admin",
  response: { status: 200, description: "The refresh that ran.", schema: ViewRefreshResponse },
  handler: async (_input, uow) => {
    const refresh = await refreshViews(uow.primary, "admin");
    uow.audit({
      action: "analytics.views_refreshed",
      resourceType: "analytics_views",
      resourceId: null,
      details: { as_of: refresh.as_of.toISOString(), duration_ms: refresh.duration_ms },
    });
    return { ...refresh, as_of: refresh.as_of.toISOString() };
  },
});

export const analyticsRoutes = [
  modelLeaderboardRoute,
  replyClassifiersRoute,
  campaignStepsRoute,
  overviewRoute,
  refreshViewsRoute,
];
