import { randomUUID } from "node:crypto";
import { decryptField } from "../compliance/field-encryption.js";
import { exposeLead, findExposedTest, SUBJECT_ELEMENT_TYPES } from "./ab-exposure.js";
import {
  type CampaignRow,
  claimableSql,
  countClaimedToday,
  effectiveDailyLimit,
  effectiveWindow,
} from "./campaigns.js";
import {
  ConflictError,
  type FieldRef,
  InvalidTransitionError,
  NotFoundError,
  UnprocessableError,
} from "./errors.js";
import { isWindowOpen } from "./send-window.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * The life of an email send: queued → sending (claimed by a sender, under a lease) → sent | bounced | failed.
 * A lease that runs out without a report makes the send claimable again (it stays `sending` until re-claimed).
 * `failed` is final: senders retry transient errors themselves before reporting.
 */
export const EMAIL_SEND_STATUSES = ["queued", "sending", "sent", "bounced", "failed"] as const;
export type EmailSendStatus = (typeof EMAIL_SEND_STATUSES)[number];
export type ReportOutcome = "sent" | "bounced" | "failed";

const TRANSITIONS: Record<EmailSendStatus, readonly EmailSendStatus[]> = {
  queued: ["sending", "failed"],
  sending: ["sending", "sent", "bounced", "failed"],
  sent: [],
  bounced: [],
  failed: [],
};

export function pixelPath(token: string): string {
  return `/t/${token}/o.gif`;
}

export function clickPath(token: string, url: string): string {
  return `/t/${token}/c?u=${encodeURIComponent(url)}`;
}

export type EmailInput = {
  lead_id: string;
  subject: string;
  body: string;
  demo_url?: string | undefined;
  video_url?: string | undefined;
  model_used?: string | undefined;
  links?: string[] | undefined;
  sequence_step?: number | undefined;
  demo_site_id?: string | undefined;
  video_id?: string | undefined;
};

export type QueuedEmail = {
  email_send_id: string;
  lead_id: string;
  status: "queued";
  ab_test_id: string | null;
  ab_variant: string | null;
  subject_variant: string;
  tracking_token: string;
  pixel_url: string;
  sequence_step: number;
  demo_site_id: string | null;
  video_id: string | null;
};

/**
 * Resolves each email's step, demo and video. A given demo_site_id/video_id must be the email's lead's own row
 * (422 naming the field), and supplies demo_url/video_url when those are omitted. The default step is the next one
 * for the lead in the campaign: 1 + the lead's emails already in the campaign + its earlier emails in this batch.
 */
async function resolveStepsAndAssets(
  uow: UnitOfWork,
  campaignId: string,
  emails: readonly EmailInput[],
): Promise<
  {
    sequence_step: number;
    demo_site_id: string | null;
    video_id: string | null;
    demo_url: string | null;
    video_url: string | null;
  }[]
