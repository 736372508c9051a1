import type pg from "pg";
import { InvalidTransitionError, NotFoundError, UnprocessableError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

/**
 * Conversations: the threads that follow an email send, their messages (inbound replies and outbound, possibly
 * AI-written, answers) and the outcomes they produce (meetings, deals). An inbound message is the reply signal of
 * the funnel: it stamps email_sends.replied_at once and emits `reply.received`. Outcomes are attributed to the
 * conversation's campaign (migration 0006).
 */

export type ConversationRow = {
  id: string;
  lead_id: string | null;
  campaign_id: string | null;
  email_send_id: string | null;
  thread_metadata: Record<string, unknown> | null;
  status: string | null;
  last_message_at: Date | null;
  created_at: Date | null;
};

export type MessageRow = {
  id: string;
  conversation_id: string;
  direction: "inbound" | "outbound";
  from_email: string | null;
  to_email: string | null;
  subject: string | null;
  body: string | null;
  model_used: string | null;
  sentiment: string | null;
  gmail_message_id: string | null;
  sent_at: Date | null;
  reply_category: ReplyCategory | null;
  reply_category_model: string | null;
  reply_category_confidence: number | null;
  reply_category_corrected: ReplyCategory | null;
  reply_category_corrected_at: Date | null;
  reply_category_corrected_by: string | null;
};

/**
 * The reply taxonomy (migration 0021, README "Reply taxonomy"): what an inbound message is, as its classifier posted
 * it and as a human may correct it. The effective category is the correction, else the classifier's.
 */
export const REPLY_CATEGORIES = [
  "interested",
  "meeting_request",
  "information_request",
  "not_now",
  "not_interested",
  "wrong_person",
  "out_of_office",
  "auto_reply",
  "unsubscribe",
  "bounce",
  "uncategorized",
] as const;
export type ReplyCategory = (typeof REPLY_CATEGORIES)[number];

export type MeetingRow = {
  id: string;
  lead_id: string;
  campaign_id: string | null;
  conversation_id: string | null;
  status: string;
  booked_at: Date;
  scheduled_for: Date | null;
  created_at: Date;
};

export type DealStatus = "open" | "won" | "lost";

export type DealRow = {
  id: string;
  lead_id: string;
  campaign_id: string | null;
  meeting_id: string | null;
  status: DealStatus;
  /** NUMERIC(12,2) as pg returns it: a decimal string, never a float. */
  amount: string | null;
  currency: string;
  won_at: Date | null;
  lost_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

export type ConversationThread = ConversationRow & {
  messages: MessageRow[];
  meetings: MeetingRow[];
  deals: DealRow[];
};

const CONVERSATION_COLUMNS =
  "id, lead_id, campaign_id, email_send_id, thread_metadata, status, last_message_at, created_at";
const MESSAGE_COLUMNS =
  "id, conversation_id, direction, from_email, to_email, subject, body, model_used, sentiment, gmail_message_id, " +
  "sent_at, reply_category, reply_category_model, reply_category_confidence, reply_category_corrected, " +
  "reply_category_corrected_at, reply_category_corrected_by";
const MEETING_COLUMNS =
  "id, lead_id, campaign_id, conversation_id, status, booked_at, scheduled_for, created_at";
// amount::text keeps the exact decimal (pg would return a string anyway; the cast makes the contract explicit).
const DEAL_COLUMNS =
  "id, lead_id, campaign_id, meeting_id, status, amount::text AS amount, currency, won_at, lost_at, created_at, updated_at";

export type CreateConversationInput = {
  lead_id: string;
  campaign_id?: string | undefined;
  email_send_id?: string | undefined;
  thread_metadata?: Record<string, unknown> | undefined;
};

/**
 * Opens a thread for a lead. email_send_id has no foreign key (email_sends' key includes its partition column), so it
 * is checked here: it must exist and belong to the same lead; its campaign becomes the thread's campaign when none is
 * given, and a different campaign is refused.
 */
export async function createConversation(
  uow: UnitOfWork,
  input: CreateConversationInput,
): Promise<ConversationRow> {
  const { rows: refs } = await uow.tx.query<{
    lead_exists: boolean;
    campaign_exists: boolean;
    send_lead_id: string | null;
    send_campaign_id: string | null;
    send_exists: boolean;
  }>(
    `SELECT EXISTS (SELECT 1 FROM leads WHERE id = $1 AND erased_at IS NULL) AS lead_exists,
            ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM campaigns WHERE id = $2)) AS campaign_exists,
            s.lead_id AS send_lead_id, s.campaign_id AS send_campaign_id, (s.id IS NOT NULL) AS send_exists
       FROM (SELECT 1) AS one
       LEFT JOIN email_sends s ON s.id = $3::uuid`,
    [input.lead_id, input.campaign_id ?? null, input.email_send_id ?? null],
  );
  const ref = refs[0];
  const errors = [];
  if (!ref?.lead_exists)
    errors.push({ location: "body" as const, path: "/lead_id", message: "no such lead" });
  if (!ref?.campaign_exists)
    errors.push({ location: "body" as const, path: "/campaign_id", message: "no such campaign" });
  let campaignId = input.campaign_id ?? null;
  if (input.email_send_id !== undefined) {
    if (!ref?.send_exists) {
      errors.push({ location: "body" as const, path: "/email_send_id", message: "no such email send" });
    } else if (ref.send_lead_id !== input.lead_id) {
      errors.push({
        location: "body" as const,
        path: "/email_send_id",
        message: "the email send was sent to a different lead",
      });
    } else if (campaignId !== null && ref.send_campaign_id !== campaignId) {
      errors.push({
        location: "body" as const,
        path: "/campaign_id",
        message: "differs from the email send's campaign",
      });
    } else {
      campaignId = ref.send_campaign_id;
    }
  }
  if (errors.length)
    throw new UnprocessableError("The conversation refers to unknown or mismatched rows.", errors);

  const { rows } = await uow.tx.query<ConversationRow>(
    `INSERT INTO conversations (lead_id, campaign_id, email_send_id, thread_metadata, status, created_at)
     VALUES ($1, $2, $3, $4, 'active', $5)
     RETURNING ${CONVERSATION_COLUMNS}`,
    [
      input.lead_id,
      campaignId,
      input.email_send_id ?? null,
      input.thread_metadata === undefined ? null : JSON.stringify(input.thread_metadata),
      uow.now.toISOString(),
    ],
  );
  const row = rows[0] as ConversationRow;
  uow.audit({ action: "conversation.created", resourceType: "conversation", resourceId: row.id });
  return row;
}

async function lockConversation(tx: pg.ClientBase, id: string): Promise<ConversationRow> {
  // FOR UPDATE serialises writers on one thread, so last_message_at and the reply attribution see each other.
  const { rows } = await tx.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError("Conversation", id);
  return row;
}

/**
 * A thread with one page of its messages (oldest first, keyset on (sent_at, id); `limit + 1` rows are read so the
 * caller can tell whether there is a next page) and all its meetings and deals (a handful per thread).
 */
export async function getConversationThread(
  db: pg.Pool | pg.ClientBase,
  id: string,
  page: { after: { at: Date; id: string } | null; limit: number } = { after: null, limit: 1000 },
): Promise<ConversationThread> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = $1`,
    [id],
  );
  const conversation = rows[0];
  if (!conversation) throw new NotFoundError("Conversation", id);
  const [messages, meetings, deals] = await Promise.all([
    db.query<MessageRow>(
      `SELECT ${MESSAGE_COLUMNS} FROM conversation_messages
        WHERE conversation_id = $1
          AND ($2::timestamp IS NULL OR (COALESCE(sent_at, 'epoch'), id) > ($2::timestamp, $3::uuid))
        ORDER BY COALESCE(sent_at, 'epoch'), id
        LIMIT $4`,
      [id, page.after?.at.toISOString() ?? null, page.after?.id ?? null, page.limit + 1],
    ),
    db.query<MeetingRow>(
      `SELECT ${MEETING_COLUMNS} FROM meetings WHERE conversation_id = $1 ORDER BY booked_at, id`,
      [id],
    ),
    db.query<DealRow>(
      // deals has no conversation_id: a deal belongs to the thread through its meeting, or — without a meeting —
      // through the thread's lead and campaign (one thread per lead and campaign is the normal case).
      `SELECT ${DEAL_COLUMNS} FROM deals
        WHERE meeting_id IN (SELECT id FROM meetings WHERE conversation_id = $1)
           OR (meeting_id IS NULL AND lead_id = $2 AND campaign_id IS NOT DISTINCT FROM $3::uuid)
        ORDER BY created_at, id`,
      [id, conversation.lead_id, conversation.campaign_id],
    ),
  ]);
  return { ...conversation, messages: messages.rows, meetings: meetings.rows, deals: deals.rows };
}

export type PostMessageInput = {
  direction: "inbound" | "outbound";
  from_email: string;
  to_email: string;
  subject?: string | undefined;
  body: string;
  model_used?: string | undefined;
  sentiment?: string | undefined;
  gmail_message_id?: string | undefined;
  sent_at?: Date | undefined;
  /** Inbound only; without it the database maps `sentiment` (reply_category_of_sentiment, migration 0021). */
  reply_category?: ReplyCategory | undefined;
  reply_category_model?: string | undefined;
  reply_category_confidence?: number | undefined;
};

/**
 * Adds a message to a thread. An inbound message is a reply: it stamps replied_at (first reply wins, COALESCE) on the
 * send the thread answers — the conversation's email_send_id, or else the lead's most recent send that went out before
 * the reply (within the thread's campaign when it has one), which then becomes the thread's email_send_id — and emits
 * `reply.received` without any message content. An `unsubscribe` reply suppresses the lead for every campaign
 * (leads.unsubscribed_at, first one wins): the email claim fails its queued emails from then on.
 */
export async function postMessage(
  uow: UnitOfWork,
  conversationId: string,
  input: PostMessageInput,
): Promise<MessageRow> {
  const conversation = await lockConversation(uow.tx, conversationId);
  const sentAt = (input.sent_at ?? uow.now).toISOString();
  const { rows } = await uow.tx.query<MessageRow>(
    `INSERT INTO conversation_messages (conversation_id, direction, from_email, to_email, subject, body, model_used,
                                        sentiment, gmail_message_id, sent_at, reply_category, reply_category_model,
                                        reply_category_confidence)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     RETURNING ${MESSAGE_COLUMNS}`,
    [
      conversationId,
      input.direction,
      input.from_email,
      input.to_email,
      input.subject ?? null,
      input.body,
      input.model_used ?? null,
      input.sentiment ?? null,
      input.gmail_message_id ?? null,
      sentAt,
      input.reply_category ?? null,
      input.reply_category_model ?? null,
      input.reply_category_confidence ?? null,
    ],
  );
  const message = rows[0] as MessageRow;
  if (message.reply_category === "unsubscribe") await recordUnsubscribes(uow, conversation);

  let emailSendId = conversation.email_send_id;
  if (input.direction === "inbound") {
    emailSendId = await markReplied(uow.tx, conversation, sentAt);
  }
  // GREATEST ignores NULL: a back-dated message never moves last_message_at backwards.
  await uow.tx.query(
    `UPDATE conversations
        SET last_message_at = GREATEST(last_message_at, $2::timestamp),
            email_send_id = COALESCE(email_send_id, $3::uuid)
      WHERE id = $1`,
    [conversationId, sentAt, emailSendId],
  );

  uow.audit({
    action: `conversation.message_${input.direction}`,
    resourceType: "conversation_message",
    resourceId: message.id,
    details: { conversation_id: conversationId },
  });
  if (input.direction === "inbound") {
    uow.emit("reply.received", {
      conversation_id: conversationId,
      message_id: message.id,
      lead_id: conversation.lead_id,
      campaign_id: conversation.campaign_id,
      email_send_id: emailSendId,
      sentiment: message.sentiment,
      reply_category: message.reply_category ?? "uncategorized",
      reply_category_model: message.reply_category_model,
      reply_category_confidence: message.reply_category_confidence,
    });
  }
  return message;
}

/**
 * Sets the thread's lead's unsubscribed_at from its messages: the first inbound message whose effective category is
 * `unsubscribe`, in any campaign; NULL when a correction left none. Audited when it changes.
 */
async function recordUnsubscribes(uow: UnitOfWork, conversation: ConversationRow): Promise<void> {
  if (!conversation.lead_id) return;
  const { rows } = await uow.tx.query<{ before: Date | null; after: Date | null }>(
    `WITH first AS (
       SELECT min(COALESCE(m.sent_at, 'epoch')) AS at
         FROM conversations c JOIN conversation_messages m ON m.conversation_id = c.id
        WHERE c.lead_id = $1 AND m.direction = 'inbound'
          AND COALESCE(m.reply_category_corrected, m.reply_category) = 'unsubscribe'),
     old AS (SELECT unsubscribed_at FROM leads WHERE id = $1 FOR UPDATE)
     UPDATE leads l SET unsubscribed_at = first.at FROM first, old
      WHERE l.id = $1 AND l.unsubscribed_at IS DISTINCT FROM first.at
     RETURNING old.unsubscribed_at AS before, l.unsubscribed_at AS after`,
    [conversation.lead_id],
  );
  const changed = rows[0];
  if (!changed) return;
  uow.audit({
    action: changed.after ? "lead.unsubscribed" : "lead.unsubscribe_withdrawn",
    resourceType: "lead",
    resourceId: conversation.lead_id,
    details: { conversation_id: conversation.id, unsubscribed_at: changed.after?.toISOString() ?? null },
  });
}

export type CorrectCategoryInput = {
  category: ReplyCategory;
  /** Who reviewed it (a user id of the caller's tool); defaults to the API key. */
  reviewer?: string | undefined;
};

/**
 * A human's verdict on an inbound message's category, kept beside the classifier's label (which never changes) and
 * audited with both. Correcting to or from `unsubscribe` recomputes the lead's suppression. Sending the same
 * verdict again changes nothing.
 */
export async function correctReplyCategory(
  uow: UnitOfWork,
  conversationId: string,
  messageId: string,
  input: CorrectCategoryInput,
): Promise<MessageRow> {
  const conversation = await lockConversation(uow.tx, conversationId);
  const { rows: current } = await uow.tx.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM conversation_messages WHERE id = $1 AND conversation_id = $2 FOR UPDATE`,
    [messageId, conversationId],
  );
  const message = current[0];
  if (!message) throw new NotFoundError("Message", messageId);
  if (message.direction !== "inbound") {
    throw new UnprocessableError("Only inbound messages (replies) have a category.", [
      { location: "path", path: "/messageId", message: "an outbound message" },
    ]);
  }
  if (message.reply_category_corrected === input.category) {
    uow.wroteNothing();
    return message;
  }
  const p = uow.principal;
  const reviewer = input.reviewer ?? (p.type === "api_key" ? `api_key:${p.name}` : `${p.type}:${p.id}`);
  const { rows } = await uow.tx.query<MessageRow>(
    `UPDATE conversation_messages
        SET reply_category_corrected = $2, reply_category_corrected_at = $3, reply_category_corrected_by = $4
      WHERE id = $1
      RETURNING ${MESSAGE_COLUMNS}`,
    [messageId, input.category, uow.now.toISOString(), reviewer],
  );
  const corrected = rows[0] as MessageRow;
  const before = message.reply_category_corrected ?? message.reply_category;
  uow.audit({
    action: "conversation.message_category_corrected",
    resourceType: "conversation_message",
    resourceId: messageId,
    details: {
      conversation_id: conversationId,
      from: before,
      to: input.category,
      classifier: message.reply_category,
      model: message.reply_category_model,
      reviewer,
    },
  });
  if (before === "unsubscribe" || input.category === "unsubscribe")
    await recordUnsubscribes(uow, conversation);
  return corrected;
}

