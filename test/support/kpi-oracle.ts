import type pg from "pg";

/**
 * Independent answers to the KPI contract, computed straight from the base tables (never from the views or
 * src/analytics): the oracle the read side's numbers are checked against. Written the other way round on
 * purpose — correlated subqueries where the views use window/DISTINCT ON — so a shared mistake is unlikely.
 */
export type OraclePeriod = {
  from: string;
  to: string;
  timezone: string;
  granularity: "day" | "week" | "month";
};

const BOUNDS = `b AS (SELECT ($1::date::timestamp AT TIME ZONE $3) AT TIME ZONE 'UTC' AS f,
                             (($2::date + 1)::timestamp AT TIME ZONE $3) AT TIME ZONE 'UTC' AS t)`;
const local = (column: string) =>
  `to_char(date_trunc($4, (${column} AT TIME ZONE 'UTC') AT TIME ZONE $3), 'YYYY-MM-DD')`;
const params = (p: OraclePeriod) => [p.from, p.to, p.timezone, p.granularity];

/**
 * Whether the thread of email `s` (the lead's conversations in its campaign, for this email or tied to none) has an
 * inbound message whose effective category (the human correction, else the classifier's) matches `test`. A
 * message without any category counts as not automatic. The reply rules (README "Reply taxonomy"): replied = a human
 * answered (a non-automatic message) or nothing automatic came back; positive = replied with a positive category
 * (a positive message is itself not automatic, so it implies replied).
 */
const threadHas = (s: string, test: string) =>
  `EXISTS (SELECT 1 FROM conversations c JOIN conversation_messages m ON m.conversation_id = c.id
            WHERE c.lead_id = ${s}.lead_id AND c.campaign_id = ${s}.campaign_id
              AND (c.email_send_id IS NULL OR c.email_send_id = ${s}.id) AND m.direction = 'inbound'
              AND COALESCE(m.reply_category_corrected, m.reply_category, 'uncategorized') ${test})`;

export type FunnelFacts = {
  campaign_id: string;
  start: string;
  queued: number;
  sent: number;
  bounced: number;
  delivered: number;
  opened: number;
  clicked: number;
  replied: number;
  positive_replies: number;
  meetings_booked: number;
};

/** Funnel counts per campaign × local step (rows only where something happened). */
export async function oracleFunnel(db: pg.Pool, p: OraclePeriod): Promise<FunnelFacts[]> {
  const sent = await db.query(
    `WITH ${BOUNDS}
     SELECT s.campaign_id::text AS campaign_id, ${local("s.sent_at")} AS start,
            count(*)::int AS sent,
            count(*) FILTER (WHERE s.status = 'bounced')::int AS bounced,
            count(*) FILTER (WHERE s.status = 'sent')::int AS delivered,
            count(*) FILTER (WHERE s.status = 'sent' AND s.opened_at IS NOT NULL)::int AS opened,
            count(*) FILTER (WHERE s.status = 'sent' AND s.clicked_at IS NOT NULL)::int AS clicked,
            count(*) FILTER (WHERE s.status = 'sent' AND s.replied_at IS NOT NULL
                AND NOT ${threadHas("s", "IN ('out_of_office', 'auto_reply', 'bounce')")}
                     OR s.status = 'sent' AND s.replied_at IS NOT NULL
                        AND ${threadHas("s", "NOT IN ('out_of_office', 'auto_reply', 'bounce')")})::int AS replied,
            count(*) FILTER (WHERE s.status = 'sent' AND s.replied_at IS NOT NULL
                AND ${threadHas("s", "IN ('interested', 'meeting_request')")})::int AS positive_replies,
            count(*) FILTER (WHERE s.status = 'sent' AND s.lead_id IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM email_sends e
                                 WHERE e.lead_id = s.lead_id AND e.campaign_id = s.campaign_id
                                   AND e.status = 'sent' AND e.sent_at IS NOT NULL
                                   AND (e.sent_at, e.id) < (s.sent_at, s.id))
                AND EXISTS (SELECT 1 FROM meetings m
                             WHERE m.lead_id = s.lead_id AND m.campaign_id = s.campaign_id
                               AND m.booked_at >= s.sent_at))::int AS meetings_booked
       FROM email_sends s, b
      WHERE s.campaign_id IS NOT NULL AND s.sent_at IS NOT NULL AND s.status IN ('sent', 'bounced')
        AND s.sent_at >= b.f AND s.sent_at < b.t
      GROUP BY 1, 2`,
    params(p),
  );
  const queued = await db.query<{ campaign_id: string; start: string; queued: number }>(
    `WITH ${BOUNDS}
     SELECT s.campaign_id::text AS campaign_id, ${local("s.created_at")} AS start, count(*)::int AS queued
       FROM email_sends s, b
      WHERE s.campaign_id IS NOT NULL AND s.created_at >= b.f AND s.created_at < b.t
      GROUP BY 1, 2`,
    params(p),
  );
  const zero = {
    queued: 0,
    sent: 0,
    bounced: 0,
    delivered: 0,
    opened: 0,
    clicked: 0,
    replied: 0,
    positive_replies: 0,
    meetings_booked: 0,
  };
  const byKey = new Map<string, FunnelFacts>();
  for (const r of sent.rows as FunnelFacts[]) byKey.set(`${r.campaign_id}|${r.start}`, { ...zero, ...r });
  for (const r of queued.rows) {
    const k = `${r.campaign_id}|${r.start}`;
    byKey.set(k, { ...zero, ...byKey.get(k), campaign_id: r.campaign_id, start: r.start, queued: r.queued });
  }
  return [...byKey.values()];
}

