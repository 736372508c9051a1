import path from "node:path";
import { fileURLToPath } from "node:url";
import { runner } from "node-pg-migrate";
import pg from "pg";
import type { Logger } from "../logger.js";
import { connectionConfig } from "./pool.js";

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../migrations");
export const MIGRATIONS_TABLE = "pgmigrations";

export type MigrateOptions = {
  direction?: "up" | "down";
  /** How many migrations to apply or revert; all of them by default. */
  count?: number;
  logger?: Logger;
};

/**
 * Applies (or reverts) the versioned SQL migrations in `migrations/` with node-pg-migrate. It takes an advisory lock
 * and waits for it (node-pg-migrate's default is to fail at once), so app instances started together against one
 * database apply each migration once and all start: the later ones find nothing left to run. Returns the names of
 * the migrations run.
 */
export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<string[]> {
  const { direction = "up", count = Number.POSITIVE_INFINITY, logger } = options;
  // Our own client rather than node-pg-migrate's, which has no 'error' listener: a connection dropped mid-migration
  // (a restart, a DBA) must fail the migration, not crash the process through an unhandled 'error' event.
  const client = new pg.Client(connectionConfig(databaseUrl, "reachgraph:migrate"));
  client.on("error", (err) => logger?.warn({ err: { message: err.message } }, "migration connection lost"));
  await client.connect();
  const ran = await runner({
    dbClient: client,
    dir: MIGRATIONS_DIR,
    migrationsTable: MIGRATIONS_TABLE,
    direction,
    count,
    checkOrder: true,
    advisoryLockMode: "wait",
    verbose: false,
    log: (msg: string) => logger?.debug({ migration: msg.trim() }, "migration log"),
    logger: {
      debug: (msg: string) => logger?.debug(msg),
      info: (msg: string) => logger?.debug(msg),
      warn: (msg: string) => logger?.warn(msg),
      error: (msg: string) => logger?.error(msg),
    },
  }).finally(() => client.end().catch(() => {}));
  const names = ran.map((m) => m.name);
  if (names.length > 0) logger?.info({ direction, migrations: names }, "migrations applied");
  return names;
}