> {
  const demoIds = emails.flatMap((e) => (e.demo_site_id ? [e.demo_site_id] : []));
  const videoIds = emails.flatMap((e) => (e.video_id ? [e.video_id] : []));
  // One after the other (a transaction's client runs one query at a time), and only those with ids to look up.
  const owned = (table: "demo_sites" | "videos", url: string, ids: string[]) =>
    ids.length === 0
      ? { rows: [] }
      : uow.tx.query<{ id: string; lead_id: string | null; url: string | null }>(
          `SELECT id, lead_id, ${url} AS url FROM ${table} WHERE id = ANY($1::uuid[])`,
          [ids],
        );
  const demos = await owned("demo_sites", "deployment_url", demoIds);
  const videos = await owned("videos", "video_url", videoIds);
  const counts = await uow.tx.query<{ lead_id: string; n: number }>(
    `SELECT lead_id, count(*)::int AS n FROM email_sends
      WHERE campaign_id = $1 AND lead_id = ANY($2::uuid[]) GROUP BY lead_id`,
    [campaignId, [...new Set(emails.map((e) => e.lead_id))]],
  );
  const demoById = new Map(demos.rows.map((r) => [r.id, r]));
  const videoById = new Map(videos.rows.map((r) => [r.id, r]));
  const sent = new Map(counts.rows.map((r) => [r.lead_id, r.n]));
  const errors: FieldRef[] = [];
  const resolved = emails.map((e, index) => {
    const demo = e.demo_site_id ? demoById.get(e.demo_site_id) : undefined;
    if (e.demo_site_id && demo?.lead_id !== e.lead_id) {
      errors.push({ field: "demo_site_id", index, message: "no demo site with this id for the lead" });
    }
    const video = e.video_id ? videoById.get(e.video_id) : undefined;
    if (e.video_id && video?.lead_id !== e.lead_id) {
      errors.push({ field: "video_id", index, message: "no video with this id for the lead" });
    }
    const before = sent.get(e.lead_id) ?? 0;
    sent.set(e.lead_id, before + 1);
    return {
      sequence_step: e.sequence_step ?? before + 1,
      demo_site_id: e.demo_site_id ?? null,
      video_id: e.video_id ?? null,
      demo_url: e.demo_url ?? demo?.url ?? null,
      video_url: e.video_url ?? video?.url ?? null,
    };
  });
  if (errors.length)
    throw new UnprocessableError("Some emails carry a demo or video of another lead.", errors);
  return resolved;
}

/**
 * Queues a batch of personalised emails for a campaign in one INSERT. Each send gets its own tracking token; when
 * the campaign runs an active subject_line or email_body test (the newest, when several), each lead is assigned a
 * variant deterministically — never one the evaluation stopped — and the send takes the variant's subject (subject
 * tests) or its content as the body (body tests; the given body when the variant has no content). The URLs a tracked click may redirect to (links, demo and video URL) are stored with
 * the send, so the click endpoint can never be used as an open redirect.
 */
