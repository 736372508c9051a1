import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { migrate } from "../src/db/migrate.js";
import { type DmmfDatamodel, diffShapes, shapeFromDatabase, shapeFromDmmf } from "../src/db/schema-drift.js";
import { logger, primaryPool, scratchDatabase } from "./support/db.js";

const loadDmmf = async (): Promise<DmmfDatamodel> =>
  JSON.parse(await readFile(new URL("../src/generated/dmmf.json", import.meta.url), "utf8")) as DmmfDatamodel;

describe("prisma/schema.prisma mirrors the migrated database", () => {
  it("agrees on every table, column, type, nullability, default, primary and foreign key", async () => {
    const diff = diffShapes(shapeFromDmmf(await loadDmmf()), await shapeFromDatabase(primaryPool()));
    expect(diff).toEqual([]);
  });

  it("covers every table of the contract", async () => {
    const tables = Object.keys(shapeFromDmmf(await loadDmmf()).tables);
    for (const t of [
      "leads",
      "website_analyses",
      "demo_sites",
      "videos",
      "campaigns",
      "email_sends",
      "conversations",
      "conversation_messages",
      "ai_gym_performance",
      "ab_tests",
      "audit_log",
      "scraping_jobs",
      "meetings",
      "deals",
    ]) {
      expect(tables).toContain(t);
    }
  });

  it("reports a column renamed in schema.prisma", async () => {
    const dmmf = await loadDmmf();
    const demo = dmmf.models.find((m) => m.dbName === "demo_sites");
    const field = demo?.fields.find((f) => f.name === "deploymentUrl");
    if (!field) throw new Error("fixture: demo_sites.deployment_url not in the DMMF");
    field.dbName = "deploy_url";
    const diff = diffShapes(shapeFromDmmf(dmmf), await shapeFromDatabase(primaryPool()));
    expect(diff).toEqual([
      "demo_sites.deploy_url: in schema.prisma, not in the database",
      "demo_sites.deployment_url: in the database, not in schema.prisma",
    ]);
  });

  it("reports a column renamed, retyped or loosened in the database", async () => {
    const { url, pool } = await scratchDatabase();
    await migrate(url, { logger });
    await pool.query("ALTER TABLE videos RENAME COLUMN video_url TO url");
    await pool.query("ALTER TABLE campaigns ALTER COLUMN daily_limit SET DEFAULT 50");
    await pool.query("ALTER TABLE leads ALTER COLUMN company_name DROP NOT NULL");
    await pool.query("ALTER TABLE ab_tests ALTER COLUMN name TYPE varchar(100)");
    const diff = diffShapes(shapeFromDmmf(await loadDmmf()), await shapeFromDatabase(pool));
    expect(diff).toEqual(
      expect.arrayContaining([
        "videos.video_url: in schema.prisma, not in the database",
        "videos.url: in the database, not in schema.prisma",
        "campaigns.daily_limit: default 100 in schema.prisma, 50 in the database",
        "leads.company_name: NOT NULL in schema.prisma, nullable in the database",
        "ab_tests.name: type character varying(255) in schema.prisma, character varying(100) in the database",
      ]),
    );
    expect(diff).toHaveLength(5);
  });

  it("covers every view of the read side, and each rollup's open and closed tables with their keys", async () => {
    const shape = await shapeFromDatabase(primaryPool());
    const views = Object.entries(shape.tables).filter(([, t]) => t.kind === "view");
    const rollups = [
      "ab_variant_results",
      "ai_gym_15m",
      "ai_gym_costs_daily",
      "ai_gym_daily",
      "ai_gym_durations_daily",
      "campaign_kpis_15m",
      "campaign_revenue_15m",
      "outreach_kpis_15m",
      "platform_kpis_15m",
    ];
    const open = rollups.map((r) => (r === "ab_variant_results" ? "ab_variant_daily_open" : `${r}_open`));
    expect(views.map(([name]) => name).sort()).toEqual([...rollups, "email_send_outcomes"].sort());
    // Since migration 0024 the open parts are tables the fold keeps exact, keyed as the closed ones.
    for (const name of open) expect(shape.tables[name]?.kind, name).toBe("table");
    for (const name of open)
      expect(shape.tables[name]?.primaryKey, name).toEqual(
        shape.tables[name.replace(/_open$/, "_closed")]?.primaryKey,
      );
    for (const name of rollups)
      expect(
        shape.tables[name.replace("ab_variant_results", "ab_variant_daily").concat("_closed")]?.kind,
        name,
      ).toBe("table");
  });

  it("reports a rollup column retyped in schema.prisma and an open table's key that differs", async () => {
    const dmmf = await loadDmmf();
    const daily = dmmf.models.find((m) => m.dbName === "ai_gym_daily_open");
    const field = daily?.fields.find((f) => f.name === "usageCount");
    if (!daily || !field) throw new Error("fixture: ai_gym_daily_open.usage_count not in the DMMF");
    field.type = "BigInt";
    daily.primaryKey = { fields: ["taskType", "day"] };
    const diff = diffShapes(shapeFromDmmf(dmmf), await shapeFromDatabase(primaryPool()));
    expect(diff).toEqual([
      "ai_gym_daily_open.usage_count: type bigint in schema.prisma, integer in the database",
      "ai_gym_daily_open: primary key (day,task_type) in schema.prisma, (day,model_name,task_type) in the database",
    ]);
  });
});
