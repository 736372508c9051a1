import { NotFoundError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

export type ErasureReport = Record<
  | "conversation_messages"
  | "conversations"
  | "videos"
  | "demo_sites"
  | "website_analyses"
  | "work_items"
  | "email_sends_anonymised"
  | "ai_gym_records_anonymised"
  | "meetings_anonymised"
  | "deals_anonymised",
  number
>;

/**
 * GDPR erasure (spec §5): deletes the lead, its conversations and messages, its analyses, demo sites, videos,
 * queued work and the stored idempotent responses that mention it, and keeps the metrics anonymised — email sends lose their recipient and content but keep their
 * timestamps and A/B variant; AI-GYM records, meetings and deals lose their lead. One transaction: all or nothing.
 * The lead row is locked first so that a concurrent write for it waits and then fails on the missing lead.
 */
export async function eraseLead(uow: UnitOfWork, leadId: string): Promise<ErasureReport> {
  const locked = await uow.tx.query<{ contact_email: string | null }>(
    "SELECT contact_email FROM leads WHERE id = $1 FOR UPDATE",
    [leadId],
  );
  const lead = locked.rows[0];
  if (!lead) throw new NotFoundError("Lead", leadId);
  const count = async (sql: string) => (await uow.tx.query(sql, [leadId])).rowCount ?? 0;

  const report: ErasureReport = {
    conversation_messages: await count(
      `DELETE FROM conversation_messages
        WHERE conversation_id IN (SELECT id FROM conversations WHERE lead_id = $1)`,
    ),
    meetings_anonymised: await count(
      `UPDATE meetings SET lead_id = NULL,
              conversation_id = CASE WHEN conversation_id IN (SELECT id FROM conversations WHERE lead_id = $1)
                                     THEN NULL ELSE conversation_id END
        WHERE lead_id = $1`,
    ),
    deals_anonymised: await count(`UPDATE deals SET lead_id = NULL WHERE lead_id = $1`),
    conversations: 0,
    email_sends_anonymised: await count(
      `UPDATE email_sends
          SET lead_id = NULL, body = NULL, subject_variant = NULL, demo_url = NULL, video_url = NULL,
              tracked_links = NULL, tracking_token = NULL, last_error = NULL
        WHERE lead_id = $1`,
    ),
    ai_gym_records_anonymised: await count(`UPDATE ai_gym_performance SET lead_id = NULL WHERE lead_id = $1`),
    work_items: await count(`DELETE FROM work_items WHERE lead_id = $1`),
    videos: await count(`DELETE FROM videos WHERE lead_id = $1`),
    demo_sites: await count(`DELETE FROM demo_sites WHERE lead_id = $1`),
    website_analyses: await count(`DELETE FROM website_analyses WHERE lead_id = $1`),
  };
  // The lead's first touches (migration 0012) went with its emails' lead above, except those whose emails a
  // dropped partition took.
  await uow.tx.query("DELETE FROM campaign_first_touches WHERE lead_id = $1", [leadId]);
  // Meetings of other leads never point at this lead's conversations, so the conversations can go now.
  report.conversations = await count(`DELETE FROM conversations WHERE lead_id = $1`);
  await uow.tx.query(`DELETE FROM leads WHERE id = $1`, [leadId]);
  // Stored idempotent responses (kept 24 h) can quote the lead: claims carry its address, messages its words.
  // A scan of a day's keys, for a rare admin operation.
  await uow.tx.query(
    `DELETE FROM idempotency_keys
      WHERE position(convert_to($1, 'UTF8') IN response_body) > 0
         OR ($2::text IS NOT NULL AND position(convert_to($2, 'UTF8') IN response_body) > 0)`,
    [leadId, lead.contact_email],
  );

  uow.audit({ action: "lead.erased", resourceType: "lead", resourceId: leadId, details: report });
  uow.emit("lead.erased", { lead_id: leadId, erased_at: uow.now.toISOString() });
  return report;
}
