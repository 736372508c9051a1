import type pg from "pg";
import { prepared } from "../db/prepared.js";
import type { CalendarPeriod } from "./period.js";
import { rate } from "./statistics.js";

/**
 * Campaign analytics by sequence step × A/B variant (README "Step analytics"): the emails of one campaign sent in the
 * local days of `period`, grouped by `email_sends.sequence_step` and the variant they were assigned (null: none).
 * An email counts once per outcome (its opened_at / clicked_at are set once), so opens and clicks are unique.
 * - sent, delivered, bounced, unique opens and clicks: as in the KPI definitions (email_send_outcomes);
 * - human replies: `replied` (a human answered, README "Reply taxonomy"); automatic replies: delivered emails with a
 *   reply that was only out-of-office, auto-reply or bounce messages;
 * - positive replies: the positive group; unsubscribes: delivered emails whose thread has an `unsubscribe` reply;
 * - meetings: last touch — a meeting of the lead in the campaign counts on the lead's latest delivered email of the
 *   campaign sent at or before the booking, so each step gets the meetings that followed it (the funnel's
 *   `meetingsBooked` credits the first touch instead).
 * Live from the (replica's) base tables, not the views: it may run ahead of `performance` until the next refresh.
 */
export const STEP_COUNTS = [
  "sent",
  "delivered",
  "bounced",
  "unique_opens",
  "unique_clicks",
  "human_replies",
  "automatic_replies",
  "positive_replies",
  "unsubscribes",
  "meetings",
] as const;
export type StepCount = (typeof STEP_COUNTS)[number];

export type StepVariantRow = {
  step: number;
  ab_test_id: string | null;
  variant: string | null;
} & Record<StepCount, number>;

export type NamedRate = { value: number | null; numerator: StepCount; denominator: StepCount; over: number };

/** Each rate with the count it divides and the one it divides by, named. */
export const STEP_RATES = {
  delivery_rate: ["delivered", "sent"],
  bounce_rate: ["bounced", "sent"],
  open_rate: ["unique_opens", "delivered"],
  click_rate: ["unique_clicks", "delivered"],
  human_reply_rate: ["human_replies", "delivered"],
  automatic_reply_rate: ["automatic_replies", "delivered"],
  positive_reply_rate: ["positive_replies", "delivered"],
  unsubscribe_rate: ["unsubscribes", "delivered"],
  meeting_rate: ["meetings", "delivered"],
} as const satisfies Record<string, readonly [StepCount, StepCount]>;
export type StepRateName = keyof typeof STEP_RATES;

export type StepVariant = StepVariantRow & { rates: Record<StepRateName, NamedRate> };

const STEPS_SQL = `
WITH p AS (SELECT ($2::date::timestamp AT TIME ZONE $4) AT TIME ZONE 'UTC' AS f,
                  (($3::date + 1)::timestamp AT TIME ZONE $4) AT TIME ZONE 'UTC' AS t)
SELECT s.sequence_step::int AS step, s.ab_test_id, s.ab_variant AS variant,
       count(*) FILTER (WHERE o.sent)::int AS sent,
       count(*) FILTER (WHERE o.delivered)::int AS delivered,
       count(*) FILTER (WHERE o.bounced)::int AS bounced,
       count(*) FILTER (WHERE o.opened)::int AS unique_opens,
       count(*) FILTER (WHERE o.clicked)::int AS unique_clicks,
       count(*) FILTER (WHERE o.replied)::int AS human_replies,
       count(*) FILTER (WHERE o.delivered AND s.replied_at IS NOT NULL AND NOT o.replied)::int AS automatic_replies,
       count(*) FILTER (WHERE o.positive_reply)::int AS positive_replies,
       count(*) FILTER (WHERE o.delivered AND s.replied_at IS NOT NULL AND EXISTS (
           SELECT 1 FROM conversations c JOIN conversation_messages m ON m.conversation_id = c.id
            WHERE c.lead_id = s.lead_id AND c.campaign_id = s.campaign_id
              AND (c.email_send_id IS NULL OR c.email_send_id = s.id) AND m.direction = 'inbound'
              AND COALESCE(m.reply_category_corrected, m.reply_category) = 'unsubscribe'))::int AS unsubscribes,
       count(*) FILTER (WHERE o.delivered AND EXISTS (
           SELECT 1 FROM meetings mt
            WHERE mt.lead_id = s.lead_id AND mt.campaign_id = s.campaign_id AND mt.booked_at >= s.sent_at
              AND NOT EXISTS (
                  SELECT 1 FROM email_sends n
                   WHERE n.lead_id = s.lead_id AND n.campaign_id = s.campaign_id AND n.status = 'sent'
                     AND (n.sent_at, n.id) > (s.sent_at, s.id) AND n.sent_at <= mt.booked_at)))::int AS meetings
  FROM p, email_send_outcomes o
  JOIN email_sends s ON s.id = o.id AND s.created_at = o.created_at
 WHERE o.campaign_id = $1 AND o.sent_at >= p.f AND o.sent_at < p.t
 GROUP BY s.sequence_step, s.ab_test_id, s.ab_variant
 ORDER BY s.sequence_step, s.ab_test_id NULLS FIRST, s.ab_variant NULLS FIRST`;

export function withStepRates(r: StepVariantRow): StepVariant {
  const rates = Object.fromEntries(
    Object.entries(STEP_RATES).map(([name, [numerator, denominator]]) => [
      name,
      { value: rate(r[numerator], r[denominator]), numerator, denominator, over: r[denominator] },
    ]),
  ) as Record<StepRateName, NamedRate>;
  return { ...r, rates };
}

/** One campaign's step × variant rows over `period`, step first, then test and variant (none first). */
export async function getStepAnalytics(
  db: pg.Pool | pg.ClientBase,
  campaignId: string,
  period: CalendarPeriod,
): Promise<StepVariant[]> {
  const { rows } = await db.query<StepVariantRow>(
    prepared(STEPS_SQL, [campaignId, period.from, period.to, period.timezone]),
  );
  return rows.map(withStepRates);
}