/** Won deals per campaign × local step × currency, amounts in cents. */
export async function oracleRevenue(
  db: pg.Pool,
  p: OraclePeriod,
): Promise<{ campaign_id: string; start: string; currency: string; deals_won: number; cents: number }[]> {
  const { rows } = await db.query(
    `WITH ${BOUNDS}
     SELECT d.campaign_id::text AS campaign_id, ${local("d.won_at")} AS start, d.currency,
            count(*)::int AS deals_won, (sum(d.amount) * 100)::bigint::float8 AS cents
       FROM deals d, b
      WHERE d.status = 'won' AND d.campaign_id IS NOT NULL AND d.won_at >= b.f AND d.won_at < b.t
      GROUP BY 1, 2, 3`,
    params(p),
  );
  return rows;
}

export type PlatformFacts = {
  start: string;
  leads_scraped: number;
  analyses_completed: number;
  demos_deployed: number;
  videos_ready: number;
  emails_sent: number;
  ai_runs: number;
  ai_spend: number;
};

/** Platform activity per local step. */
export async function oraclePlatform(db: pg.Pool, p: OraclePeriod): Promise<Map<string, PlatformFacts>> {
  const count = async (metric: keyof PlatformFacts, table: string, column: string, where: string) => {
    const { rows } = await db.query<{ start: string; n: number }>(
      `WITH ${BOUNDS}
       SELECT ${local(column)} AS start, count(*)::int AS n
         FROM ${table}, b WHERE ${where} AND ${column} >= b.f AND ${column} < b.t GROUP BY 1`,
      params(p),
    );
    return rows.map((r) => ({ metric, start: r.start, n: r.n }));
  };
  const parts = (
    await Promise.all([
      count("leads_scraped", "leads", "created_at", "true"),
      count("analyses_completed", "website_analyses", "completed_at", "status = 'completed'"),
      count("demos_deployed", "demo_sites", "deployed_at", "status IN ('deployed', 'archived')"),
      count("videos_ready", "videos", "created_at", "status IN ('ready', 'archived')"),
      count("emails_sent", "email_sends", "sent_at", "status IN ('sent', 'bounced')"),
      count("ai_runs", "ai_gym_performance", "created_at", "true"),
    ])
  ).flat();
  const spend = await db.query<{ start: string; spend: number }>(
    `WITH ${BOUNDS}
     SELECT ${local("created_at")} AS start, COALESCE(sum(cost), 0)::float8 AS spend
       FROM ai_gym_performance, b WHERE created_at >= b.f AND created_at < b.t GROUP BY 1`,
    params(p),
  );
  const out = new Map<string, PlatformFacts>();
  const at = (start: string) => {
    let f = out.get(start);
    if (!f) {
      f = {
        start,
        leads_scraped: 0,
        analyses_completed: 0,
        demos_deployed: 0,
        videos_ready: 0,
        emails_sent: 0,
        ai_runs: 0,
        ai_spend: 0,
      };
      out.set(start, f);
    }
    return f;
  };
  for (const x of parts) (at(x.start) as Record<string, number | string>)[x.metric] = x.n;
  for (const s of spend.rows) at(s.start).ai_spend = s.spend;
  return out;
}

