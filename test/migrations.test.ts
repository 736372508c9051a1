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
});
