import { readFileSync } from "node:fs";
import {
  buildSchema,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  getNamedType,
  isObjectType,
  isRequiredArgument,
} from "graphql";
import { describe, expect, inject, it } from "vitest";
import { refreshViews } from "../../src/analytics/refresh-views.js";
import { decryptField } from "../../src/compliance/field-encryption.js";
import { migrate } from "../../src/db/migrate.js";
import { waitForReplica } from "../../src/db/replication.js";
import { TASK_TYPES } from "../../src/seed/catalog.js";
import { seedDemoData } from "../../src/seed/seed-demo-data.js";
import { startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { dumpDatabase, dumpInSql, needleForms } from "../support/dump.js";
import { withDatabase } from "../support/urls.js";

// A seeded pipeline of its own (scrape → analysis → demo → video → emails opened, clicked, replied → positive
// replies → meetings → won deals → AI-GYM rows) over 150 days, most of them closed (before the rollup horizon).
const { url, pool } = await scratchDatabase();
await migrate(url, { logger });

// ---- the lead to erase: one with every stage of the pipeline, starting on closed days ----

const WHOLE_PIPELINE_LEAD = `SELECT l.id FROM leads l, rollup_horizon h
    WHERE l.created_at < h.horizon
      AND EXISTS (SELECT 1 FROM website_analyses a WHERE a.lead_id = l.id AND a.status = 'completed')
      AND EXISTS (SELECT 1 FROM demo_sites d WHERE d.lead_id = l.id AND d.status = 'deployed')
      AND EXISTS (SELECT 1 FROM videos v WHERE v.lead_id = l.id AND v.status = 'ready')
      AND EXISTS (SELECT 1 FROM email_sends e WHERE e.lead_id = l.id AND e.opened_at IS NOT NULL
                     AND e.clicked_at IS NOT NULL AND e.replied_at IS NOT NULL)
      AND EXISTS (SELECT 1 FROM conversations c JOIN conversation_messages m ON m.conversation_id = c.id
                   WHERE c.lead_id = l.id AND m.direction = 'inbound' AND m.sentiment = 'positive')
      AND EXISTS (SELECT 1 FROM meetings m WHERE m.lead_id = l.id)
      AND EXISTS (SELECT 1 FROM deals d WHERE d.lead_id = l.id AND d.status = 'won')
      AND EXISTS (SELECT 1 FROM ai_gym_performance g WHERE g.lead_id = l.id)
    ORDER BY l.created_at LIMIT 1`;

// The dataset is anchored at the start of the current UTC day, so which leads reach a won deal moves from day to
// day; with 400 leads, a day can have none that went through every stage. The first seed that has one is used.
let found: string | undefined;
for (const seed of [29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101, 103, 107, 109]) {
  await seedDemoData(pool, { leads: 400, seed, spanDays: 150, reset: true });
  await refreshViews(pool, "test");
  found = (await pool.query<{ id: string }>(WHOLE_PIPELINE_LEAD)).rows[0]?.id;
  if (found) break;
}
const leadId = found as string;

const replicaUrl = inject("replicaUrl")
  ? withDatabase(inject("replicaUrl") as string, new URL(url).pathname.slice(1))
  : undefined;
// Whole-schema selections are far bigger than a dashboard's query: lift the limits for this test only.
const api = await startApi({
  databaseUrl: url,
  replicaUrl,
  analyticsCacheEntries: 0,
  graphql: { maxTokens: 100_000, maxCost: 10_000_000, maxAliases: 100, maxDepth: 20 },
});
const settle = async () => {
  if (api.db.replica) await waitForReplica(api.db.primary, api.db.replica);
};
const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await pool.query(sql, params)).rows as T[];

const [span] = await q<{ from: string; to: string }>(
  `SELECT (min(created_at)::date - 1)::text AS from, (now()::date + 1)::text AS to FROM leads`,
);
const FROM = span?.from as string;
const TO = span?.to as string;

// ---- every analytics answer, REST and GraphQL ----

/** Every field of a type that takes no required argument, recursively, skipping times that move with a refresh. */
function selection(schema: GraphQLSchema, type: GraphQLNamedType, path: string[] = []): string {
  if (!isObjectType(type)) return "";
  const fields = Object.values(type.getFields()).filter(
    (f: GraphQLField<unknown, unknown>) =>
      !["asOf", "generatedAt"].includes(f.name) && !f.args.some(isRequiredArgument),
  );
  return `{ ${fields
    .flatMap((f) => {
      const inner = getNamedType(f.type);
      if (!isObjectType(inner)) return [f.name];
      if (path.includes(inner.name) || path.length > 6) return [];
      const args = f.args.some((a) => a.name === "from") ? "(from: $from, to: $to)" : "";
      return [`${f.name}${args} ${selection(schema, inner, [...path, type.name])}`];
    })
    .join(" ")} }`;
}