export type LeaderboardFacts = {
  model_name: string;
  usage_count: number;
  avg_cost: number | null;
  avg_quality: number | null;
  conversion_rate: number | null;
  conversion_samples: number;
  conversions: number;
  p50_duration_seconds: number | null;
  p95_duration_seconds: number | null;
  p50_cost: number | null;
  p95_cost: number | null;
  total_cost: number | null;
};

/** AI-GYM per model over [asOf − days, asOf), straight from ai_gym_performance. */
export async function oracleLeaderboard(
  db: pg.Pool,
  taskType: string,
  days: number,
  asOf: Date,
): Promise<LeaderboardFacts[]> {
  const { rows } = await db.query<LeaderboardFacts>(
    `SELECT model_name, count(*)::int AS usage_count, avg(cost)::float8 AS avg_cost,
            avg(quality_score)::float8 AS avg_quality, avg(conversion_metric)::float8 AS conversion_rate,
            count(conversion_metric)::int AS conversion_samples,
            COALESCE(sum(conversion_metric), 0)::float8 AS conversions,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_seconds)::float8 AS p50_duration_seconds,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_seconds)::float8 AS p95_duration_seconds,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY cost)::float8 AS p50_cost,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY cost)::float8 AS p95_cost,
            sum(cost)::float8 AS total_cost
       FROM ai_gym_performance
      WHERE task_type = $1 AND model_name IS NOT NULL
        AND created_at >= $2::timestamp - make_interval(days => $3) AND created_at < $2::timestamp
      GROUP BY model_name ORDER BY model_name`,
    [taskType, asOf.toISOString(), days],
  );
  return rows;
}

/** Lifetime A/B counts per test × variant. */
export async function oracleAbTests(db: pg.Pool): Promise<
  {
    ab_test_id: string;
    variant: string;
    exposures: number;
    opens: number;
    clicks: number;
    replies: number;
  }[]
