import { z } from "zod";
import {
  bookMeeting,
  type ConversationRow,
  correctReplyCategory,
  createConversation,
  createDeal,
  type DealRow,
  getConversationThread,
  type MeetingRow,
  type MessageRow,
  postMessage,
  REPLY_CATEGORIES,
  updateDeal,
} from "../../domain/conversations.js";
import { defineRoute } from "../route.js";
import {
  decodeCursor,
  IdParams,
  iso,
  JsonObject,
  ModelName,
  NullableTimestamp,
  occurredAtInput,
  Timestamp,
  TimestampInput,
  toPage,
  Uuid,
} from "../schemas.js";

const MONEY = /^\d{1,10}(\.\d{1,2})?$/;
const MONEY_MESSAGE = 'a decimal ≥ 0 with at most 2 decimals and 10 integer digits, e.g. "1250.00"';

/**
 * Money in: a decimal string (preferred) or a JSON number; either way it reaches NUMERIC(12,2) as a string. A number
 * is checked through its shortest round-trip form, so 1250.5 passes and 0.125 or 1e21 do not.
 */
export const MoneyAmount = z
  .union([
    z.string().regex(MONEY, MONEY_MESSAGE),
    z
      .number()
      .nonnegative()
      .refine((n) => MONEY.test(String(n)), MONEY_MESSAGE)
      .transform((n) => String(n)),
  ])
  .meta({
    description: "Decimal string (preferred) or number, ≥ 0, at most 2 decimals.",
    example: "1250.00",
  });

export const CurrencyCode = z
  .string()
  .regex(/^[A-Za-z]{3}$/, "ISO 4217 code such as USD")
  .transform((s) => s.toUpperCase())
  .meta({ example: "USD" });

export const Sentiment = z.enum([
  "positive",
  "neutral",
  "negative",
  "interested",
  "not_interested",
  "objection",
  "out_of_office",
  "unsubscribe",
]);
export const DealStatus = z.enum(["open", "won", "lost"]);

export const ReplyCategory = z.enum(REPLY_CATEGORIES).meta({
  id: "ReplyCategory",
  description:
    'Reply taxonomy (README "Reply taxonomy"). Groups: positive = interested, meeting_request; neutral = ' +
    "information_request, not_now, wrong_person, uncategorized; negative = not_interested, unsubscribe; automatic " +
    "(not counted as a reply) = out_of_office, auto_reply, bounce. `unsubscribe` suppresses the lead for every " +
    "campaign.",
});

export const CreateConversationBody = z
  .strictObject({
    lead_id: Uuid,
    campaign_id: Uuid.optional().meta({ description: "Defaults to the email send's campaign." }),
    email_send_id: Uuid.optional().meta({
      description: "The send this thread answers; must be the same lead's.",
    }),
    thread_metadata: JsonObject.optional(),
  })
  .meta({ id: "CreateConversationBody" });

export const PostMessageBody = z
  .strictObject({
    direction: z.enum(["inbound", "outbound"]),
    from_email: z.email().max(255),
    to_email: z.email().max(255),
    subject: z.string().max(998).optional(),
    body: z.string().min(1).max(200_000),
    model_used: ModelName.optional().meta({ description: "The model that wrote an outbound (AI) reply." }),
    sentiment: Sentiment.optional(),
    gmail_message_id: z.string().trim().min(1).max(255).optional(),
    sent_at: occurredAtInput("When the message was sent; defaults to now.").optional(),
    reply_category: ReplyCategory.optional().meta({
      description:
        "Inbound only: the category the AI worker's classifier gave the reply. Omitted: mapped from `sentiment` " +
        "(positive/interested → interested, negative/not_interested → not_interested, objection → not_now, " +
        "out_of_office, unsubscribe as named, anything else → uncategorized).",
    }),
    reply_category_model: ModelName.optional().meta({
      description: "The classifier model; its labels count in its accuracy once humans review them.",
    }),
    reply_category_confidence: z.number().min(0).max(1).optional().meta({
      description: "The classifier's confidence in [0, 1].",
    }),
  })
  .refine((m) => m.direction === "outbound" || m.model_used === undefined, {
    message: "only outbound messages are written by a model",
    path: ["model_used"],
  })
  .refine((m) => m.direction === "inbound" || m.reply_category === undefined, {
    message: "only inbound messages (replies) have a category",
    path: ["reply_category"],
  })
  .refine((m) => m.reply_category !== undefined || m.reply_category_model === undefined, {
    message: "a classifier model needs the reply_category it posted",
    path: ["reply_category_model"],
  })
  .refine((m) => m.reply_category !== undefined || m.reply_category_confidence === undefined, {
    message: "a confidence needs the reply_category it belongs to",
    path: ["reply_category_confidence"],
  })
  .meta({ id: "PostMessageBody" });

export const CorrectCategoryBody = z
  .strictObject({
    category: ReplyCategory,
    reviewer: z.string().trim().min(1).max(255).optional().meta({
      description:
        "Who reviewed it (your tool's user id, not an email address); defaults to the API key's name.",
      example: "user:4711",
    }),
  })
  .meta({ id: "CorrectReplyCategoryBody" });

