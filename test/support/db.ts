import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, inject } from "vitest";
import { createPool } from "../../src/db/pool.js";
import { createLogger } from "../../src/logger.js";
import { withDatabase } from "./urls.js";

export const logger = createLogger("silent", "test");

const pools: pg.Pool[] = [];
afterAll(async () => {
  await Promise.all(pools.splice(0).map((p) => p.end()));
});

/** A pool on the run's migrated primary database, closed after the file's tests. */
export function primaryPool(): pg.Pool {
  const pool = createPool(inject("primaryUrl"), {
    name: "test-primary",
    max: 4,
    connectTimeoutMs: 10_000,
    logger,
  });
  pools.push(pool);
  return pool;
}

export function replicaPool(): pg.Pool | undefined {
  const url = inject("replicaUrl");
  if (!url) return undefined;
  const pool = createPool(url, { name: "test-replica", max: 4, connectTimeoutMs: 10_000, logger });
  pools.push(pool);
  return pool;
}

/**
 * An empty database of its own on the same server, for tests that migrate, seed or alter the schema. Dropped after
 * the file's tests.
 */
export async function scratchDatabase(): Promise<{ url: string; pool: pg.Pool }> {
  const name = `reachgraph_scratch_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: inject("primaryUrl") });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(inject("primaryUrl"), name);
  const pool = createPool(url, { name: "test-scratch", max: 4, connectTimeoutMs: 10_000, logger });
  afterAll(async () => {
    await pool.end();
    const c = new pg.Client({ connectionString: inject("primaryUrl") });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  });
  return { url, pool };
}