const schema = buildSchema(readFileSync("schema.graphql", "utf8"));
const sel = (name: string) => selection(schema, schema.getType(name) as GraphQLNamedType);
const taskTypes = Object.keys(TASK_TYPES);
const GRAPHQL_ANSWERS = `query Everything($from: Date!, $to: Date!) {
  day: overview(from: $from, to: $to, granularity: DAY) ${sel("Overview")}
  week: overview(from: $from, to: $to, granularity: WEEK, timeZone: "America/New_York") ${sel("Overview")}
  month: overview(from: $from, to: $to, granularity: MONTH, timeZone: "Asia/Kolkata") ${sel("Overview")}
  campaigns(first: 100) ${sel("CampaignConnection")}
  abTests ${sel("AbTest")}
  ${taskTypes
    .map(
      (t, i) =>
        `lb${i}: modelLeaderboard(taskType: "${t}", period: "365d", minSamples: 1) ${sel("ModelLeaderboard")}`,
    )
    .join("\n  ")}
}`;

/** Drops what moves with every refresh or request, not with the data. */
function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k]) => !["generated_at", "as_of", "asOf", "generatedAt", "meta"].includes(k))
        // A rolling period ends at asOf, which each refresh moves.
        .filter(([k, v]) => !(k === "period" && v && typeof v === "object" && "days" in v))
        .map(([k, v]) => [k, stable(v)]),
    );
  }
  return value;
}

async function everyAnswer(): Promise<Record<string, unknown>> {
  await settle();
  const answers: Record<string, unknown> = {};
  const get = async (path: string) => {
    const res = await api.request("GET", path);
    expect(res.status, `${path}: ${res.text}`).toBe(200);
    answers[path] = stable(res.body);
  };
  for (const tz of ["UTC", "Europe/Berlin"]) {
    for (const granularity of ["day", "week", "month"]) {
      await get(`/api/v2/analytics/overview?from=${FROM}&to=${TO}&granularity=${granularity}&timezone=${tz}`);
    }
  }
  for (const t of taskTypes) {
    for (const order of ["avg_quality", "avg_cost", "conversion_rate", "usage_count"]) {
      await get(`/api/v2/analytics/models?task_type=${t}&period=365d&order_by=${order}`);
    }
  }
  for (const c of await q<{ id: string }>("SELECT id FROM campaigns ORDER BY id")) {
    await get(`/api/v2/campaigns/${c.id}`);
  }
  for (const t of await q<{ id: string }>("SELECT id FROM ab_tests ORDER BY id")) {
    await get(`/api/v2/ab-tests/${t.id}`);
  }
  const gql = await api.graphql(GRAPHQL_ANSWERS, { from: FROM, to: TO });
  expect(gql.body.errors, JSON.stringify(gql.body.errors)).toBeUndefined();
  answers.graphql = stable(gql.body.data);
  return answers;
}

/**
 * The lead's PII as stored before erasure (contact fields decrypted), each value only if no other lead's rows hold it
 * too (subjects shared by an A/B variant, say, are not this lead's to erase).
 */
async function piiOf(id: string): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  const add = (label: string, v: unknown) => {
    if (typeof v === "string" && v.length >= 6 && !values.has(v)) values.set(v, label);
  };
  const [lead] = await q(
    `SELECT company_name, website, domain, contact_name, contact_email, contact_phone, consent_proof_url
       FROM leads WHERE id = $1`,
    [id],
  );
  for (const [k, v] of Object.entries(lead ?? {})) {
    add(`leads.${k}`, k.startsWith("contact_") && k !== "contact_title" ? decryptField(v as string) : v);
  }
  const byLead = (t: string) => `${t}.lead_id = $1`;
  const byConversation = (t: string) =>
    `${t}.conversation_id IN (SELECT id FROM conversations WHERE lead_id = $1)`;
  const columns: [string, string, (alias: string) => string][] = [
    ["demo_sites", "deployment_url", byLead],
    ["videos", "video_url", byLead],
    ["email_sends", "subject_variant", byLead],
    ["email_sends", "body", byLead],
    ["email_sends", "demo_url", byLead],
    ["email_sends", "video_url", byLead],
    ["conversation_messages", "from_email", byConversation],
    ["conversation_messages", "to_email", byConversation],
    ["conversation_messages", "subject", byConversation],
    ["conversation_messages", "body", byConversation],
  ];
  for (const [table, column, mine] of columns) {
    const rows = await q<{ v: string }>(
      `SELECT DISTINCT t.${column} AS v FROM ${table} t
        WHERE ${mine("t")} AND t.${column} IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM ${table} o WHERE o.${column} = t.${column} AND NOT (${mine("o")}))`,
      [id],
    );
    for (const r of rows) add(`${table}.${column}`, r.v);
  }
  // A company name or a city can be shared by chance: only this lead's are searched for.
  for (const [v, label] of [...values]) {
    if (label === "leads.company_name") {
      const [n] = await q<{ n: number }>("SELECT count(*)::int AS n FROM leads WHERE company_name = $1", [v]);
      if ((n?.n ?? 0) > 1) values.delete(v);
    }
  }
  return values;
}