> {
  const { rows } = await db.query(
    `SELECT ab_test_id::text AS ab_test_id, ab_variant AS variant,
            count(*) FILTER (WHERE status = 'sent' AND sent_at IS NOT NULL)::int AS exposures,
            count(*) FILTER (WHERE status = 'sent' AND sent_at IS NOT NULL AND opened_at IS NOT NULL)::int AS opens,
            count(*) FILTER (WHERE status = 'sent' AND sent_at IS NOT NULL AND clicked_at IS NOT NULL)::int AS clicks,
            count(*) FILTER (WHERE status = 'sent' AND sent_at IS NOT NULL AND replied_at IS NOT NULL
                AND (NOT ${threadHas("s", "IN ('out_of_office', 'auto_reply', 'bounce')")}
                     OR ${threadHas("s", "NOT IN ('out_of_office', 'auto_reply', 'bounce')")}))::int AS replies
       FROM email_sends s WHERE ab_test_id IS NOT NULL AND ab_variant IS NOT NULL
      GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  return rows;
}

export type StepFacts = {
  step: number;
  variant: string | null;
  sent: number;
  delivered: number;
  bounced: number;
  unique_opens: number;
  unique_clicks: number;
  human_replies: number;
  automatic_replies: number;
  positive_replies: number;
  unsubscribes: number;
  meetings: number;
};

/**
 * Step × variant analytics of one campaign (README "Step analytics"), from the base tables: an email is in the
 * period when its sent_at's local date (in the zone) is within [from, to]. Meetings by last touch: a meeting is
 * credited to the lead's delivered email of the campaign with the latest (sent_at, id) at or before the booking.
 */
export async function oracleSteps(
  db: pg.Pool,
  campaignId: string,
  p: Omit<OraclePeriod, "granularity">,
): Promise<StepFacts[]> {
  const delivered = "s.sent_at IS NOT NULL AND s.status = 'sent'";
  const replied = `${delivered} AND s.replied_at IS NOT NULL`;
  const automatic = "IN ('out_of_office', 'auto_reply', 'bounce')";
  const { rows } = await db.query<StepFacts>(
    `WITH credited AS (
       SELECT DISTINCT (SELECT e.id FROM email_sends e
                         WHERE e.lead_id = m.lead_id AND e.campaign_id = m.campaign_id AND e.status = 'sent'
                           AND e.sent_at IS NOT NULL AND e.sent_at <= m.booked_at
                         ORDER BY e.sent_at DESC, e.id DESC LIMIT 1) AS email_id
         FROM meetings m WHERE m.campaign_id = $1)
     SELECT s.sequence_step::int AS step, s.ab_variant AS variant,
            count(*) FILTER (WHERE s.sent_at IS NOT NULL AND s.status IN ('sent', 'bounced'))::int AS sent,
            count(*) FILTER (WHERE ${delivered})::int AS delivered,
            count(*) FILTER (WHERE s.sent_at IS NOT NULL AND s.status = 'bounced')::int AS bounced,
            count(*) FILTER (WHERE ${delivered} AND s.opened_at IS NOT NULL)::int AS unique_opens,
            count(*) FILTER (WHERE ${delivered} AND s.clicked_at IS NOT NULL)::int AS unique_clicks,
            count(*) FILTER (WHERE ${replied} AND (NOT ${threadHas("s", automatic)}
                                                   OR ${threadHas("s", `NOT ${automatic}`)}))::int AS human_replies,
            count(*) FILTER (WHERE ${replied} AND ${threadHas("s", automatic)}
                                 AND NOT ${threadHas("s", `NOT ${automatic}`)})::int AS automatic_replies,
            count(*) FILTER (WHERE ${replied}
                               AND ${threadHas("s", "IN ('interested', 'meeting_request')")})::int AS positive_replies,
            count(*) FILTER (WHERE ${replied} AND ${threadHas("s", "= 'unsubscribe'")})::int AS unsubscribes,
            count(*) FILTER (WHERE ${delivered} AND s.id IN (SELECT email_id FROM credited))::int AS meetings
       FROM email_sends s
      WHERE s.campaign_id = $1 AND s.sent_at IS NOT NULL
        AND to_char((s.sent_at AT TIME ZONE 'UTC') AT TIME ZONE $4, 'YYYY-MM-DD') BETWEEN $2 AND $3
      GROUP BY 1, 2 ORDER BY 1, 2 NULLS FIRST`,
    [campaignId, p.from, p.to, p.timezone],
  );
  return rows;
}

export type OutcomeFacts = {
  model_name: string;
  ai_runs: number;
  ai_spend: number;
  leads_touched: number;
  positive_reply_leads: number;
  meeting_leads: number;
  won_deals: number;
  /** Won amounts in cents per currency. */
  revenue: Record<string, number>;
};

/**
 * The outcome leaderboard's attribution rule (README "Outcome leaderboards") from the base tables, written with
 * joins and count(DISTINCT) where the API uses EXISTS: per model of `taskType` over [from, to), the leads of its
 * AI-GYM rows and of the artefacts of that task type naming it (completed analyses, deployed demos, delivered
 * emails, outbound replies), credited with a positive reply (effective category interested/meeting_request), a meeting and won
 * deals at or after the model's first row for the lead and before `to`.
 */
export async function oracleModelOutcomes(
  db: pg.Pool,
  taskType: string,
  from: Date,
  to: Date,
): Promise<OutcomeFacts[]> {
  const { rows } = await db.query<Omit<OutcomeFacts, "revenue"> & { revenue: Record<string, number> | null }>(
    `WITH runs AS (
       SELECT model_name, lead_id, cost, created_at FROM ai_gym_performance
        WHERE task_type = $1 AND model_name IS NOT NULL AND created_at >= $2 AND created_at < $3),
     touched AS (
       SELECT model_name, lead_id, created_at AS at FROM runs WHERE lead_id IS NOT NULL
       UNION ALL
       SELECT model_used, lead_id, completed_at FROM website_analyses
        WHERE $1 = 'website_analysis' AND status = 'completed' AND completed_at >= $2 AND completed_at < $3
       UNION ALL
       SELECT model_used, lead_id, deployed_at FROM demo_sites
        WHERE $1 = 'demo_generation' AND deployed_at >= $2 AND deployed_at < $3
       UNION ALL
       SELECT model_used, lead_id, sent_at FROM email_sends
        WHERE $1 = 'email_copy' AND status = 'sent' AND sent_at >= $2 AND sent_at < $3
       UNION ALL
       SELECT m.model_used, c.lead_id, m.sent_at FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE $1 = 'reply_drafting' AND m.direction = 'outbound' AND m.sent_at >= $2 AND m.sent_at < $3),
     firsts AS (
       SELECT DISTINCT ON (model_name, lead_id) model_name, lead_id, at AS first_at
         FROM touched WHERE model_name IS NOT NULL AND lead_id IS NOT NULL ORDER BY model_name, lead_id, at),
     positive AS (
       SELECT f.model_name, count(DISTINCT f.lead_id)::int AS n
         FROM firsts f
         JOIN conversations c ON c.lead_id = f.lead_id
         JOIN conversation_messages m ON m.conversation_id = c.id AND m.direction = 'inbound'
        WHERE COALESCE(m.reply_category_corrected, m.reply_category) IN ('interested', 'meeting_request')
          AND m.sent_at >= f.first_at AND m.sent_at < $3
        GROUP BY 1),
     meeting AS (
       SELECT f.model_name, count(DISTINCT f.lead_id)::int AS n
         FROM firsts f JOIN meetings mt ON mt.lead_id = f.lead_id
        WHERE mt.booked_at >= f.first_at AND mt.booked_at < $3 GROUP BY 1),
     won AS (
       SELECT f.model_name, d.currency, count(*)::int AS deals, round(sum(d.amount) * 100)::int AS cents
         FROM firsts f JOIN deals d ON d.lead_id = f.lead_id
        WHERE d.status = 'won' AND d.won_at >= f.first_at AND d.won_at < $3 GROUP BY 1, 2)
     SELECT r.model_name, sum(r.run)::int AS ai_runs, COALESCE(sum(r.cost), 0)::float8 AS ai_spend,
            (SELECT count(*)::int FROM firsts f WHERE f.model_name = r.model_name) AS leads_touched,
            COALESCE((SELECT n FROM positive p WHERE p.model_name = r.model_name), 0) AS positive_reply_leads,
            COALESCE((SELECT n FROM meeting m WHERE m.model_name = r.model_name), 0) AS meeting_leads,
            COALESCE((SELECT sum(deals)::int FROM won w WHERE w.model_name = r.model_name), 0) AS won_deals,
            (SELECT jsonb_object_agg(currency, cents) FROM won w WHERE w.model_name = r.model_name) AS revenue
       FROM (SELECT model_name, cost, 1 AS run FROM runs
             UNION ALL
             SELECT DISTINCT model_name, NULL::numeric, 0 FROM firsts WHERE model_name NOT IN (SELECT model_name FROM runs)) r
      GROUP BY r.model_name ORDER BY r.model_name`,
    [taskType, from.toISOString(), to.toISOString()],
  );
  return rows.map((r) => ({ ...r, revenue: r.revenue ?? {} }));
}
