import type pg from "pg";

/**
 * One lead's path through the pipeline, shared by REST `GET /api/v2/leads/{id}/lineage` (primary) and GraphQL
 * `lineage(leadRef:)` (replica). The lead is the join key: every step is a row whose lead_id (or whose
 * conversation's lead_id) is the lead, so integrations that never send X-Correlation-Id still get the whole chain.
 * The correlation id is evidence, not the join: the id of the request that queued the work (work_items) or, failing
 * that, the one the step's domain event was emitted under (event_outbox); null when neither exists.
 *
 * Cost: each of the lead's AI-GYM rows whose task type belongs to a stage (STAGE_TASK_TYPES) is attributed to that
 * stage's step that began (started_at, else at) last at or before the row was recorded (a worker records AI-GYM at completion, after the
 * work was queued), or to the stage's first step when the row predates them all; rows of other task types, or of a
 * stage the lead has no step in, are `unattributed_cost`. A step with no AI-GYM row has cost null, not 0.
 */
export const LINEAGE_STAGES = [
  "scraped",
  "analysed",
  "demo",
  "video",
  "email",
  "reply",
  "meeting",
  "deal",
] as const;
export type LineageStage = (typeof LINEAGE_STAGES)[number];

export const STAGE_TASK_TYPES: Partial<Record<LineageStage, string>> = {
  analysed: "website_analysis",
  demo: "demo_generation",
  video: "video_script",
  email: "email_copy",
};

export type LineageStep = {
  stage: LineageStage;
  id: string;
  /** The time the step is ordered by (its row's creation, a send's sent_at, a reply's sent_at, a meeting's booked_at). */
  at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  status: string | null;
  model: string | null;
  correlation_id: string | null;
  /** Sum of the attributed AI-GYM rows' cost in USD; null with none. */
  cost: number | null;
  ai_gym_records: number;
  scraping_job_id: string | null;
  source_platform: string | null;
  scores: {
    overall: number | null;
    performance: number | null;
    seo: number | null;
    accessibility: number | null;
    design: number | null;
  } | null;
  analysis_id: string | null;
  demo_site_id: string | null;
  deployed: boolean | null;
  campaign_id: string | null;
  email_send_id: string | null;
  conversation_id: string | null;
  meeting_id: string | null;
  ab_test_id: string | null;
  ab_variant: string | null;
  opened_at: Date | null;
  clicked_at: Date | null;
  replied_at: Date | null;
  sentiment: string | null;
  amount: string | null;
  currency: string | null;
  /** Replies: the effective category (the human correction, else the classifier's); `model` is the classifier. */
  reply_category: string | null;
  /** Emails: the video the email carried, by id (its demo is `demo_site_id`; migration 0020). */
  video_id: string | null;
};

export type LeadLineage = {
  lead_id: string;
  steps: LineageStep[];
  /** Cost of the lead's AI-GYM rows that no step took (see the rule above); null with none. */
  unattributed_cost: number | null;
};

type StepRow = Omit<LineageStep, "cost" | "ai_gym_records" | "scores" | "stage"> & {
  stage: LineageStage;
  stage_order: number;
  overall: number | null;
  performance: number | null;
  seo: number | null;
  accessibility: number | null;
  design: number | null;
};