export async function queueEmails(
  uow: UnitOfWork,
  input: { campaign_id: string; emails: EmailInput[] },
): Promise<QueuedEmail[]> {
  const { rows: campaigns } = await uow.tx.query<{ status: string | null }>(
    `SELECT status FROM campaigns WHERE id = $1`,
    [input.campaign_id],
  );
  const campaign = campaigns[0];
  if (!campaign) {
    throw new UnprocessableError("The campaign does not exist.", [
      { location: "body", path: "/campaign_id", message: "no such campaign" },
    ]);
  }
  if (campaign.status === "archived" || campaign.status === "completed") {
    throw new ConflictError(`Campaign ${input.campaign_id} is ${campaign.status}; it takes no new emails.`);
  }
  const leadIds = [...new Set(input.emails.map((e) => e.lead_id))];
  const { rows: found } = await uow.tx.query<{ id: string; unsubscribed: boolean }>(
    `SELECT id, unsubscribed_at IS NOT NULL AS unsubscribed FROM leads
      WHERE id = ANY($1::uuid[]) AND erased_at IS NULL`,
    [leadIds],
  );
  const known = new Map(found.map((r) => [r.id, r.unsubscribed]));
  const missing = input.emails.flatMap((e, i) => {
    const unsubscribed = known.get(e.lead_id);
    if (unsubscribed === false) return [];
    const message = unsubscribed
      ? "the lead unsubscribed: it gets no more emails in any campaign"
      : "no such lead";
    return [{ location: "body" as const, path: `/emails/${i}/lead_id`, message }];
  });
  if (missing.length)
    throw new UnprocessableError("Some emails are for leads that do not exist or unsubscribed.", missing);
  const assets = await resolveStepsAndAssets(uow, input.campaign_id, input.emails);

  const test = await findExposedTest(uow.tx, "email", input.campaign_id);
  const subjectTest = test !== null && SUBJECT_ELEMENT_TYPES.includes(test.element_type);
  const variants = input.emails.map((e) => (test ? exposeLead(test, e.lead_id) : null));
  const bodies = input.emails.map((e, i) => (subjectTest ? e.body : (variants[i]?.content ?? e.body)));
  const queued: QueuedEmail[] = input.emails.map((e, i) => {
    const a = assets[i];
    if (!a) throw new Error("resolveStepsAndAssets lost an email");
    const variant = variants[i] ?? null;
    const token = randomUUID();
    return {
      email_send_id: randomUUID(),
      lead_id: e.lead_id,
      status: "queued",
      ab_test_id: test?.id ?? null,
      ab_variant: variant?.id ?? null,
      subject_variant: (subjectTest ? variant?.subject : undefined) ?? e.subject,
      tracking_token: token,
      pixel_url: pixelPath(token),
      sequence_step: a.sequence_step,
      demo_site_id: a.demo_site_id,
      video_id: a.video_id,
    };
  });
  const trackedLinks = input.emails.map((e, i) =>
    JSON.stringify([
      ...new Set([
        ...(e.links ?? []),
        ...(assets[i]?.demo_url ? [assets[i].demo_url] : []),
        ...(assets[i]?.video_url ? [assets[i].video_url] : []),
      ]),
    ]),
  );

  await uow.tx.query(
    `INSERT INTO email_sends (id, campaign_id, lead_id, subject_variant, body, demo_url, video_url, model_used,
                              tracking_token, ab_test_id, ab_variant, tracked_links, status, created_at,
                              sequence_step, demo_site_id, video_id)
     SELECT u.id, $1, u.lead_id, u.subject_variant, u.body, u.demo_url, u.video_url, u.model_used, u.tracking_token,
            $2, u.ab_variant, u.tracked_links, 'queued', $3, u.sequence_step, u.demo_site_id, u.video_id
       FROM unnest($4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::uuid[],
                   $12::text[], $13::jsonb[], $14::smallint[], $15::uuid[], $16::uuid[])
            AS u(id, lead_id, subject_variant, body, demo_url, video_url, model_used, tracking_token, ab_variant,
                 tracked_links, sequence_step, demo_site_id, video_id)`,
    [
      input.campaign_id,
      test?.id ?? null,
      uow.now.toISOString(),
      queued.map((q) => q.email_send_id),
      queued.map((q) => q.lead_id),
      queued.map((q) => q.subject_variant),
      bodies,
      assets.map((a) => a.demo_url),
      assets.map((a) => a.video_url),
      input.emails.map((e) => e.model_used ?? null),
      queued.map((q) => q.tracking_token),
      queued.map((q) => q.ab_variant),
      trackedLinks,
      queued.map((q) => q.sequence_step),
      queued.map((q) => q.demo_site_id),
      queued.map((q) => q.video_id),
    ],
  );
  for (const q of queued) {
    uow.audit({
      action: "email_send.queued",
      resourceType: "email_send",
      resourceId: q.email_send_id,
      details: { campaign_id: input.campaign_id, ab_test_id: q.ab_test_id, ab_variant: q.ab_variant },
    });
  }
  return queued;
}

export type ClaimedEmail = {
  email_send_id: string;
  campaign_id: string;
  lead_id: string;
  to_email: string;
  subject: string | null;
  body: string | null;
  demo_url: string | null;
  video_url: string | null;
  tracking_token: string;
  pixel_url: string;
  click_urls: Record<string, string>;
  lease_expires_at: Date;
};

/**
 * Hands a sender up to `limit` due emails under a lease, honouring each campaign's status, send window and daily
 * limit at the request clock.
 *
 * Concurrency: the campaigns to claim from are locked (FOR NO KEY UPDATE, in id order so two claimers cannot
 * deadlock) before their day's claims are counted, so two senders claiming at once serialise per campaign and can
 * never exceed a limit together; inserts of new sends are not blocked by that lock. The sends themselves are taken
 * with FOR UPDATE SKIP LOCKED so a send a report is updating right now is skipped rather than waited for.
 *
 * A send whose lead has no contact_email, or unsubscribed (an `unsubscribe` reply in any campaign, README "Reply
 * taxonomy"), is not delivered: it is marked `failed` (last_error says why), does not use a slot of the daily limit,
 * and is not returned.
 */
