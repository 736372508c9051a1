import type pg from "pg";
import { prepared } from "../db/prepared.js";
import type { LeaderboardPeriod } from "./get-model-leaderboard.js";
import { rate, wilsonInterval } from "./statistics.js";

/**
 * Outcome leaderboard (README "Outcome leaderboards"): what followed a model's work, derived from what happened,
 * never from the `conversion_metric` callers post.
 *
 * Attribution rule (through lineage). A model's output is part of a lead's path in the period `[from, to)` when
 * - the lead has an AI-GYM record of that task type and model created in the period (the work queue writes one when
 *   an analysis, demo or video completes; AI workers post theirs), or
 * - an artefact on the lead's path names the model: its completed analysis (`website_analysis`, at completion), its
 *   deployed demo (`demo_generation`, at deployment), a delivered email's `model_used` (`email_copy`, at sending),
 *   an outbound AI reply in its threads (`reply_drafting`, at sending). Videos name no model: theirs is the AI-GYM
 *   record's (`video_script`).
 * Then:
 * - AI spend and runs: the model's AI-GYM records of the task type created in the period (an artefact adds no
 *   spend; a model seen only in artefacts has 0 runs and no cost per outcome);
 * - leads touched: the distinct leads of its touches;
 * - for each touched lead, the model is credited with an outcome that happened at or after its first touch of the
 *   lead in the period and before `to`: a positive reply (an inbound message in any of the lead's threads whose
 *   effective category — the human correction, else the classifier's — is in the positive group: interested,
 *   meeting_request; README "Reply taxonomy"), a booked meeting, a won deal (its amount, per currency).
 *   Each is counted per lead: a lead with two positive replies is one lead with a positive reply. Several models
 *   on one lead's path are each credited (multi-touch, not split), so outcomes do not sum across models.
 * Rates are over leads touched, with Wilson 95% intervals; money per outcome is AI spend / outcome leads.
 * Exact: computed from the base tables (of the replica) on each request; test/analytics/model-outcomes.test.ts
 * recomputes it from the rows independently.
 */
export type ModelOutcomeRow = {
  task_type: string;
  model_name: string;
  ai_runs: number;
  ai_spend: number;
  leads_touched: number;
  positive_reply_leads: number;
  meeting_leads: number;
  won_deals: number;
  revenue: { currency: string; amount: string }[];
};

export type ModelOutcome = ModelOutcomeRow & {
  positive_reply_rate: number | null;
  positive_reply_rate_interval: { low: number; high: number } | null;
  meeting_rate: number | null;
  meeting_rate_interval: { low: number; high: number } | null;
  cost_per_positive_reply: number | null;
  cost_per_meeting: number | null;
  /** Won revenue in USD per USD of AI spend (AI-GYM costs are USD; other currencies are not converted). */
  revenue_per_ai_dollar: number | null;
  below_min_samples: boolean;
};

const OUTCOMES_SQL = `
WITH runs AS (
  SELECT g.task_type, g.model_name, g.lead_id, g.cost, g.created_at
    FROM ai_gym_performance g
   WHERE g.created_at >= $1 AND g.created_at < $2 AND g.model_name IS NOT NULL AND g.task_type IS NOT NULL
     AND ($3::text IS NULL OR g.task_type = $3)
),
-- A model's output on a lead's path (its lineage): its AI-GYM records, and the artefacts that name it.
path AS (
  SELECT task_type, model_name, lead_id, created_at AS at FROM runs WHERE lead_id IS NOT NULL
  UNION ALL
  SELECT 'website_analysis', a.model_used, a.lead_id, COALESCE(a.completed_at, a.created_at)
    FROM website_analyses a
   WHERE a.status = 'completed' AND a.model_used IS NOT NULL
     AND COALESCE(a.completed_at, a.created_at) >= $1 AND COALESCE(a.completed_at, a.created_at) < $2
  UNION ALL
  SELECT 'demo_generation', d.model_used, d.lead_id, d.deployed_at
    FROM demo_sites d
   WHERE d.model_used IS NOT NULL AND d.deployed_at >= $1 AND d.deployed_at < $2
  UNION ALL
  SELECT 'email_copy', s.model_used, s.lead_id, s.sent_at
    FROM email_sends s
   WHERE s.status = 'sent' AND s.model_used IS NOT NULL AND s.lead_id IS NOT NULL
     AND s.sent_at >= $1 AND s.sent_at < $2
  UNION ALL
  SELECT 'reply_drafting', m.model_used, c.lead_id, m.sent_at
    FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
   WHERE m.direction = 'outbound' AND m.model_used IS NOT NULL AND c.lead_id IS NOT NULL
     AND m.sent_at >= $1 AND m.sent_at < $2
),
touches AS (
  SELECT task_type, model_name, lead_id, min(at) AS first_at
    FROM path WHERE $3::text IS NULL OR task_type = $3 GROUP BY task_type, model_name, lead_id
),
credited AS (
  SELECT t.task_type, t.model_name, t.lead_id,
         EXISTS (SELECT 1 FROM conversations c JOIN conversation_messages m ON m.conversation_id = c.id
                  WHERE c.lead_id = t.lead_id AND m.direction = 'inbound'
                    AND reply_category_group(COALESCE(m.reply_category_corrected, m.reply_category)) = 'positive'
                    AND m.sent_at >= t.first_at AND m.sent_at < $2) AS positive,
         EXISTS (SELECT 1 FROM meetings mt
                  WHERE mt.lead_id = t.lead_id AND mt.booked_at >= t.first_at AND mt.booked_at < $2) AS meeting
    FROM touches t
),
won AS (
  SELECT t.task_type, t.model_name, d.currency, count(*)::int AS deals, sum(d.amount)::text AS amount
    FROM touches t JOIN deals d ON d.lead_id = t.lead_id
   WHERE d.status = 'won' AND d.won_at >= t.first_at AND d.won_at < $2
   GROUP BY t.task_type, t.model_name, d.currency
)
SELECT k.task_type, k.model_name, COALESCE(r.ai_runs, 0) AS ai_runs, COALESCE(r.ai_spend, 0) AS ai_spend,
       COALESCE(c.leads_touched, 0) AS leads_touched, COALESCE(c.positive_reply_leads, 0) AS positive_reply_leads,
       COALESCE(c.meeting_leads, 0) AS meeting_leads, COALESCE(w.won_deals, 0) AS won_deals,
       COALESCE(w.revenue, '[]'::jsonb) AS revenue
  FROM (SELECT task_type, model_name FROM runs UNION SELECT task_type, model_name FROM touches) k
  LEFT JOIN (SELECT task_type, model_name, count(*)::int AS ai_runs, COALESCE(sum(cost), 0)::float8 AS ai_spend
               FROM runs GROUP BY task_type, model_name) r USING (task_type, model_name)
  LEFT JOIN (SELECT task_type, model_name, count(*)::int AS leads_touched,
                    count(*) FILTER (WHERE positive)::int AS positive_reply_leads,
                    count(*) FILTER (WHERE meeting)::int AS meeting_leads
               FROM credited GROUP BY task_type, model_name) c USING (task_type, model_name)
  LEFT JOIN (SELECT task_type, model_name, sum(deals)::int AS won_deals,
                    jsonb_agg(jsonb_build_object('currency', currency, 'amount', amount) ORDER BY currency) AS revenue
               FROM won GROUP BY task_type, model_name) w USING (task_type, model_name)
 ORDER BY k.task_type, k.model_name`;

