import { decryptField } from "../compliance/field-encryption.js";
import { domainToken, emailToken, tokenKeyId } from "../compliance/tokens.js";
import { NotFoundError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

export type ErasureReport = Record<
  | "leads"
  | "website_analyses"
  | "demo_sites"
  | "videos"
  | "email_sends"
  | "conversations"
  | "conversation_messages"
  | "ai_gym_records"
  | "work_items_deleted"
  | "events_redacted"
  | "idempotent_responses_deleted"
  | "suppressions",
  number
>;

export type ErasureOutcome = {
  report: ErasureReport;
  /** When the lead was erased: now, or the earlier erasure's time when it already was. */
  erasedAt: Date;
  alreadyErased: boolean;
};

export type ErasureOptions = {
  /**
   * Keep the tokens of the lead's domain and contact email as suppressions, so a later ingest of the same lead is
   * refused (a data subject's request: Segment's SUPPRESS_WITH_DELETE). Retention expiry erases without
   * suppressing: an idle lead has not objected to being contacted again.
   */
  suppress?: boolean;
  /** Why, for the audit row: "request" (DELETE /api/v2/leads/{id}) or "retention". */
  reason?: "request" | "retention";
};

const ZERO: ErasureReport = {
  leads: 0,
  website_analyses: 0,
  demo_sites: 0,
  videos: 0,
  email_sends: 0,
  conversations: 0,
  conversation_messages: 0,
  ai_gym_records: 0,
  work_items_deleted: 0,
  events_redacted: 0,
  idempotent_responses_deleted: 0,
  suppressions: 0,
};

type ErasedLeadRow = {
  company_name: string;
  website: string | null;
  domain: string | null;
  contact_name: string | null;
  contact_title: string | null;
  contact_email: string | null;
  contact_phone: string | null;
  consent_proof_url: string | null;
  email_token: string | null;
  domain_token: string | null;
  erased_at: Date | null;
};

/**
 * GDPR erasure (spec §5: "cascade delete lead data & associated assets while retaining anonymized metrics").
 *
 * The lead becomes a tombstone: its row stays, with `erased_at` set and every PII column emptied, and every row that
 * a metric counts stays attached to it with its PII stripped — the analyses keep their scores, the demos and videos
 * their status and times, the emails their timestamps, status and A/B variant, the conversations and messages their
 * direction and sentiment, the meetings, deals and AI-GYM rows everything. So every KPI, funnel, first touch and
 * leaderboard answer is the same after erasure, and after any later recount of the closed days, as before it.
 * Queued work is deleted; queued emails are failed. What is stripped: names, domain, website, emails, phone,
 * subjects and bodies, demo/video/deployment URLs, free-form JSON (findings, reports, scripts, thread metadata,
 * AI-GYM metadata) and prompt/response hashes; event payloads of the lead lose their URLs; stored idempotent
 * responses that mention the lead or its data are deleted. The audit row holds counts only.
 *
 * Idempotent: erasing an erased lead changes nothing and reports zeros. One transaction: all or nothing. The lead
 * row is locked first, so concurrent writes for the lead wait and are then refused (migration 0015's triggers).
 */
export async function eraseLead(
  uow: UnitOfWork,
  leadId: string,
  options: ErasureOptions = {},
): Promise<ErasureOutcome> {
  const { suppress = true, reason = "request" } = options;
  const locked = await uow.tx.query<ErasedLeadRow>(
    `SELECT company_name, website, domain, contact_name, contact_title, contact_email, contact_phone,
            consent_proof_url, email_token, domain_token, erased_at
       FROM leads WHERE id = $1 FOR UPDATE`,
    [leadId],
  );
  const lead = locked.rows[0];
  if (!lead) throw new NotFoundError("Lead", leadId);
  if (lead.erased_at) {
    uow.wroteNothing();
    return { report: { ...ZERO }, erasedAt: lead.erased_at, alreadyErased: true };
  }
  // Migration 0015's triggers refuse writes for erased leads; this transaction is the erasure itself.
  await uow.tx.query("SELECT set_config('reachgraph.erasing', 'on', true)");

  const needles = await collectNeedles(uow, leadId, lead);
  const count = async (sql: string, params: unknown[] = [leadId]) =>
    (await uow.tx.query(sql, params)).rowCount ?? 0;
  const report: ErasureReport = { ...ZERO };

  report.conversation_messages = await count(
    `UPDATE conversation_messages
        SET from_email = NULL, to_email = NULL, subject = NULL, body = NULL, gmail_message_id = NULL
      WHERE conversation_id IN (SELECT id FROM conversations WHERE lead_id = $1)`,
  );
  report.conversations = await count(`UPDATE conversations SET thread_metadata = NULL WHERE lead_id = $1`);
  report.email_sends = await count(
    `UPDATE email_sends
        SET subject_variant = NULL, body = NULL, demo_url = NULL, video_url = NULL, tracked_links = NULL,
            tracking_token = NULL, last_error = NULL, lease_owner = NULL, lease_expires_at = NULL,
            status = CASE WHEN status IN ('queued', 'sending') THEN 'failed' ELSE status END
      WHERE lead_id = $1`,
  );
  report.videos = await count(
    `UPDATE videos SET video_url = NULL, script = NULL, watch_stats = NULL WHERE lead_id = $1`,
  );
  report.demo_sites = await count(
    `UPDATE demo_sites SET deployment_url = NULL, qa_report = NULL WHERE lead_id = $1`,
  );
  report.website_analyses = await count(
    `UPDATE website_analyses SET findings = NULL, model_breakdown = NULL, lighthouse_report = NULL
      WHERE lead_id = $1`,
  );
  report.ai_gym_records = await count(
    `UPDATE ai_gym_performance SET metadata = NULL, prompt_hash = NULL, response_hash = NULL WHERE lead_id = $1`,
  );
  report.work_items_deleted = await count(`DELETE FROM work_items WHERE lead_id = $1`);

  // The feed keeps every event (consumers count them) but not the lead's asset URLs.
  report.events_redacted = await count(
    `UPDATE event_outbox
        SET payload = payload || CASE type WHEN 'demo.deployed' THEN '{"deployment_url": null}'::jsonb
                                           ELSE '{"video_url": null}'::jsonb END
      WHERE payload->>'lead_id' = $1 AND type IN ('demo.deployed', 'video.ready')`,
  );
  // Stored idempotent responses (kept 24 h) can quote the lead: its address, its messages' words, its ids.
  report.idempotent_responses_deleted = await count(
    `DELETE FROM idempotency_keys
      WHERE response_body IS NOT NULL
        AND EXISTS (SELECT 1 FROM unnest($1::text[]) AS n(needle)
                     WHERE position(convert_to(n.needle, 'UTF8') IN response_body) > 0)`,
    [needles],
  );

  const emailAddress = decryptField(lead.contact_email);
  // Made afresh under the current key (the stored ones may predate a rotation), so the suppression's key id is true.
  const tokens = {
    email: emailAddress ? emailToken(emailAddress) : lead.email_token,
    domain: lead.domain ? domainToken(lead.domain) : lead.domain_token,
  };
  if (suppress) {
    const kinds = (["email", "domain"] as const).filter((k) => tokens[k] !== null);
    report.suppressions = await count(
      `INSERT INTO lead_suppressions (kind, token, token_key_id, lead_id, created_at)
       SELECT k.kind, k.token, $3, $1, $4
         FROM unnest($2::text[], $5::text[]) AS k(kind, token)
       ON CONFLICT (token, kind) WHERE lifted_at IS NULL DO NOTHING`,
      [leadId, kinds, tokenKeyId(), uow.now.toISOString(), kinds.map((k) => tokens[k])],
    );
  }
  report.leads = await count(
    `UPDATE leads
        SET company_name = '', website = NULL, domain = NULL, contact_name = NULL, contact_title = NULL,
            contact_email = NULL, contact_phone = NULL, city = NULL, consent_proof_url = NULL,
            email_token = $2, domain_token = $3, erased_at = $4
      WHERE id = $1`,
    [leadId, tokens.email, tokens.domain, uow.now.toISOString()],
  );

  uow.audit({
    action: "lead.erased",
    resourceType: "lead",
    resourceId: leadId,
    details: { reason, suppressed: suppress, ...report },
  });
  uow.emit("lead.erased", { lead_id: leadId, erased_at: uow.now.toISOString() });
  return { report, erasedAt: uow.now, alreadyErased: false };
}

/**
 * What a stored response about the lead would contain: its ids and those of its rows, and its PII values. Short
 * values are left out (a two-letter name would match unrelated responses); ids always go in.
 */
async function collectNeedles(uow: UnitOfWork, leadId: string, lead: ErasedLeadRow): Promise<string[]> {
  const { rows } = await uow.tx.query<{ value: string | null }>(
    `SELECT id::text AS value FROM website_analyses WHERE lead_id = $1
     UNION ALL SELECT id::text FROM demo_sites WHERE lead_id = $1
     UNION ALL SELECT deployment_url FROM demo_sites WHERE lead_id = $1
     UNION ALL SELECT id::text FROM videos WHERE lead_id = $1
     UNION ALL SELECT video_url FROM videos WHERE lead_id = $1
     UNION ALL SELECT id::text FROM conversations WHERE lead_id = $1
     UNION ALL SELECT id::text FROM email_sends WHERE lead_id = $1
     UNION ALL SELECT tracking_token::text FROM email_sends WHERE lead_id = $1
     UNION ALL SELECT m.id::text FROM conversation_messages m JOIN conversations c ON c.id = m.conversation_id
                WHERE c.lead_id = $1`,
    [leadId],
  );
  const pii = [
    lead.website,
    lead.domain,
    lead.company_name,
    decryptField(lead.contact_name),
    decryptField(lead.contact_email),
    decryptField(lead.contact_phone),
    lead.consent_proof_url,
  ].filter((v): v is string => typeof v === "string" && v.trim().length >= 4);
  const ids = rows.map((r) => r.value).filter((v): v is string => v !== null);
  return [leadId, ...ids, ...pii];
}
