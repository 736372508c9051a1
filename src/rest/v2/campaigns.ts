import { z } from "zod";
import {
  CAMPAIGN_STATUSES,
  type CampaignRow,
  createCampaign,
  deleteCampaign,
  getCampaign,
  getSendingStatus,
  listCampaigns,
  updateCampaign,
} from "../../domain/campaigns.js";
import { SendWindow } from "../../domain/send-window.js";
import { defineRoute } from "../route.js";
import {
  decodeCursor,
  IdParams,
  iso,
  JsonObject,
  NullableTimestamp,
  Page,
  PageQueryShape,
  toPage,
  Uuid,
} from "../schemas.js";

const CampaignName = z.string().trim().min(1).max(255);
const SourceTypes = z
  .array(z.string().trim().min(1).max(50))
  .min(1)
  .max(20)
  .meta({ description: "Lead sources the campaign draws from, e.g. google_maps." });
const DailyLimit = z
  .number()
  .int()
  .min(1)
  .max(10_000)
  .meta({ description: "Most emails claimed per calendar day in the send window's time zone." });
const Filters = JsonObject.meta({
  description: "Lead selection filters, e.g. {industry: [...], country: [...]}.",
});

export const CreateCampaignBody = z
  .strictObject({
    name: CampaignName,
    source_types: SourceTypes,
    filters: Filters,
    daily_limit: DailyLimit,
    send_window: SendWindow,
    status: z.enum(["draft", "active", "paused"]).default("active"),
  })
  .meta({ id: "CreateCampaignBody" });

export const UpdateCampaignBody = z
  .strictObject({
    name: CampaignName.optional(),
    source_types: SourceTypes.optional(),
    filters: Filters.optional(),
    daily_limit: DailyLimit.optional(),
    send_window: SendWindow.optional(),
    status: z.enum(["draft", "active", "paused", "archived"]).optional().meta({
      description:
        "Allowed changes: draft → active, active ↔ paused, any → archived. Archived is final (409 afterwards).",
    }),
  })
  .refine((b) => Object.values(b).some((v) => v !== undefined), { message: "change at least one field" })
  .meta({ id: "UpdateCampaignBody" });

export const CampaignResponse = z
  .object({
    id: Uuid,
    name: z.string().nullable(),
    source_types: z.array(z.string()),
    filters: JsonObject.nullable(),
    daily_limit: z.number().int().nullable(),
    send_window: SendWindow.nullable(),
    status: z.enum(CAMPAIGN_STATUSES).nullable(),
    created_at: NullableTimestamp,
  })
  .meta({ id: "Campaign" });

export function campaignResponse(r: CampaignRow): z.input<typeof CampaignResponse> {
  return {
    id: r.id,
    name: r.name,
    source_types: r.source_types ?? [],
    filters: r.filters,
    daily_limit: r.daily_limit,
    send_window: r.send_window as SendWindow | null,
    status: r.status as z.input<typeof CampaignResponse>["status"],
    created_at: iso(r.created_at),
  };
}

export const DeleteCampaignResponse = z
  .object({
    id: Uuid,
    outcome: z.enum(["deleted", "archived"]).meta({
      description: "`archived` when sends, conversations, tests, meetings or deals refer to the campaign.",
    }),
  })
  .meta({ id: "DeleteCampaignResponse" });

export const SendingStatusResponse = z
  .object({
    campaign_id: Uuid,
    state: z.enum([
      "sending",
      "outside_window",
      "daily_limit_reached",
      "paused",
      "archived",
      "draft",
      "completed",
      "nothing_queued",
    ]),
    reason: z.string().meta({ description: "Why, in one sentence." }),
    queued: z.number().int().meta({
      description:
        "Emails waiting to be claimed (incl. expired leases), except those counted in `unsubscribed`.",
    }),
    unsubscribed: z
      .number()
      .int()
      .meta({
        description:
          "Claimable emails to leads who unsubscribed (an `unsubscribe` reply in any campaign): never sent; the next " +
          "claim marks them failed with last_error `lead unsubscribed`.",
      }),
    claimed_today: z.number().int(),
    daily_limit: z.number().int(),
    remaining_today: z.number().int(),
    local_time: z
      .string()
      .meta({ description: "Wall-clock time in the window's time zone.", example: "2026-11-25T09:30:00" }),
    window: SendWindow,
    window_open: z.boolean(),
    next_window_opens_at: NullableTimestamp.meta({
      description: "When claims resume, if the window is closed or today's limit is met.",
    }),
  })
  .meta({ id: "CampaignSendingStatus" });