export async function claimEmails(
  uow: UnitOfWork,
  input: { sender_id: string; limit: number; lease_seconds: number; campaign_ids?: string[] | undefined },
): Promise<ClaimedEmail[]> {
  const now = uow.now;
  const nowIso = now.toISOString();
  // Unlocked first pass: which active campaigns have something to claim and an open window right now.
  const { rows: candidates } = await uow.tx.query<Pick<CampaignRow, "id" | "send_window">>(
    `SELECT c.id, c.send_window FROM campaigns c
      WHERE COALESCE(c.status, 'active') = 'active'
        AND ($2::uuid[] IS NULL OR c.id = ANY($2::uuid[]))
        AND EXISTS (SELECT 1 FROM email_sends e WHERE e.campaign_id = c.id AND ${claimableSql("$1", "e")})`,
    [nowIso, input.campaign_ids ?? null],
  );
  const openIds = candidates.filter((c) => isWindowOpen(effectiveWindow(c), now)).map((c) => c.id);

  let claimed: ClaimedEmail[] = [];
  if (openIds.length > 0) {
    // Re-read under the lock: a PATCH may have paused the campaign or moved its window since the first pass.
    const { rows: locked } = await uow.tx.query<CampaignRow>(
      `SELECT id, daily_limit, send_window, status FROM campaigns
        WHERE id = ANY($1::uuid[]) AND COALESCE(status, 'active') = 'active'
        ORDER BY id
        FOR NO KEY UPDATE`,
      [openIds],
    );
    const open = locked
      .map((c) => ({ id: c.id, window: effectiveWindow(c), limit: effectiveDailyLimit(c) }))
      .filter((c) => isWindowOpen(c.window, now));
    const used = await countClaimedToday(uow.tx, open, now);
    const quota = open
      .map((c) => ({ id: c.id, remaining: c.limit - (used.get(c.id) ?? 0) }))
      .filter((q) => q.remaining > 0);
    if (quota.length > 0) claimed = await takeSends(uow, quota, input);
  }

  for (const c of claimed) {
    uow.audit({
      action: "email_send.claimed",
      resourceType: "email_send",
      resourceId: c.email_send_id,
      details: { sender_id: input.sender_id, campaign_id: c.campaign_id },
    });
  }
  if (claimed.length === 0 && uow.audits.length === 0) uow.wroteNothing();
  return claimed;
}

type SendRow = {
  id: string;
  created_at: Date;
  campaign_id: string;
  lead_id: string;
  contact_email: string | null;
  subject_variant: string | null;
  body: string | null;
  demo_url: string | null;
  video_url: string | null;
  tracking_token: string;
  tracked_links: string[] | null;
};

