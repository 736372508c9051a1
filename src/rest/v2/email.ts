import { z } from "zod";
import {
  claimEmails,
  queueEmails,
  type ReportResult,
  reportEmail,
  reportEmails,
} from "../../domain/email-sends.js";
import { defineRoute } from "../route.js";
import { HttpUrl, IdParams, iso, ModelName, NullableTimestamp, Timestamp, Uuid } from "../schemas.js";

const EmailInput = z
  .strictObject({
    lead_id: Uuid,
    subject: z.string().trim().min(1).max(998).meta({
      description: "Used unless the campaign's active subject-line test assigns the lead a variant.",
    }),
    body: z.string().min(1).max(100_000),
    demo_url: HttpUrl.optional(),
    video_url: HttpUrl.optional(),
    model_used: ModelName.optional(),
    links: z.array(HttpUrl).max(50).optional().meta({
      description: "Other URLs in the body that clicks may be tracked for (demo/video URL are included).",
    }),
    sequence_step: z
      .number()
      .int()
      .min(1)
      .max(32767)
      .optional()
      .meta({
        description:
          "Its step in the campaign's sequence (1 = first email, 2.. = follow-ups). Default: the next step for the " +
          "lead in this campaign, 1 + the lead's emails already queued in the campaign (and earlier in this batch).",
      }),
    demo_site_id: Uuid.optional().meta({
      description: "The demo the email carries, one of the lead's; supplies demo_url when that is omitted.",
    }),
    video_id: Uuid.optional().meta({
      description: "The video the email carries, one of the lead's; supplies video_url when that is omitted.",
    }),
  })
  .meta({ id: "EmailInput" });

export const QueueEmailsBody = z
  .strictObject({
    campaign_id: Uuid,
    emails: z.array(EmailInput).min(1).max(500),
  })
  .meta({ id: "QueueEmailsBody" });

export const QueueEmailsResponse = z
  .object({
    data: z.array(
      z.object({
        email_send_id: Uuid,
        lead_id: Uuid,
        status: z.literal("queued"),
        ab_test_id: Uuid.nullable(),
        ab_variant: z.string().nullable(),
        subject_variant: z.string(),
        tracking_token: Uuid,
        pixel_url: z
          .string()
          .meta({ description: "Relative URL of the open pixel.", example: "/t/<token>/o.gif" }),
        sequence_step: z
          .number()
          .int()
          .meta({ description: "Its step in the campaign's sequence (1 = first)." }),
        demo_site_id: Uuid.nullable(),
        video_id: Uuid.nullable(),
      }),
    ),
  })
  .meta({ id: "QueueEmailsResponse" });

export const ClaimEmailsBody = z
  .strictObject({
    sender_id: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .meta({ description: "Who holds the lease (a sender instance)." }),
    limit: z.number().int().min(1).max(500).default(50),
    lease_seconds: z.number().int().min(10).max(3600).default(300),
    campaign_ids: z.array(Uuid).min(1).max(100).optional().meta({
      description: "Only claim from these campaigns (a sender dedicated to some campaigns); default all.",
    }),
  })
  .meta({ id: "ClaimEmailsBody" });

export const ClaimedEmailResponse = z
  .object({
    email_send_id: Uuid,
    campaign_id: Uuid,
    lead_id: Uuid,
    to_email: z.string(),
    subject: z.string().nullable(),
    body: z.string().nullable(),
    demo_url: z.string().nullable(),
    video_url: z.string().nullable(),
    tracking_token: Uuid,
    pixel_url: z.string(),
    click_urls: z
      .record(z.string(), z.string())
      .meta({ description: "Each tracked URL → the relative tracking URL to put in the email instead." }),
    lease_expires_at: Timestamp,
  })
  .meta({ id: "ClaimedEmail" });

export const ClaimEmailsResponse = z
  .object({ data: z.array(ClaimedEmailResponse) })
  .meta({ id: "ClaimEmailsResponse" });

export const ReportEmailBody = z
  .strictObject({
    sender_id: z.string().trim().min(1).max(100),
    outcome: z.enum(["sent", "bounced", "failed"]),
    error: z.string().max(2000).optional(),
    provider_message_id: z.string().max(255).optional(),
  })
  .meta({ id: "ReportEmailBody" });

export const ReportEmailResponse = z
  .object({
    email_send_id: Uuid,
    status: z.enum(["sent", "bounced", "failed"]),
    sent_at: NullableTimestamp,
  })
  .meta({ id: "ReportEmailResponse" });

export const queueEmailsRoute = defineRoute({
  method: "post",
  path: "/api/v2/email/send",
  operationId: "queueEmails",
  summary: "Queue personalised emails for a campaign",
  description:
    "Queues 1–500 emails. Each gets a tracking token; when the campaign has an active subject-line A/B test, each " +
    "lead is assigned a variant deterministically and its email takes the variant's subject.",
  tags: ["Email"],
  scope: "ingest",
  body: QueueEmailsBody,
  batch: "emails",
  bodyLimit: "10mb",
  response: { status: 202, description: "The queued emails.", schema: QueueEmailsResponse },
  errors: [409],
  handler: async ({ body }, uow) => ({ data: await queueEmails(uow, body) }),
});

export const claimEmailsRoute = defineRoute({
  method: "post",
  path: "/api/v2/email/claim",
  operationId: "claimEmails",
  summary: "Claim due emails to send (sender)",
  description:
    "Leases up to `limit` emails of active campaigns whose send window is open now and whose daily limit (per " +
    "calendar day in the window's time zone) is not met. Report each with POST /api/v2/email/{id}/report before the " +
    "lease expires, or it returns to the queue. See GET /api/v2/campaigns/{id}/sending-status for why nothing comes.",
  tags: ["Email"],
  scope: "sender",
  body: ClaimEmailsBody,
  response: { status: 200, description: "The claimed emails (possibly none).", schema: ClaimEmailsResponse },
  handler: async ({ body }, uow) => {
    const claimed = await claimEmails(uow, body);
    return { data: claimed.map((c) => ({ ...c, lease_expires_at: iso(c.lease_expires_at) })) };
  },
});

export const reportEmailRoute = defineRoute({
  method: "post",
  path: "/api/v2/email/{id}/report",
  operationId: "reportEmail",
  summary: "Report a claimed email as sent, bounced or failed (sender)",
  description:
    "Only a claimed email (status sending) held by this sender can be reported. `sent` and `bounced` stamp " +
    "`sent_at` (a bounce was sent, not delivered); `failed` means it never left. `sent` emits `email.sent`.",
  tags: ["Email"],
  scope: "sender",
  params: IdParams,
  body: ReportEmailBody,
  response: { status: 200, description: "The email's new status.", schema: ReportEmailResponse },
  errors: [404, 409],
  handler: async ({ params, body }, uow) => reportAnswer(await reportEmail(uow, params.id, body)),
  group: {
    handler: async (members) =>
      (
        await reportEmails(members.map(({ input, uow }) => ({ uow, id: input.params.id, input: input.body })))
      ).map(reportAnswer),
  },
});

function reportAnswer(r: ReportResult) {
  return { ...r, sent_at: iso(r.sent_at) };
}

export const emailRoutes = [queueEmailsRoute, claimEmailsRoute, reportEmailRoute];