describe("erasure keeps every metric (issue 12)", () => {
  it("finds a lead with the whole pipeline on closed days", () => {
    expect(leadId).toBeTypeOf("string");
  });

  it("keeps raw emails out of every rollup, view and analytics answer (analytics use the keyed token)", async () => {
    const emails = new Set<string>();
    for (const r of await q<{ e: string | null }>("SELECT contact_email AS e FROM leads")) {
      const e = decryptField(r.e);
      if (e) emails.add(e);
    }
    for (const r of await q<{ e: string }>(
      "SELECT from_email AS e FROM conversation_messages WHERE from_email IS NOT NULL UNION SELECT to_email FROM conversation_messages WHERE to_email IS NOT NULL",
    )) {
      emails.add(r.e);
    }
    expect(emails.size).toBeGreaterThan(100);
    // The read side: every materialized view, closed rollup table and plain view of the public schema.
    const relations = await q<{ name: string }>(
      `SELECT format('%I', c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relname <> 'email_send_outcomes'
          AND (c.relkind IN ('m', 'v') OR (c.relkind = 'r' AND (c.relname LIKE '%_closed' OR c.relname LIKE '%snapshot%')))`,
    );
    expect(relations.length).toBeGreaterThan(10);
    let text = "";
    for (const { name } of relations) {
      const [row] = await q<{ t: string | null }>(`SELECT string_agg(t::text, E'\n') AS t FROM ${name} t`);
      text += row?.t ?? "";
    }
    text += JSON.stringify(await everyAnswer());
    expect(text.length).toBeGreaterThan(10_000);
    const leaked = [...emails].filter((e) => text.includes(e));
    expect(leaked).toEqual([]);
    expect(text).not.toMatch(/[\w.+-]+@[\w-]+\.[a-z]{2,}/i);
  });

  it("leaves every analytics answer unchanged: after erasure, after a refresh and after a full recount", async () => {
    const pii = await piiOf(leadId);
    expect([...pii.values()]).toEqual(
      expect.arrayContaining([
        "leads.domain",
        "leads.contact_email",
        "leads.contact_name",
        "demo_sites.deployment_url",
        "videos.video_url",
      ]),
    );
    // A stored idempotent response that quotes the lead.
    const replay = await api.request("POST", "/api/v2/conversations", {
      body: { lead_id: leadId },
      headers: { "idempotency-key": `erase-metrics-${leadId}` },
    });
    expect(replay.status, replay.text).toBe(201);
    await refreshViews(pool, "test");
    const before = await everyAnswer();

    const erased = await api.request("DELETE", `/api/v2/leads/${leadId}`);
    expect(erased.status, erased.text).toBe(200);
    expect(erased.body.erased).toMatchObject({ leads: 1, suppressions: 2 });
    expect(erased.body.erased.email_sends).toBeGreaterThan(0);
    expect(await everyAnswer(), "right after erasure").toEqual(before);

    await refreshViews(pool, "test");
    expect(await everyAnswer(), "after a refresh").toEqual(before);

    // Every closed day recounted from the base tables, as after a TRUNCATE.
    await q("INSERT INTO rollup_dirty_days (day) VALUES ('-infinity')");
    await refreshViews(pool, "test");
    expect(await everyAnswer(), "after a full recount of the closed days").toEqual(before);

    // No PII of the lead remains anywhere: primary (pg_dump when it can) and replica.
    await settle();
    const dumps = [await dumpDatabase(url, pool)];
    if (api.db.replica) dumps.push({ text: await dumpInSql(api.db.replica), via: "replica, SQL" });
    for (const dump of dumps) {
      expect(dump.text, dump.via).toContain(leadId); // the tombstone is there: the search is not vacuous
      for (const [value, label] of pii) {
        for (const form of needleForms(value)) {
          expect(dump.text.includes(form), `${label} ${JSON.stringify(value)} in the ${dump.via} dump`).toBe(
            false,
          );
        }
      }
    }
  });
});