/** Stamps replied_at once on the send the reply answers; returns that send's id, or null when there is none. */
async function markReplied(
  tx: pg.ClientBase,
  conversation: ConversationRow,
  repliedAt: string,
): Promise<string | null> {
  if (conversation.email_send_id) {
    await tx.query(`UPDATE email_sends SET replied_at = COALESCE(replied_at, $2::timestamp) WHERE id = $1`, [
      conversation.email_send_id,
      repliedAt,
    ]);
    return conversation.email_send_id;
  }
  if (!conversation.lead_id) return null;
  // Both key columns in the UPDATE let PostgreSQL touch only the partition that holds the send.
  const { rows } = await tx.query<{ id: string }>(
    `WITH latest AS (
       SELECT id, created_at FROM email_sends
        WHERE lead_id = $1 AND ($2::uuid IS NULL OR campaign_id = $2)
          AND sent_at IS NOT NULL AND sent_at <= $3::timestamp
        ORDER BY sent_at DESC, id DESC
        LIMIT 1)
     UPDATE email_sends s SET replied_at = COALESCE(s.replied_at, $3::timestamp)
       FROM latest WHERE s.id = latest.id AND s.created_at = latest.created_at
     RETURNING s.id`,
    [conversation.lead_id, conversation.campaign_id, repliedAt],
  );
  return rows[0]?.id ?? null;
}