export const MessageParams = z.strictObject({ id: Uuid, messageId: Uuid });

export const BookMeetingBody = z
  .strictObject({ scheduled_for: TimestampInput.optional() })
  .meta({ id: "BookMeetingBody" });

export const CreateDealBody = z
  .strictObject({
    status: DealStatus,
    amount: MoneyAmount.optional(),
    currency: CurrencyCode.default("USD"),
    meeting_id: Uuid.optional().meta({ description: "A meeting of the same conversation." }),
  })
  .meta({ id: "CreateDealBody" });

export const UpdateDealBody = z
  .strictObject({
    status: DealStatus.meta({ description: "open → won | lost; won and lost are final." }),
    amount: MoneyAmount.optional(),
    currency: CurrencyCode.optional(),
  })
  .meta({ id: "UpdateDealBody" });

export const ConversationResponse = z
  .object({
    id: Uuid,
    lead_id: Uuid.nullable(),
    campaign_id: Uuid.nullable(),
    email_send_id: Uuid.nullable(),
    thread_metadata: JsonObject.nullable(),
    status: z.string().nullable(),
    last_message_at: NullableTimestamp,
    created_at: NullableTimestamp,
  })
  .meta({ id: "Conversation" });

export const MessageResponse = z
  .object({
    id: Uuid,
    conversation_id: Uuid,
    direction: z.enum(["inbound", "outbound"]),
    from_email: z.string().nullable(),
    to_email: z.string().nullable(),
    subject: z.string().nullable(),
    body: z.string().nullable(),
    model_used: z.string().nullable(),
    sentiment: z.string().nullable(),
    gmail_message_id: z.string().nullable(),
    sent_at: NullableTimestamp,
    reply_category: ReplyCategory.nullable().meta({
      description: "The classifier's category (inbound only); never changed by a correction.",
    }),
    reply_category_model: z.string().nullable(),
    reply_category_confidence: z.number().nullable(),
    reply_category_corrected: ReplyCategory.nullable().meta({
      description: "A human's correction; when set, it is the category the KPIs use.",
    }),
    reply_category_corrected_at: NullableTimestamp,
    reply_category_corrected_by: z.string().nullable(),
  })
  .meta({ id: "ConversationMessage" });

export const MeetingResponse = z
  .object({
    id: Uuid,
    lead_id: Uuid,
    campaign_id: Uuid.nullable(),
    conversation_id: Uuid.nullable(),
    status: z.string(),
    booked_at: Timestamp,
    scheduled_for: NullableTimestamp,
    created_at: Timestamp,
  })
  .meta({ id: "Meeting" });