// Every branch lists the same columns in the same order; ev() picks the step's event by its type and payload id.
const STEPS_SQL = `
WITH l AS (SELECT id, created_at, source_platform, scraping_job_id FROM leads WHERE id = $1 AND erased_at IS NULL),
ev AS (
  SELECT DISTINCT ON (type, payload->>'id_key') type, payload->>'id_key' AS key, correlation_id
    FROM (SELECT type, correlation_id, position,
                 payload || jsonb_build_object('id_key', COALESCE(payload->>'analysis_id', payload->>'demo_id',
                   payload->>'video_id', payload->>'email_send_id', payload->>'message_id', payload->>'meeting_id',
                   payload->>'deal_id', payload->>'lead_id')) AS payload
            FROM event_outbox
           WHERE payload->>'lead_id' = $1::text
             AND type IN ('lead.scraped', 'analysis.completed', 'demo.deployed', 'video.ready', 'email.sent',
                          'reply.received', 'meeting.booked', 'deal.won')) e
   ORDER BY type, payload->>'id_key', position
)
SELECT 'scraped' AS stage, 1 AS stage_order, l.id, l.created_at AS at, sj.started_at, l.created_at AS finished_at,
       sj.status, NULL::text AS model,
       (SELECT correlation_id FROM ev WHERE type = 'lead.scraped' AND key = l.id::text) AS correlation_id,
       l.scraping_job_id, l.source_platform,
       NULL::int AS overall, NULL::int AS performance, NULL::int AS seo, NULL::int AS accessibility, NULL::int AS design,
       NULL::uuid AS analysis_id, NULL::uuid AS demo_site_id, NULL::boolean AS deployed, NULL::uuid AS campaign_id,
       NULL::uuid AS email_send_id, NULL::uuid AS conversation_id, NULL::uuid AS meeting_id, NULL::uuid AS ab_test_id,
       NULL::text AS ab_variant, NULL::timestamp AS opened_at, NULL::timestamp AS clicked_at,
       NULL::timestamp AS replied_at, NULL::text AS sentiment, NULL::text AS amount, NULL::text AS currency,
       NULL::text AS reply_category, NULL::uuid AS video_id
  FROM l LEFT JOIN scraping_jobs sj ON sj.id = l.scraping_job_id
UNION ALL
SELECT 'analysed', 2, a.id, a.created_at, COALESCE(w.started_at, a.created_at), a.completed_at, a.status, a.model_used,
       COALESCE(w.correlation_id, (SELECT correlation_id FROM ev WHERE type = 'analysis.completed' AND key = a.id::text)),
       NULL, NULL, a.overall_score, a.performance_score, a.seo_score, a.accessibility_score, a.design_score,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM website_analyses a JOIN l ON a.lead_id = l.id LEFT JOIN work_items w ON w.id = a.id
UNION ALL
SELECT 'demo', 3, d.id, d.created_at, COALESCE(w.started_at, d.created_at), COALESCE(d.deployed_at, w.finished_at),
       d.status, d.model_used,
       COALESCE(w.correlation_id, (SELECT correlation_id FROM ev WHERE type = 'demo.deployed' AND key = d.id::text)),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       d.analysis_id, NULL, d.deployed_at IS NOT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM demo_sites d JOIN l ON d.lead_id = l.id LEFT JOIN work_items w ON w.id = d.id
UNION ALL
SELECT 'video', 4, v.id, v.created_at, COALESCE(w.started_at, v.created_at), w.finished_at, v.status, NULL,
       COALESCE(w.correlation_id, (SELECT correlation_id FROM ev WHERE type = 'video.ready' AND key = v.id::text)),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, v.demo_site_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM videos v JOIN l ON v.lead_id = l.id LEFT JOIN work_items w ON w.id = v.id
UNION ALL
SELECT 'email', 5, s.id, COALESCE(s.sent_at, s.created_at), s.created_at, s.sent_at, s.status, s.model_used,
       (SELECT correlation_id FROM ev WHERE type = 'email.sent' AND key = s.id::text),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, s.demo_site_id, NULL, s.campaign_id, s.id, NULL, NULL, s.ab_test_id, s.ab_variant, s.opened_at, s.clicked_at,
       s.replied_at, NULL, NULL, NULL, NULL, s.video_id
  FROM email_sends s JOIN l ON s.lead_id = l.id
UNION ALL
SELECT 'reply', 6, m.id, m.sent_at, m.sent_at, m.sent_at, c.status, m.reply_category_model,
       (SELECT correlation_id FROM ev WHERE type = 'reply.received' AND key = m.id::text),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, c.campaign_id, c.email_send_id, c.id, NULL, NULL, NULL, NULL, NULL, NULL, m.sentiment, NULL, NULL,
       COALESCE(m.reply_category_corrected, m.reply_category), NULL
  FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id JOIN l ON c.lead_id = l.id
 WHERE m.direction = 'inbound'
UNION ALL
SELECT 'meeting', 7, mt.id, mt.booked_at, mt.booked_at, mt.scheduled_for, mt.status, NULL,
       (SELECT correlation_id FROM ev WHERE type = 'meeting.booked' AND key = mt.id::text),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, mt.campaign_id, NULL, mt.conversation_id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM meetings mt JOIN l ON mt.lead_id = l.id
UNION ALL
SELECT 'deal', 8, dl.id, dl.created_at, dl.created_at, COALESCE(dl.won_at, dl.lost_at), dl.status, NULL,
       (SELECT correlation_id FROM ev WHERE type = 'deal.won' AND key = dl.id::text),
       NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL, NULL, dl.campaign_id, NULL, NULL, dl.meeting_id, NULL, NULL, NULL, NULL, NULL, NULL,
       dl.amount::text, dl.currency, NULL, NULL
  FROM deals dl JOIN l ON dl.lead_id = l.id
ORDER BY at, stage_order, id`;

