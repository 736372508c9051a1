import { readdir, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { primaryPool } from "./support/db.js";

const VIEWS_DIR = new URL("../views/", import.meta.url);

/**
 * views/*.sql in the order they build on each other: plain views first (the rollups read them), then the rollup
 * machinery (rollup_define) and the mark functions, then the rollups' declarations.
 */
async function viewFiles(): Promise<{ name: string; sql: string }[]> {
  const names = (await readdir(VIEWS_DIR)).filter((f) => f.endsWith(".sql")).sort();
  const files = await Promise.all(
    names.map(async (f) => ({
      name: f.replace(/\.sql$/, ""),
      sql: await readFile(new URL(f, VIEWS_DIR), "utf8"),
    })),
  );
  const machinery = ["rollup-machinery", "rollup-marks"];
  const rank = (f: { name: string; sql: string }) =>
    machinery.includes(f.name)
      ? 1 + machinery.indexOf(f.name)
      : /^(CREATE (FUNCTION|TABLE|MATERIALIZED|PROCEDURE)|CALL)/m.test(f.sql)
        ? 3
        : 0;
  return files.sort((a, b) => rank(a) - rank(b));
}

type Described = Record<string, { kind: string; definition: string; columns: string[]; indexes: string[] }>;

/**
 * The objects of one schema as the files can create them: views and materialized views (definition), tables
 * (columns), their indexes, SQL functions and the rollup machinery's functions and procedures (`rollup_*`, full
 * definition), and the rows of the rollup registry (`rollups`, `rollup_marks`: what rollup_define recorded);
 * names without the schema.
 */
async function describeSchema(client: import("pg").PoolClient, schema: string): Promise<Described> {
  const strip = (text: string) => text.replaceAll(`${schema}.`, "");
  const relations = await client.query<{
    name: string;
    kind: string;
    definition: string | null;
    columns: string[];
    indexes: string[];
  }>(
    `SELECT c.relname AS name, c.relkind::text AS kind,
            CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS definition,
            ARRAY(SELECT a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                    FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                   ORDER BY a.attnum)::text[] AS columns,
            ARRAY(SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = c.oid ORDER BY 1)::text[]
              AS indexes
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'v', 'm') AND NOT c.relispartition`,
    [schema],
  );
  const functions = await client.query<{ name: string; definition: string }>(
    `SELECT p.proname AS name, pg_get_functiondef(p.oid) AS definition
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = $1
        AND ((p.prokind = 'f' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql'))
             OR (p.prokind IN ('f', 'p') AND p.proname LIKE 'rollup\\_%'))`,
    [schema],
  );
  const registry = await client.query<{ name: string; rows: string[] }>(
    `SELECT 'rollups' AS name,
            ARRAY(SELECT concat_ws(' ', rollup, parts, bucket, key_column) FROM ${schema}.rollups ORDER BY 1) AS rows
     UNION ALL
     SELECT 'rollup_marks',
            ARRAY(SELECT concat_ws(' ', rollup, source, at_column, key_column) FROM ${schema}.rollup_marks ORDER BY 1)`,
  );
  const out: Described = {};
  for (const r of relations.rows)
    out[r.name] = {
      kind: r.kind,
      definition: strip(r.definition ?? ""),
      columns: r.columns,
      indexes: r.indexes.map(strip),
    };
  for (const f of functions.rows)
    out[f.name] = { kind: "function", definition: strip(f.definition), columns: [], indexes: [] };
  for (const r of registry.rows)
    out[`${r.name} rows`] = { kind: "registry", definition: r.rows.join("\n"), columns: [], indexes: [] };
  return out;
}

/**
 * The rollup mark triggers on the base tables, by name: those whose function lives in `schema` (the files' mark
 * functions, in the candidate schema) or, for the public schema, whose function is a `rollup_*` one.
 */
async function markTriggers(
  client: import("pg").PoolClient,
  schema: string,
): Promise<Record<string, string>> {
  const { rows } = await client.query<{ name: string; definition: string }>(
    `SELECT c.relname || '.' || t.tgname AS name, pg_get_triggerdef(t.oid) AS definition
       FROM pg_trigger t
       JOIN pg_class c ON c.oid = t.tgrelid
       JOIN pg_proc p ON p.oid = t.tgfoid
       JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE NOT t.tgisinternal AND t.tgparentid = 0 AND n.nspname = $1 AND p.proname LIKE 'rollup\\_%'
      ORDER BY 1`,
    [schema],
  );
  // The base tables print qualified or not depending on search_path: compare them unqualified.
  const strip = (text: string) => text.replaceAll(`${schema}.`, "").replaceAll("public.", "");
  return Object.fromEntries(rows.map((r) => [r.name, strip(r.definition)]));
}

describe("views/*.sql is what the migrations applied", () => {
  it("every view, rollup table and rollup function in the database has its file's definition and indexes", async () => {
    const files = await viewFiles();
    const client = await primaryPool().connect();
    try {
      await client.query("BEGIN");
      // What the migrations applied, before the files replace the mark triggers on the base tables (rolled back).
      await client.query("SET LOCAL search_path = public");
      const applied = await describeSchema(client, "public");
      const appliedTriggers = await markTriggers(client, "public");
      await client.query("CREATE SCHEMA views_candidate");
      // Unqualified names: the files' objects land in views_candidate and read the tables of public; their mark
      // triggers replace those of the base tables, calling the candidate mark functions.
      await client.query("SET LOCAL search_path = views_candidate, public");
      for (const f of files) await client.query(f.sql);
      const candidate = await describeSchema(client, "views_candidate");
      const candidateTriggers = await markTriggers(client, "views_candidate");
      // Every file's object exists as the file says…
      for (const [name, object] of Object.entries(candidate)) expect(applied[name], name).toEqual(object);
      // …and every view, materialized view and SQL function of the database comes from a file.
      const fromFiles = (d: Described) =>
        Object.entries(d)
          .filter(([, o]) => o.kind === "v" || o.kind === "m" || o.kind === "function")
          .map(([name]) => name)
          .sort();
      expect(fromFiles(applied)).toEqual(fromFiles(candidate));
      expect(Object.keys(candidate)).toContain("campaign_kpis_15m_closed");
      // The mark triggers: each one the files make exists with the file's definition, and none other.
      expect(appliedTriggers).toEqual(candidateTriggers);
      expect(Object.keys(candidateTriggers)).toContain("email_sends.email_sends_rollup_updated");
      expect(Object.keys(candidateTriggers)).toContain("leads.leads_rollup_inserted");
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});
