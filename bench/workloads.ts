import { randomUUID } from "node:crypto";
import type pg from "pg";

/** One write endpoint under load: what to set up first and the body of each request (none for a GET). */
export type Workload = {
  name: string;
  method?: "GET" | "POST";
  path: string;
  /** Rows each request writes (besides its audit rows and events). */
  rowsPerRequest: number;
  /** The least share of the bare INSERT baseline this workload must reach (issue 14 target 4: single events). */
  target?: number;
  prepare: (ctx: {
    base: string;
    key: string;
    db: pg.Pool;
  }) => Promise<{ body: () => unknown; path?: string | (() => string) }>;
};

export const lead = () => {
  const id = randomUUID();
  return {
    company_name: "Bench Co",
    domain: `${id}.example`,
    source_platform: "bench",
    contact_email: `owner@${id}.example`,
    consent_source: "public_business_listing",
    consent_timestamp: "2026-11-25T09:00:00Z",
  };
};

export const aiGymRecord = () => ({
  task_type: "email_copy",
  model_name: "claude-4.5-sonnet",
  cost: 0.012,
  duration_seconds: 3,
  quality_score: 91,
});

/** An always-open campaign with `n` leads to write to. */
export async function campaignWithLeads(
  db: pg.Pool,
  n: number,
): Promise<{ campaignId: string; leadIds: string[] }> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO campaigns (name, daily_limit, send_window, status)
     VALUES ('bench', 10000, '{"timezone":"UTC","days":["mon","tue","wed","thu","fri","sat","sun"],"start_hour":0,"end_hour":24}', 'active')
     RETURNING id`,
  );
  const leads = await db.query<{ id: string }>(
    `INSERT INTO leads (company_name, domain, source_platform, contact_email, consent_source, consent_timestamp)
     SELECT 'Bench Co', gen_random_uuid() || '.example', 'bench-email', 'owner@bench.example', 'bench', NOW()
       FROM generate_series(1, $1) RETURNING id`,
    [n],
  );
  return { campaignId: rows[0]?.id ?? "", leadIds: leads.rows.map((r) => r.id) };
}

/** Issue 14 target 4: an acknowledged single-event write at ≥ 75 % of a bare `pg` INSERT in the same run. */
const SINGLE_EVENT_TARGET = 0.75;

export const workloads: Workload[] = [
  {
    name: "POST /api/v2/leads (1 lead)",
    path: "/api/v2/leads",
    rowsPerRequest: 1,
    target: SINGLE_EVENT_TARGET,
    prepare: async () => ({ body: () => ({ leads: [lead()] }) }),
  },
  {
    name: "POST /api/v2/leads (batch of 100)",
    path: "/api/v2/leads",
    rowsPerRequest: 100,
    prepare: async () => ({ body: () => ({ leads: Array.from({ length: 100 }, lead) }) }),
  },
  {
    name: "POST /api/v2/ai-gym/records (1 record)",
    path: "/api/v2/ai-gym/records",
    rowsPerRequest: 1,
    target: SINGLE_EVENT_TARGET,
    prepare: async () => ({ body: () => ({ records: [aiGymRecord()] }) }),
  },
  {
    name: "POST /api/v2/ai-gym/records (batch of 100)",
    path: "/api/v2/ai-gym/records",
    rowsPerRequest: 100,
    prepare: async () => ({ body: () => ({ records: Array.from({ length: 100 }, aiGymRecord) }) }),
  },
  {
    name: "POST /api/v2/email/send (1 email)",
    path: "/api/v2/email/send",
    rowsPerRequest: 1,
    prepare: async ({ db }) => {
      const { campaignId, leadIds } = await campaignWithLeads(db, 1000);
      let i = 0;
      return {
        body: () => ({
          campaign_id: campaignId,
          emails: [
            {
              lead_id: leadIds[i++ % leadIds.length],
              subject: "A faster site for you",
              body: "Hi, I built a quick preview of a faster, mobile-first site for you.",
              demo_url: "https://demos.example/bench",
            },
          ],
        }),
      };
    },
  },
  {
    name: "POST /api/v2/email/{id}/report (1 report)",
    path: "/api/v2/email/{id}/report",
    rowsPerRequest: 1,
    target: SINGLE_EVENT_TARGET,
    prepare: async ({ db }) => {
      // Enough claimed sends that every request of the run reports a fresh one (a second report would be a 409),
      // each to a lead of its own as in a real campaign (a sent email marks its lead's other emails for the rollups).
      const { campaignId } = await campaignWithLeads(db, 30_000);
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, tracking_token, status, lease_owner,
                                  lease_expires_at, created_at)
         SELECT $1, l.id, 'Hi', 'Hello', gen_random_uuid(), 'sending', 'bench-sender', NOW() + interval '1 hour', NOW()
           FROM leads l WHERE l.source_platform = 'bench-email' AND NOT EXISTS
                (SELECT 1 FROM email_sends e WHERE e.lead_id = l.id)
         RETURNING id`,
        [campaignId],
      );
      let i = 0;
      return {
        body: () => ({ sender_id: "bench-sender", outcome: "sent", provider_message_id: "<bench@mail>" }),
        path: () => `/api/v2/email/${rows[i++ % rows.length]?.id}/report`,
      };
    },
  },
  {
    name: "GET /t/{token}/o.gif (open pixel, public)",
    method: "GET",
    path: "/t/{token}/o.gif",
    rowsPerRequest: 1,
    target: SINGLE_EVENT_TARGET,
    prepare: async ({ db }) => {
      const { campaignId, leadIds } = await campaignWithLeads(db, 1);
      const { rows } = await db.query<{ tracking_token: string }>(
        `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, tracking_token, status, sent_at)
         VALUES ($1, $2, 'Hi', 'Hello', gen_random_uuid(), 'sent', NOW()) RETURNING tracking_token`,
        [campaignId, leadIds[0]],
      );
      return { body: () => undefined, path: `/t/${rows[0]?.tracking_token}/o.gif` };
    },
  },
];
