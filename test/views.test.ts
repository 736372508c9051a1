import { readdir, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { primaryPool } from "./support/db.js";

const VIEWS_DIR = new URL("../views/", import.meta.url);

/** views/*.sql, plain views first (the rollups read them). */
async function viewFiles(): Promise<{ name: string; sql: string }[]> {
  const names = (await readdir(VIEWS_DIR)).filter((f) => f.endsWith(".sql")).sort();
  const files = await Promise.all(
    names.map(async (f) => ({
      name: f.replace(/\.sql$/, ""),
      sql: await readFile(new URL(f, VIEWS_DIR), "utf8"),
    })),
  );
  const plain = (f: { sql: string }) => (/^CREATE (FUNCTION|TABLE|MATERIALIZED)/m.test(f.sql) ? 1 : 0);
  return files.sort((a, b) => plain(a) - plain(b));
}

type Described = Record<string, { kind: string; definition: string; columns: string[]; indexes: string[] }>;

/**
 * The objects of one schema as the files can create them: views and materialized views (definition), tables
 * (columns), their indexes, and SQL functions (full definition); names without the schema.
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
      WHERE n.nspname = $1 AND p.prokind = 'f' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'sql')`,
    [schema],
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
  return out;
}

describe("views/*.sql is what the migrations applied", () => {
  it("every view, rollup table and rollup function in the database has its file's definition and indexes", async () => {
    const files = await viewFiles();
    const client = await primaryPool().connect();
    try {
      await client.query("BEGIN");
      await client.query("CREATE SCHEMA views_candidate");
      // Unqualified names: the files' objects land in views_candidate and read the tables of public.
      await client.query("SET LOCAL search_path = views_candidate, public");
      for (const f of files) await client.query(f.sql);
      const candidate = await describeSchema(client, "views_candidate");
      await client.query("SET LOCAL search_path = public");
      const applied = await describeSchema(client, "public");
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
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});