function requireLead(conversation: ConversationRow): string {
  if (!conversation.lead_id) {
    throw new UnprocessableError(
      `Conversation ${conversation.id} has no lead, so it cannot record outcomes.`,
    );
  }
  return conversation.lead_id;
}

/** Books a meeting out of a conversation, attributed to its campaign; emits `meeting.booked`. */
export async function bookMeeting(
  uow: UnitOfWork,
  conversationId: string,
  input: { scheduled_for?: Date | undefined },
): Promise<MeetingRow> {
  const conversation = await lockConversation(uow.tx, conversationId);
  const leadId = requireLead(conversation);
  const now = uow.now.toISOString();
  const { rows } = await uow.tx.query<MeetingRow>(
    `INSERT INTO meetings (lead_id, campaign_id, conversation_id, status, booked_at, scheduled_for, created_at)
     VALUES ($1, $2, $3, 'booked', $4, $5, $4)
     RETURNING ${MEETING_COLUMNS}`,
    [leadId, conversation.campaign_id, conversationId, now, input.scheduled_for?.toISOString() ?? null],
  );
  const meeting = rows[0] as MeetingRow;
  uow.audit({
    action: "meeting.booked",
    resourceType: "meeting",
    resourceId: meeting.id,
    details: { conversation_id: conversationId },
  });
  uow.emit("meeting.booked", {
    meeting_id: meeting.id,
    lead_id: meeting.lead_id,
    campaign_id: meeting.campaign_id,
    conversation_id: meeting.conversation_id,
    scheduled_for: meeting.scheduled_for?.toISOString() ?? null,
  });
  return meeting;
}

