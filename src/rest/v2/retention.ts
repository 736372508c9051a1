import { z } from "zod";
import {
  type AssetKind,
  type CaseStudyRow,
  extendLeadRetention,
  setCaseStudy,
} from "../../domain/retention.js";
import { requestNow } from "../request-clock.js";
import { defineRoute } from "../route.js";
import { IdParams, iso, NullableTimestamp, Timestamp, TimestampInput, Uuid } from "../schemas.js";

/**
 * Admin levers on the retention policy (spec §8, README "Retention policy"): the case-study flag that keeps a demo
 * site or video from being archived, and a lead's retention extension.
 */
export const CaseStudyBody = z
  .strictObject({
    is_case_study: z.boolean().meta({
      description: "true: never archived by retention; false: archived once older than the asset retention.",
    }),
  })
  .meta({ id: "CaseStudyBody" });

export const CaseStudyResponse = z
  .object({
    id: Uuid,
    kind: z.enum(["demo_site", "video"]),
    lead_id: Uuid.nullable(),
    is_case_study: z.boolean(),
    status: z.string().nullable(),
    archived_at: NullableTimestamp.meta({
      description: "Set when retention archived it; flagging an archived asset does not bring its file back.",
    }),
  })
  .meta({ id: "CaseStudy" });

function caseStudyResponse(kind: AssetKind, r: CaseStudyRow): z.input<typeof CaseStudyResponse> {
  return {
    id: r.id,
    kind,
    lead_id: r.lead_id,
    is_case_study: r.is_case_study,
    status: r.status,
    archived_at: iso(r.archived_at),
  };
}

const caseStudyRoute = (
  kind: AssetKind,
  spec: { path: string; operationId: string; noun: string; tag: string },
) =>
  defineRoute({
    method: "put",
    path: spec.path,
    operationId: spec.operationId,
    summary: `Flag or unflag a ${spec.noun} as a case study (admin)`,
    description:
      `A case study is kept as it is: retention does not archive it after the asset retention (6 months by ` +
      `default) nor emit \`asset.archived\` for it. Unflagged, an old ${spec.noun} is archived by the next run. ` +
      "Audited. 404 for an unknown id or one of an erased lead.",
    tags: [spec.tag],
    scope: "admin",
    params: IdParams,
    body: CaseStudyBody,
    response: { status: 200, description: `The ${spec.noun} after the change.`, schema: CaseStudyResponse },
    errors: [404],
    handler: async ({ params, body }, uow) =>
      caseStudyResponse(kind, await setCaseStudy(uow, kind, params.id, body.is_case_study)),
  });

export const setDemoCaseStudyRoute = caseStudyRoute("demo_site", {
  path: "/api/v2/demos/{id}/case-study",
  operationId: "setDemoCaseStudy",
  noun: "demo site",
  tag: "Demos",
});

export const setVideoCaseStudyRoute = caseStudyRoute("video", {
  path: "/api/v2/videos/{id}/case-study",
  operationId: "setVideoCaseStudy",
  noun: "video",
  tag: "Videos",
});

export const ExtendLeadRetentionBody = z
  .strictObject({
    extended_until: TimestampInput.refine(
      (d) => d.getTime() > requestNow().getTime(),
      "must be in the future",
    ).meta({
      description:
        "ISO 8601 date-time with an offset, in the future (422 otherwise). The lead is kept at least until then, " +
        "however long it has been idle; it replaces an earlier extension.",
      example: "2027-12-31T00:00:00Z",
    }),
  })
  .meta({ id: "ExtendLeadRetentionBody" });

export const LeadRetentionResponse = z
  .object({ id: Uuid, retention_extended_until: Timestamp })
  .meta({ id: "LeadRetention" });

export const extendLeadRetentionRoute = defineRoute({
  method: "put",
  path: "/api/v2/leads/{id}/retention",
  operationId: "extendLeadRetention",
  summary: "Extend how long a lead is kept (admin)",
  description:
    "Retention erases a lead idle for the lead retention (18 months by default: no email, reply, meeting, deal or " +
    "update of its own) unless `retention_extended_until` lies ahead. Not activity itself: the lead's idle clock " +
    "is unchanged. Audited. 404 for an unknown or erased lead.",
  tags: ["Leads"],
  scope: "admin",
  params: IdParams,
  body: ExtendLeadRetentionBody,
  response: {
    status: 200,
    description: "The lead's retention after the change.",
    schema: LeadRetentionResponse,
  },
  errors: [404],
  handler: async ({ params, body }, uow) => {
    const r = await extendLeadRetention(uow, params.id, body.extended_until);
    return { id: r.id, retention_extended_until: iso(r.retention_extended_until) };
  },
});

export const retentionRoutes = [setDemoCaseStudyRoute, setVideoCaseStudyRoute, extendLeadRetentionRoute];