/** Per task type × model over `period` (one task type, or all when null); best first by revenue per AI dollar. */
export async function getModelOutcomes(
  db: pg.Pool,
  q: { period: LeaderboardPeriod; taskType: string | null; minSamples: number },
): Promise<ModelOutcome[]> {
  const { rows } = await db.query<ModelOutcomeRow>(
    prepared(OUTCOMES_SQL, [q.period.from.toISOString(), q.period.to.toISOString(), q.taskType]),
  );
  return rows.map((r) => withRates(r, q.minSamples)).sort(byValue);
}

export function withRates(r: ModelOutcomeRow, minSamples: number): ModelOutcome {
  const positiveRate = rate(r.positive_reply_leads, r.leads_touched);
  const meetingRate = rate(r.meeting_leads, r.leads_touched);
  const usd = r.revenue.find((m) => m.currency === "USD");
  return {
    ...r,
    positive_reply_rate: positiveRate,
    positive_reply_rate_interval: wilsonInterval(positiveRate, r.leads_touched),
    meeting_rate: meetingRate,
    meeting_rate_interval: wilsonInterval(meetingRate, r.leads_touched),
    cost_per_positive_reply:
      r.ai_runs > 0 && r.positive_reply_leads > 0 ? r.ai_spend / r.positive_reply_leads : null,
    cost_per_meeting: r.ai_runs > 0 && r.meeting_leads > 0 ? r.ai_spend / r.meeting_leads : null,
    revenue_per_ai_dollar: r.ai_spend > 0 ? Number(usd?.amount ?? 0) / r.ai_spend : null,
    below_min_samples: r.leads_touched < minSamples,
  };
}

/** Revenue per AI dollar, then positive-reply rate, descending (nulls last); ties by task type and model. */
function byValue(a: ModelOutcome, b: ModelOutcome): number {
  const desc = (x: number | null, y: number | null) => (y ?? -1) - (x ?? -1);
  return (
    desc(a.revenue_per_ai_dollar, b.revenue_per_ai_dollar) ||
    desc(a.positive_reply_rate, b.positive_reply_rate) ||
    a.task_type.localeCompare(b.task_type) ||
    a.model_name.localeCompare(b.model_name)
  );
}

/** The outcome figures a leaderboard can be ordered by (REST `metric=`): higher is better except for costs. */
export const OUTCOME_METRICS = [
  "revenue_per_ai_dollar",
  "positive_reply_rate",
  "meeting_rate",
  "cost_per_positive_reply",
  "cost_per_meeting",
] as const;
export type OutcomeMetric = (typeof OUTCOME_METRICS)[number];

/** Best first by `metric` (costs ascending, the rest descending), nulls last; ties by model name. */
export function byOutcomeMetric<T extends { model_name: string }>(
  metric: OutcomeMetric,
  outcomeOf: (row: T) => ModelOutcome | undefined,
): (a: T, b: T) => number {
  const ascending = metric.startsWith("cost_");
  return (a, b) => {
    const x = outcomeOf(a)?.[metric] ?? null;
    const y = outcomeOf(b)?.[metric] ?? null;
    if (x === null || y === null)
      return (x === null ? 1 : 0) - (y === null ? 1 : 0) || a.model_name.localeCompare(b.model_name);
    return (ascending ? x - y : y - x) || a.model_name.localeCompare(b.model_name);
  };
}
