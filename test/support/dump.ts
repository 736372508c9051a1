import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type pg from "pg";

const run = promisify(execFile);

/**
 * Every row of a database as text, to search for values that must be gone. `pg_dump --data-only` when the machine's
 * pg_dump can dump the server (it refuses servers of a newer major version: the embedded PostgreSQL 18 with the
 * Debian pg_dump 15); otherwise the same rows read in SQL — every table, partition and materialized view of every
 * schema, each row as its text form. Either way bytea shows as hex, so search `needleForms` of a value.
 */
export async function dumpDatabase(url: string, pool: pg.Pool): Promise<{ text: string; via: string }> {
  try {
    const { stdout } = await run("pg_dump", ["--data-only", "--no-owner", "--dbname", url], {
      maxBuffer: 1 << 30,
    });
    return { text: stdout, via: "pg_dump --data-only" };
  } catch {
    return { text: await dumpInSql(pool), via: "SQL (pg_dump cannot dump this server)" };
  }
}

export async function dumpInSql(pool: pg.Pool): Promise<string> {
  const { rows: relations } = await pool.query<{ name: string }>(
    `SELECT format('%I.%I', n.nspname, c.relname) AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        AND n.nspname NOT LIKE 'pg_toast%' AND (c.relkind <> 'm' OR c.relispopulated)
      ORDER BY 1`,
  );
  const parts: string[] = [];
  for (const { name } of relations) {
    const { rows } = await pool.query<{ text: string | null }>(
      `SELECT string_agg(t::text, E'\\n') AS text FROM ${name} t`,
    );
    parts.push(`-- ${name}\n${rows[0]?.text ?? ""}`);
  }
  return parts.join("\n");
}

/** The forms a value takes in a dump: as text, and as the hex of its UTF-8 bytes (bytea columns). */
export function needleForms(value: string): string[] {
  return [value, Buffer.from(value, "utf8").toString("hex")];
}
