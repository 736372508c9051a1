import { z } from "zod";
import { getModelLeaderboard, LEADERBOARD_ORDER } from "../../analytics/get-model-leaderboard.js";
import { defineRoute } from "../route.js";
import { Timestamp } from "../schemas.js";

export const ModelLeaderboardQuery = z.strictObject({
  task_type: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,49}$/, "must be a task type such as website_analysis")
    .meta({ example: "website_analysis" }),
  period: z
    .string()
    .regex(/^([1-9]\d{0,2})d$/, "must be a number of days such as 30d (1d–999d)")
    .default("30d")
    .transform((p) => Number.parseInt(p, 10))
    .meta({ description: "`Nd`: rows with created_at in [now − N days, now)." }),
  order_by: z.enum(LEADERBOARD_ORDER).default("avg_quality"),
});

const Nullable = z.number().nullable();
export const ModelLeaderboardResponse = z
  .object({
    data: z.array(
      z.object({
        model_name: z.string(),
        avg_quality: Nullable.meta({ description: "Mean quality_score (0–100) over rows that have one." }),
        avg_cost: Nullable.meta({ description: "Mean cost in USD." }),
        conversion_rate: Nullable.meta({ description: "Mean conversion_metric over rows that have one." }),
        usage_count: z.number().int(),
        p50_duration_seconds: Nullable,
        p95_duration_seconds: Nullable,
        total_cost: Nullable,
      }),
    ),
    meta: z.object({
      generated_at: Timestamp,
      task_type: z.string(),
      period: z.object({ from: Timestamp, to: Timestamp, days: z.number().int() }),
    }),
  })
  .meta({ id: "ModelLeaderboard" });

export const modelLeaderboardRoute = defineRoute({
  method: "get",
  path: "/api/v2/analytics/models",
  operationId: "getModelLeaderboard",
  summary: "AI-GYM model leaderboard for a task type (spec §3.3)",
  description:
    "Per model over `[now − N days, now)`: usage_count, avg_cost, avg_quality, conversion_rate (means over the rows " +
    "that have the value; null when none do), duration percentiles. Read from the replica when one is configured.",
  tags: ["Analytics"],
  scope: "analytics:read",
  query: ModelLeaderboardQuery,
  response: {
    status: 200,
    description: "The leaderboard, best first by `order_by`.",
    schema: ModelLeaderboardResponse,
  },
  handler: async ({ query }, { reader, now }) => {
    const data = await getModelLeaderboard(reader, {
      taskType: query.task_type,
      days: query.period,
      now,
      orderBy: query.order_by,
    });
    return {
      data,
      meta: {
        generated_at: now.toISOString(),
        task_type: query.task_type,
        period: {
          from: new Date(now.getTime() - query.period * 86_400_000).toISOString(),
          to: now.toISOString(),
          days: query.period,
        },
      },
    };
  },
});

export const analyticsRoutes = [modelLeaderboardRoute];