async function takeSends(
  uow: UnitOfWork,
  quota: { id: string; remaining: number }[],
  input: { sender_id: string; limit: number; lease_seconds: number },
): Promise<ClaimedEmail[]> {
  const nowIso = uow.now.toISOString();
  const leaseExpiresAt = new Date(uow.now.getTime() + input.lease_seconds * 1000);
  // Oldest first within each campaign up to its remaining quota, then oldest first overall up to the sender's limit.
  // created_at as text: the partition key to the microsecond, for the UPDATEs below (a Date would drop the
  // microseconds of a row not written through this API, and the UPDATE would match nothing).
  const { rows: picked } = await uow.tx.query<{
    id: string;
    created_at: string;
    undeliverable: string | null;
  }>(
    `SELECT p.id, p.created_at::text AS created_at,
            CASE WHEN l.unsubscribed_at IS NOT NULL THEN 'lead unsubscribed'
                 WHEN l.contact_email IS NULL THEN 'lead has no contact_email' END AS undeliverable
       FROM unnest($1::uuid[], $2::int[]) AS q(campaign_id, remaining)
       CROSS JOIN LATERAL (
         SELECT e.id, e.created_at, e.lead_id FROM email_sends e
          WHERE e.campaign_id = q.campaign_id AND ${claimableSql("$3", "e")}
          ORDER BY e.created_at, e.id
          LIMIT q.remaining
          FOR UPDATE SKIP LOCKED
       ) p
       LEFT JOIN leads l ON l.id = p.lead_id
      ORDER BY p.created_at, p.id
      LIMIT $4`,
    [quota.map((q) => q.id), quota.map((q) => q.remaining), nowIso, input.limit],
  );
  const undeliverable = picked.filter((p) => p.undeliverable !== null);
  if (undeliverable.length > 0) {
    await uow.tx.query(
      `UPDATE email_sends e
          SET status = 'failed', last_error = u.reason, lease_owner = NULL, lease_expires_at = NULL
         FROM unnest($1::uuid[], $2::timestamp[], $3::text[]) AS u(id, created_at, reason)
        WHERE e.id = u.id AND e.created_at = u.created_at
          -- Prunes to the partitions of these sends (the join alone probes every partition for each row).
          AND e.created_at = ANY($2::timestamp[])`,
      [
        undeliverable.map((p) => p.id),
        undeliverable.map((p) => p.created_at),
        undeliverable.map((p) => p.undeliverable),
      ],
    );
    for (const p of undeliverable) {
      uow.audit({
        action: "email_send.failed",
        resourceType: "email_send",
        resourceId: p.id,
        details: { reason: p.undeliverable },
      });
    }
  }
  const deliverable = picked.filter((p) => p.undeliverable === null);
  if (deliverable.length === 0) return [];
  const { rows } = await uow.tx.query<SendRow>(
    `UPDATE email_sends e
        SET status = 'sending', claimed_at = $3, lease_owner = $4, lease_expires_at = $5, attempts = e.attempts + 1
       FROM unnest($1::uuid[], $2::timestamp[]) AS u(id, created_at), leads l
      WHERE e.id = u.id AND e.created_at = u.created_at AND l.id = e.lead_id
        AND e.created_at = ANY($2::timestamp[])
      RETURNING e.id, e.created_at, e.campaign_id, e.lead_id, l.contact_email, e.subject_variant, e.body, e.demo_url,
                e.video_url, e.tracking_token, e.tracked_links`,
    [
      deliverable.map((p) => p.id),
      deliverable.map((p) => p.created_at),
      nowIso,
      input.sender_id,
      leaseExpiresAt.toISOString(),
    ],
  );
  return rows
    .sort((a, b) => a.created_at.getTime() - b.created_at.getTime() || a.id.localeCompare(b.id))
    .map((r) => ({
      email_send_id: r.id,
      campaign_id: r.campaign_id,
      lead_id: r.lead_id,
      to_email: decryptField(r.contact_email) ?? "",
      subject: r.subject_variant,
      body: r.body,
      demo_url: r.demo_url,
      video_url: r.video_url,
      tracking_token: r.tracking_token,
      pixel_url: pixelPath(r.tracking_token),
      click_urls: Object.fromEntries(
        (r.tracked_links ?? []).map((url) => [url, clickPath(r.tracking_token, url)]),
      ),
      lease_expires_at: leaseExpiresAt,
    }));
}

export type ReportResult = {
  email_send_id: string;
  status: ReportOutcome;
  sent_at: Date | null;
};

/**
 * A sender's report on a send it holds. Only the sender that holds the claim may report (a send whose lease ran out
 * and was claimed by another sender belongs to that one now); a late report from the holder is still accepted.
 * `sent` and `bounced` stamp sent_at with the request clock (a bounce was sent and not delivered: the read side's
 * `delivered = sent − bounced`); only `sent` emits `email.sent`. A `failed` send never left, so it has no sent_at.
 */
export async function reportEmail(uow: UnitOfWork, id: string, input: ReportInput): Promise<ReportResult> {
  const [result] = await reportEmails([{ uow, id, input }]);
  if (!result) throw new Error("a report without a result");
  return result;
}

