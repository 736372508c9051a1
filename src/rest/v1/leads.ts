import { z } from "zod";
import { ingestLeads } from "../../domain/leads.js";
import { defineRoute } from "../route.js";
import { Uuid } from "../schemas.js";
import { getLeadRoute, LeadInput, listLeadsRoute } from "../v2/leads.js";
import { v1Alias, v1Deprecation } from "./deprecation.js";

/**
 * v1 lead endpoints (spec §3.1) on the same data as v2. v1 created one lead per request; it now upserts through
 * the same natural key as v2's batch ingest, so a v1 client and a v2 client never create duplicates of each other.
 */
export const CreateLeadV1Response = z
  .object({ id: Uuid, outcome: z.enum(["created", "updated"]) })
  .meta({ id: "CreateLeadV1Response" });

const createLeadV1Route = defineRoute({
  method: "post",
  path: "/api/v1/leads",
  operationId: "createLeadV1",
  summary: "Create or update one lead (deprecated: use POST /api/v2/leads)",
  tags: ["v1 (deprecated)"],
  scope: "ingest",
  body: LeadInput,
  response: {
    status: 200,
    description: "The lead's id and whether it was created.",
    schema: CreateLeadV1Response,
  },
  deprecated: v1Deprecation("/api/v2/leads"),
  handler: async ({ body }, uow) => {
    const [result] = await ingestLeads(uow, { leads: [body] });
    if (!result) throw new Error("ingest returned no result for one lead");
    return { id: result.id, outcome: result.outcome };
  },
});

export const leadV1Routes = [
  createLeadV1Route,
  v1Alias(listLeadsRoute, "/api/v1/leads"),
  v1Alias(getLeadRoute, "/api/v1/leads/{id}"),
];
