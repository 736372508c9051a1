import { readdir, readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { primaryPool } from "./support/db.js";

const VIEWS_DIR = new URL("../views/", import.meta.url);

/** views/*.sql, plain views first (the materialized views read them). */
async function viewFiles(): Promise<{ name: string; sql: string }[]> {
  const names = (await readdir(VIEWS_DIR)).filter((f) => f.endsWith(".sql")).sort();
  const files = await Promise.all(
    names.map(async (f) => ({
      name: f.replace(/\.sql$/, ""),
      sql: await readFile(new URL(f, VIEWS_DIR), "utf8"),
    })),
  );
  const plain = (f: { sql: string }) => (/^CREATE VIEW/m.test(f.sql) ? 0 : 1);
  return files.sort((a, b) => plain(a) - plain(b));
}

type Definition = { definition: string; indexes: string[] };

describe("views/*.sql is what the migrations applied", () => {
  it("every view in the database has a file, and its definition and indexes equal the file's", async () => {
    const files = await viewFiles();
    const client = await primaryPool().connect();
    const describeViews = async (schema: string): Promise<Record<string, Definition>> => {
      const { rows } = await client.query<{ name: string; definition: string; indexes: string[] }>(
        `SELECT c.relname AS name, pg_get_viewdef(c.oid) AS definition,
                ARRAY(SELECT replace(pg_get_indexdef(i.indexrelid), $1 || '.', '')
                        FROM pg_index i WHERE i.indrelid = c.oid ORDER BY 1)::text[] AS indexes
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = $1 AND c.relkind IN ('v', 'm')`,
        [schema],
      );
      return Object.fromEntries(rows.map((r) => [r.name, { definition: r.definition, indexes: r.indexes }]));
    };
    try {
      await client.query("BEGIN");
      await client.query("CREATE SCHEMA views_candidate");
      // Unqualified names: the views land in views_candidate and read the tables of public.
      await client.query("SET LOCAL search_path = views_candidate, public");
      for (const f of files) await client.query(f.sql);
      const candidate = await describeViews("views_candidate");
      await client.query("SET LOCAL search_path = public");
      const applied = await describeViews("public");
      expect(Object.keys(applied).sort()).toEqual(files.map((f) => f.name).sort());
      expect(Object.keys(candidate).sort()).toEqual(files.map((f) => f.name).sort());
      for (const f of files) expect(candidate[f.name], `views/${f.name}.sql`).toEqual(applied[f.name]);
    } finally {
      await client.query("ROLLBACK");
      client.release();
    }
  });
});