export const DealResponse = z
  .object({
    id: Uuid,
    lead_id: Uuid,
    campaign_id: Uuid.nullable(),
    meeting_id: Uuid.nullable(),
    status: DealStatus,
    amount: z.string().nullable().meta({ description: "Decimal string, exact.", example: "1250.00" }),
    currency: z.string(),
    won_at: NullableTimestamp,
    lost_at: NullableTimestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .meta({ id: "Deal" });

export const ThreadQuery = z.strictObject({
  messages_cursor: z
    .string()
    .max(500)
    .optional()
    .meta({ description: "`messages_page.next_cursor` of the previous page." }),
  messages_limit: z.coerce.number().int().min(1).max(500).default(100),
});

export const ConversationThreadResponse = ConversationResponse.extend({
  messages: z.array(MessageResponse).meta({ description: "One page of messages, oldest first." }),
  messages_page: z.object({ next_cursor: z.string().nullable(), limit: z.number().int() }),
  meetings: z.array(MeetingResponse),
  deals: z.array(DealResponse),
}).meta({ id: "ConversationThread" });

function conversationResponse(r: ConversationRow): z.input<typeof ConversationResponse> {
  return { ...r, last_message_at: iso(r.last_message_at), created_at: iso(r.created_at) };
}

function messageResponse(r: MessageRow): z.input<typeof MessageResponse> {
  return { ...r, sent_at: iso(r.sent_at), reply_category_corrected_at: iso(r.reply_category_corrected_at) };
}

function meetingResponse(r: MeetingRow): z.input<typeof MeetingResponse> {
  return {
    ...r,
    booked_at: iso(r.booked_at),
    scheduled_for: iso(r.scheduled_for),
    created_at: iso(r.created_at),
  };
}

function dealResponse(r: DealRow): z.input<typeof DealResponse> {
  return {
    ...r,
    won_at: iso(r.won_at),
    lost_at: iso(r.lost_at),
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

export const createConversationRoute = defineRoute({
  method: "post",
  path: "/api/v2/conversations",
  operationId: "createConversation",
  summary: "Open a conversation thread with a lead",
  tags: ["Conversations"],
  scope: "ingest",
  body: CreateConversationBody,
  response: { status: 201, description: "The new conversation.", schema: ConversationResponse },
  handler: async ({ body }, uow) => conversationResponse(await createConversation(uow, body)),
});

export const getConversationRoute = defineRoute({
  method: "get",
  path: "/api/v2/conversations/{id}",
  operationId: "getConversation",
  summary: "Get a conversation with its messages, meetings and deals",
  tags: ["Conversations"],
  scope: "ingest",
  params: IdParams,
  query: ThreadQuery,
  response: { status: 200, description: "The thread.", schema: ConversationThreadResponse },
  errors: [404],
  handler: async ({ params, query }, { db }) => {
    const limit = query.messages_limit;
    const t = await getConversationThread(db, params.id, {
      after: decodeCursor(query.messages_cursor),
      limit,
    });
    const page = toPage(
      t.messages,
      limit,
      (m) => ({ at: m.sent_at ?? new Date(0), id: m.id }),
      messageResponse,
    );
    return {
      ...conversationResponse(t),
      messages: page.data,
      messages_page: page.page,
      meetings: t.meetings.map(meetingResponse),
      deals: t.deals.map(dealResponse),
    };
  },
});

export const postMessageRoute = defineRoute({
  method: "post",
  path: "/api/v2/conversations/{id}",
  operationId: "postConversationMessage",
  summary: "Post a message to a conversation",
  description:
    "Inbound messages are replies: the first one stamps `replied_at` on the email send the thread answers (its " +
    "`email_send_id`, else the lead's latest send before the reply) and each emits `reply.received`. Outbound " +
    "messages may carry the `model_used` that wrote them. An inbound message carries its `reply_category` (README " +
    '"Reply taxonomy"); an `unsubscribe` reply suppresses the lead for every campaign: the email claim fails its ' +
    "queued emails and sending-status counts them as `unsubscribed`.",
  tags: ["Conversations"],
  scope: "ingest",
  params: IdParams,
  body: PostMessageBody,
  response: { status: 201, description: "The new message.", schema: MessageResponse },
  errors: [404],
  handler: async ({ params, body }, uow) => messageResponse(await postMessage(uow, params.id, body)),
});

export const correctReplyCategoryRoute = defineRoute({
  method: "put",
  path: "/api/v2/conversations/{id}/messages/{messageId}/category",
  operationId: "correctReplyCategory",
  summary: "Correct the category of a reply (a human's review)",
  description:
    "Kept beside the classifier's label, which never changes: the KPIs use the correction, and the classifier's " +
    "accuracy per model (GET /api/v2/analytics/reply-classifiers, GraphQL `replyClassifiers`) counts it. Audited " +
    "with both labels. Correcting to or from `unsubscribe` recomputes the lead's suppression. Sending the same " +
    "category again changes nothing.",
  tags: ["Conversations"],
  scope: "ingest",
  params: MessageParams,
  body: CorrectCategoryBody,
  response: { status: 200, description: "The message with the correction.", schema: MessageResponse },
  errors: [404],
  handler: async ({ params, body }, uow) =>
    messageResponse(await correctReplyCategory(uow, params.id, params.messageId, body)),
});

export const bookMeetingRoute = defineRoute({
  method: "post",
  path: "/api/v2/conversations/{id}/meetings",
  operationId: "bookMeeting",
  summary: "Record a meeting booked out of a conversation",
  description: "Attributed to the conversation's lead and campaign. Emits `meeting.booked`.",
  tags: ["Conversations"],
  scope: "ingest",
  params: IdParams,
  body: BookMeetingBody,
  response: { status: 201, description: "The meeting.", schema: MeetingResponse },
  errors: [404],
  handler: async ({ params, body }, uow) => meetingResponse(await bookMeeting(uow, params.id, body)),
});

export const createDealRoute = defineRoute({
  method: "post",
  path: "/api/v2/conversations/{id}/deals",
  operationId: "createDeal",
  summary: "Record a deal out of a conversation",
  description: "A won deal needs an amount and emits `deal.won`.",
  tags: ["Conversations"],
  scope: "ingest",
  params: IdParams,
  body: CreateDealBody,
  response: { status: 201, description: "The deal.", schema: DealResponse },
  errors: [404],
  handler: async ({ params, body }, uow) => dealResponse(await createDeal(uow, params.id, body)),
});

export const updateDealRoute = defineRoute({
  method: "patch",
  path: "/api/v2/deals/{id}",
  operationId: "updateDeal",
  summary: "Move a deal on (open → won | lost) or correct an open deal's amount",
  description: "Won and lost are final (409). Winning needs an amount and emits `deal.won`.",
  tags: ["Conversations"],
  scope: "ingest",
  params: IdParams,
  body: UpdateDealBody,
  response: { status: 200, description: "The deal.", schema: DealResponse },
  errors: [404, 409],
  handler: async ({ params, body }, uow) => dealResponse(await updateDeal(uow, params.id, body)),
});

export const conversationRoutes = [
  createConversationRoute,
  getConversationRoute,
  postMessageRoute,
  correctReplyCategoryRoute,
  bookMeetingRoute,
  createDealRoute,
  updateDealRoute,
];
