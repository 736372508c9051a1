import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrate } from "../src/db/migrate.js";
import { logger, scratchDatabase } from "./support/db.js";

const appTables = `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relname <> 'pgmigrations'
                   ORDER BY 1`;

describe("SQL migrations", () => {
  it("go up, all the way down to zero, and up again without error", async () => {
    const { url, pool } = await scratchDatabase();
    const up = await migrate(url, { logger });
    expect(up.length).toBeGreaterThanOrEqual(7);
    expect((await pool.query(appTables)).rowCount).toBeGreaterThan(14);

    const down = await migrate(url, { direction: "down", logger });
    expect(down).toEqual([...up].reverse());
    expect((await pool.query(appTables)).rows).toEqual([]);
    const functions = await pool.query("SELECT proname FROM pg_proc WHERE proname LIKE 'reachgraph_%'");
    expect(functions.rows).toEqual([]);

    expect(await migrate(url, { logger })).toEqual(up);
    expect(await migrate(url, { logger })).toEqual([]);
  });

  it("wait for a migration that runs elsewhere (app instances started together), then find nothing to run", async () => {
    const { url } = await scratchDatabase();
    await migrate(url, { logger });
    // node-pg-migrate's lock id: another instance's migration holds it while it runs.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query("SELECT pg_advisory_lock(7241865325823964)");
    let settled = false;
    const waiting = migrate(url, { logger }).finally(() => {
      settled = true;
    });
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(settled).toBe(false);
    } finally {
      await other.query("SELECT pg_advisory_unlock(7241865325823964)");
      await other.end();
    }
    expect(await waiting).toEqual([]);
  });
});