export type CreateDealInput = {
  status: DealStatus;
  /** A decimal string with at most two decimals; it goes into NUMERIC as text, never through a float. */
  amount?: string | undefined;
  currency: string;
  meeting_id?: string | undefined;
};

function emitDealWon(uow: UnitOfWork, deal: DealRow): void {
  if (deal.amount === null || deal.won_at === null)
    throw new Error(`won deal ${deal.id} without amount or won_at`);
  uow.emit("deal.won", {
    deal_id: deal.id,
    lead_id: deal.lead_id,
    campaign_id: deal.campaign_id,
    amount: deal.amount,
    currency: deal.currency,
    won_at: deal.won_at.toISOString(),
  });
}

function wonNeedsAmount(): UnprocessableError {
  return new UnprocessableError("A won deal needs an amount.", [
    { location: "body", path: "/amount", message: "required when status is won" },
  ]);
}

/**
 * Records a deal out of a conversation, for its lead and campaign. A deal may start open, or already won/lost; a
 * won deal needs an amount and emits `deal.won`. meeting_id must be a meeting of the same conversation.
 */
export async function createDeal(
  uow: UnitOfWork,
  conversationId: string,
  input: CreateDealInput,
): Promise<DealRow> {
  const conversation = await lockConversation(uow.tx, conversationId);
  const leadId = requireLead(conversation);
  if (input.status === "won" && input.amount === undefined) throw wonNeedsAmount();
  if (input.meeting_id !== undefined) {
    const { rowCount } = await uow.tx.query(`SELECT 1 FROM meetings WHERE id = $1 AND conversation_id = $2`, [
      input.meeting_id,
      conversationId,
    ]);
    if (!rowCount) {
      throw new UnprocessableError("The meeting is not one of this conversation's.", [
        { location: "body", path: "/meeting_id", message: "no such meeting in this conversation" },
      ]);
    }
  }
  const now = uow.now.toISOString();
  const { rows } = await uow.tx.query<DealRow>(
    `INSERT INTO deals (lead_id, campaign_id, meeting_id, status, amount, currency, won_at, lost_at, created_at,
                        updated_at)
     VALUES ($1, $2, $3, $4::text, $5::numeric, $6,
             CASE WHEN $4::text = 'won' THEN $7::timestamp END, CASE WHEN $4::text = 'lost' THEN $7::timestamp END,
             $7::timestamp, $7::timestamp)
     RETURNING ${DEAL_COLUMNS}`,
    [
      leadId,
      conversation.campaign_id,
      input.meeting_id ?? null,
      input.status,
      input.amount ?? null,
      input.currency,
      now,
    ],
  );
  const deal = rows[0] as DealRow;
  uow.audit({
    action: `deal.created_${deal.status}`,
    resourceType: "deal",
    resourceId: deal.id,
    details: { conversation_id: conversationId },
  });
  if (deal.status === "won") emitDealWon(uow, deal);
  return deal;
}