type ReportInput = {
  sender_id: string;
  outcome: ReportOutcome;
  error?: string | undefined;
  provider_message_id?: string | undefined;
};

/**
 * reportEmail for several requests sharing one transaction (group commit): one locking read and one UPDATE for all
 * of them, each request's audit entry and event on its own UnitOfWork. Refuses all of them when any one would be
 * refused alone (with that request's error), and when two report the same send; the caller then runs each alone.
 */
export async function reportEmails(
  parts: readonly { uow: UnitOfWork; id: string; input: ReportInput }[],
): Promise<ReportResult[]> {
  const tx = parts[0]?.uow.tx;
  if (!tx) return [];
  const ids = parts.map((p) => p.id);
  if (new Set(ids).size !== ids.length) throw new Error("two reports on one send");
  const { rows } = await tx.query<{
    id: string;
    /** As text: the partition key to the microsecond (a Date would drop the microseconds and match nothing). */
    created_at: string;
    status: EmailSendStatus;
    lease_owner: string | null;
    campaign_id: string | null;
    lead_id: string | null;
    ab_test_id: string | null;
    ab_variant: string | null;
  }>({
    name: "email-report-lock",
    // Locked in id order, so two batches sharing sends cannot deadlock.
    text: `SELECT id, created_at::text AS created_at, status, lease_owner, campaign_id, lead_id, ab_test_id, ab_variant
             FROM email_sends WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`,
    values: [ids],
  });
  const byId = new Map(rows.map((r) => [r.id, r]));
  const checked = parts.map(({ uow, id, input }) => {
    const send = byId.get(id);
    if (!send) throw new NotFoundError("Email send", id);
    const allowed = TRANSITIONS[send.status] ?? [];
    if (send.status !== "sending" || !allowed.includes(input.outcome)) {
      throw new InvalidTransitionError(
        "Email send",
        send.status,
        input.outcome,
        "Only a claimed email (status sending) can be reported.",
      );
    }
    if (send.lease_owner !== input.sender_id) {
      throw new ConflictError(`Email send ${id} is claimed by another sender.`);
    }
    return { uow, id, input, send, sentAt: input.outcome === "failed" ? null : uow.now };
  });
  await tx.query({
    name: "email-report-update",
    text: `UPDATE email_sends e
        SET status = u.status, sent_at = COALESCE(u.sent_at, e.sent_at), last_error = u.last_error,
            lease_expires_at = NULL
       FROM unnest($1::uuid[], $2::timestamp[], $3::text[], $4::timestamp[], $5::text[])
            AS u(id, created_at, status, sent_at, last_error)
      WHERE e.id = u.id AND e.created_at = u.created_at
        -- Prunes to the partitions of these sends (the join alone would probe every partition for each row).
        AND e.created_at = ANY($2::timestamp[])`,
    values: [
      checked.map((c) => c.id),
      checked.map((c) => c.send.created_at),
      checked.map((c) => c.input.outcome),
      checked.map((c) => c.sentAt?.toISOString() ?? null),
      checked.map((c) => c.input.error ?? null),
    ],
  });
  return checked.map(({ uow, id, input, send, sentAt }) => {
    uow.audit({
      action: `email_send.${input.outcome}`,
      resourceType: "email_send",
      resourceId: id,
      details: {
        sender_id: input.sender_id,
        ...(input.provider_message_id ? { provider_message_id: input.provider_message_id } : {}),
      },
    });
    if (input.outcome === "sent" && sentAt) {
      uow.emit("email.sent", {
        email_send_id: id,
        campaign_id: send.campaign_id,
        lead_id: send.lead_id,
        ab_test_id: send.ab_test_id,
        ab_variant: send.ab_variant,
        sent_at: sentAt.toISOString(),
      });
    }
    return { email_send_id: id, status: input.outcome, sent_at: sentAt };
  });
}
