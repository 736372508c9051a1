import { readFile } from "node:fs/promises";
import {
  buildClientSchema,
  buildSchema,
  type GraphQLSchema,
  getIntrospectionQuery,
  type IntrospectionQuery,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
} from "graphql";
import { describe, expect, it } from "vitest";
import { printedSchema } from "../../src/graphql/schema/index.js";
import { startApi } from "../support/api.js";

/**
 * Names that could carry personal data (spec §5, issue 4): emails, person or company names, phone numbers, message
 * subjects and bodies, tracking tokens, raw URLs, addresses. Matched against every type, field, argument, input
 * field and enum value name of the live schema.
 */
const PII = [
  /(^|[a-z])e-?mail(_?address)?$/i,
  /phone|mobile|fax/i,
  /subject|body|message|content|script|transcript|snippet/i,
  /token|secret|password|api_?key|hash/i,
  /url|uri|link|href|domain|website|host/i,
  /address|street|city|postal|zip|ip_?addr|user_?agent/i,
  /first_?name|last_?name|full_?name|contact|person|company|owner|sender|recipient/i,
  /^lead$|leadId|lead_id/i,
];
/** `name` is allowed only where it is the team's own label (a campaign, a test), never a person or a company. */
const NAME_ALLOWED_ON = new Set(["Campaign", "AbTest"]);

function piiFindings(schema: GraphQLSchema): string[] {
  const found: string[] = [];
  const check = (where: string, name: string) => {
    for (const re of PII) if (re.test(name)) found.push(`${where} matches ${re}`);
  };
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith("__")) continue;
    check(`type ${type.name}`, type.name);
    if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        check(`${type.name}.${field.name}`, field.name);
        if (field.name === "name" && !NAME_ALLOWED_ON.has(type.name))
          found.push(`${type.name}.name is a name`);
        if ("args" in field)
          for (const arg of field.args) check(`${type.name}.${field.name}(${arg.name})`, arg.name);
      }
    }
    if (isEnumType(type)) for (const v of type.getValues()) check(`${type.name}.${v.name}`, v.name);
  }
  return found;
}

describe("the GraphQL schema", () => {
  it("schema.graphql is the printed schema (run `npm run graphql:schema` after changing it)", async () => {
    const committed = await readFile(new URL("../../schema.graphql", import.meta.url), "utf8");
    expect(committed).toBe(printedSchema());
  });

  it("is read-only: no Mutation and no Subscription type, live or printed", async () => {
    const api = await startApi();
    const res = await api.graphql("{ __schema { mutationType { name } subscriptionType { name } } }");
    expect(res.body.data.__schema).toEqual({ mutationType: null, subscriptionType: null });
    expect(printedSchema()).not.toMatch(/\btype (Mutation|Subscription)\b/);
    const attempt = await api.graphql('mutation { refresh(id: "x") }');
    expect(attempt.status).toBe(400);
    expect(attempt.body.errors[0].message).toMatch(/mutation/i);
  });

  it("exposes no field, argument or type that could carry PII (walks the introspected schema)", async () => {
    const api = await startApi();
    const res = await api.graphql(getIntrospectionQuery());
    expect(res.body.errors).toBeUndefined();
    const live = buildClientSchema(res.body.data as IntrospectionQuery);
    expect(Object.keys(live.getQueryType()?.getFields() ?? {}).sort()).toEqual([
      "abTests",
      "campaign",
      "campaigns",
      "lineage",
      "modelLeaderboard",
      "modelOutcomes",
      "overview",
      "replyClassifiers",
    ]);
    expect(piiFindings(live)).toEqual([]);
  });

  it("the PII check catches what it is there to catch", () => {
    const leaky = buildSchema(`type Query { leads: [Lead!]! campaign: Campaign }
      type Lead { id: ID! contactEmail: String companyName: String name: String }
      type Campaign { name: String trackingToken: String demoUrl: String }`);
    const found = piiFindings(leaky);
    for (const f of [
      "type Lead",
      "Lead.contactEmail",
      "Lead.companyName",
      "Lead.name is a name",
      "Campaign.trackingToken",
      "Campaign.demoUrl",
    ])
      expect(found.some((x) => x.startsWith(f))).toBe(true);
    expect(found.some((x) => x.startsWith("Campaign.name"))).toBe(false);
  });
});