/** open → open (amount/currency edits), open → won | lost. won and lost are final. */
const DEAL_TRANSITIONS: Record<DealStatus, readonly DealStatus[]> = {
  open: ["open", "won", "lost"],
  won: [],
  lost: [],
};

export async function updateDeal(
  uow: UnitOfWork,
  id: string,
  input: { status: DealStatus; amount?: string | undefined; currency?: string | undefined },
): Promise<DealRow> {
  const { rows: current } = await uow.tx.query<DealRow>(
    `SELECT ${DEAL_COLUMNS} FROM deals WHERE id = $1 FOR UPDATE`,
    [id],
  );
  const deal = current[0];
  if (!deal) throw new NotFoundError("Deal", id);
  if (!DEAL_TRANSITIONS[deal.status]?.includes(input.status)) {
    throw new InvalidTransitionError("Deal", deal.status, input.status, "Won and lost deals are final.");
  }
  if (input.status === "won" && input.amount === undefined && deal.amount === null) throw wonNeedsAmount();
  const now = uow.now.toISOString();
  const { rows } = await uow.tx.query<DealRow>(
    `UPDATE deals
        SET status = $2::text,
            amount = COALESCE($3::numeric, amount),
            currency = COALESCE($4::text, currency),
            won_at = CASE WHEN $2::text = 'won' THEN $5::timestamp ELSE won_at END,
            lost_at = CASE WHEN $2::text = 'lost' THEN $5::timestamp ELSE lost_at END,
            updated_at = $5::timestamp
      WHERE id = $1
      RETURNING ${DEAL_COLUMNS}`,
    [id, input.status, input.amount ?? null, input.currency ?? null, now],
  );
  const updated = rows[0] as DealRow;
  uow.audit({
    action: deal.status === updated.status ? "deal.updated" : `deal.${updated.status}`,
    resourceType: "deal",
    resourceId: id,
    details: { from: deal.status, to: updated.status },
  });
  if (updated.status === "won") emitDealWon(uow, updated);
  return updated;
}