export const ListCampaignsQuery = z.strictObject({
  ...PageQueryShape,
  status: z.enum(CAMPAIGN_STATUSES).optional(),
});

export const createCampaignRoute = defineRoute({
  method: "post",
  path: "/api/v2/campaigns",
  operationId: "createCampaign",
  summary: "Create a campaign",
  tags: ["Campaigns"],
  scope: "admin",
  body: CreateCampaignBody,
  response: { status: 201, description: "The created campaign.", schema: CampaignResponse },
  handler: async ({ body }, uow) => campaignResponse(await createCampaign(uow, body)),
});

export const listCampaignsRoute = defineRoute({
  method: "get",
  path: "/api/v2/campaigns",
  operationId: "listCampaigns",
  summary: "List campaigns (oldest first, cursor-paginated)",
  tags: ["Campaigns"],
  scope: "admin",
  query: ListCampaignsQuery,
  response: { status: 200, description: "A page of campaigns.", schema: Page(CampaignResponse) },
  handler: async ({ query }, { db }) => {
    const rows = await listCampaigns(db, { ...query, after: decodeCursor(query.cursor) });
    return toPage(
      rows,
      query.limit,
      (r) => ({ at: r.created_at ?? new Date(0), id: r.id }),
      campaignResponse,
    );
  },
});

export const getCampaignRoute = defineRoute({
  method: "get",
  path: "/api/v2/campaigns/{id}",
  operationId: "getCampaign",
  summary: "Get a campaign",
  tags: ["Campaigns"],
  scope: "admin",
  params: IdParams,
  response: { status: 200, description: "The campaign.", schema: CampaignResponse },
  errors: [404],
  handler: async ({ params }, { db }) => campaignResponse(await getCampaign(db, params.id)),
});

export const updateCampaignRoute = defineRoute({
  method: "patch",
  path: "/api/v2/campaigns/{id}",
  operationId: "updateCampaign",
  summary: "Change a campaign (partial)",
  description:
    "Only the fields sent change. Status changes follow draft → active, active ↔ paused, any → archived.",
  tags: ["Campaigns"],
  scope: "admin",
  params: IdParams,
  body: UpdateCampaignBody,
  response: { status: 200, description: "The campaign after the change.", schema: CampaignResponse },
  errors: [404, 409],
  handler: async ({ params, body }, uow) => campaignResponse(await updateCampaign(uow, params.id, body)),
});

export const deleteCampaignRoute = defineRoute({
  method: "delete",
  path: "/api/v2/campaigns/{id}",
  operationId: "deleteCampaign",
  summary: "Delete a campaign, or archive it when it has history",
  tags: ["Campaigns"],
  scope: "admin",
  params: IdParams,
  response: {
    status: 200,
    description: "Whether the campaign was deleted or archived.",
    schema: DeleteCampaignResponse,
  },
  errors: [404],
  handler: async ({ params }, uow) => deleteCampaign(uow, params.id),
});

export const getCampaignSendingStatusRoute = defineRoute({
  method: "get",
  path: "/api/v2/campaigns/{id}/sending-status",
  operationId: "getCampaignSendingStatus",
  summary: "Whether the campaign is sending right now, and why not",
  description:
    "Evaluated at the request time against the campaign's status, queue, send window and daily limit (counted per " +
    "calendar day in the window's time zone).",
  tags: ["Campaigns"],
  scope: "sender",
  params: IdParams,
  response: { status: 200, description: "The campaign's sending state.", schema: SendingStatusResponse },
  errors: [404],
  handler: async ({ params }, { db, now }) => {
    const s = await getSendingStatus(db, params.id, now);
    return { ...s, next_window_opens_at: iso(s.next_window_opens_at) };
  },
});

export const campaignRoutes = [
  createCampaignRoute,
  listCampaignsRoute,
  getCampaignRoute,
  updateCampaignRoute,
  deleteCampaignRoute,
  getCampaignSendingStatusRoute,
];