/** The lead's lineage, or null when there is no such lead or it was erased. */
export async function getLeadLineage(
  db: pg.Pool | pg.ClientBase,
  leadId: string,
): Promise<LeadLineage | null> {
  const [{ rows }, gym] = await Promise.all([
    db.query<StepRow>(STEPS_SQL, [leadId]),
    db.query<{ task_type: string | null; model_name: string | null; cost4: string | null; created_at: Date }>(
      `SELECT task_type, model_name, round(cost * 10000)::bigint::text AS cost4, created_at
         FROM ai_gym_performance WHERE lead_id = $1 ORDER BY created_at, id`,
      [leadId],
    ),
  ]);
  if (rows.length === 0) return null; // the scraped step exists for every live lead

  // Costs are summed in ten-thousandths of a dollar (numeric(10,4)) so the sum is exact.
  const cost4 = new Map<string, number>();
  const records = new Map<string, number>();
  const gymModel = new Map<string, string>();
  let unattributed4: number | null = null;
  for (const g of gym.rows) {
    const stage = (Object.keys(STAGE_TASK_TYPES) as LineageStage[]).find(
      (s) => STAGE_TASK_TYPES[s] === g.task_type,
    );
    const begun = (r: StepRow) => (r.started_at ?? r.at).getTime();
    const candidates = stage ? rows.filter((r) => r.stage === stage).sort((a, b) => begun(a) - begun(b)) : [];
    const target = candidates.filter((r) => begun(r) <= g.created_at.getTime()).at(-1) ?? candidates[0];
    const c = Number(g.cost4 ?? 0);
    if (!target) {
      unattributed4 = (unattributed4 ?? 0) + c;
      continue;
    }
    const key = `${target.stage}|${target.id}`;
    cost4.set(key, (cost4.get(key) ?? 0) + c);
    records.set(key, (records.get(key) ?? 0) + 1);
    if (g.model_name) gymModel.set(key, g.model_name);
  }

  const steps = rows.map(({ stage_order: _o, overall, performance, seo, accessibility, design, ...r }) => {
    const key = `${r.stage}|${r.id}`;
    const c = cost4.get(key);
    return {
      ...r,
      // Videos store no model: the model is the one their AI-GYM rows name.
      model: r.model ?? gymModel.get(key) ?? null,
      cost: c === undefined ? null : c / 10000,
      ai_gym_records: records.get(key) ?? 0,
      scores: r.stage === "analysed" ? { overall, performance, seo, accessibility, design } : null,
    };
  });
  return { lead_id: leadId, steps, unattributed_cost: unattributed4 === null ? null : unattributed4 / 10000 };
}
