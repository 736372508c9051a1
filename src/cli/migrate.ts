/**
 * npm run db:migrate [-- up|down [count]]
 * Applies (default) or reverts migrations on DATABASE_URL, or on the embedded cluster when it is unset.
 */
import { parseArgs } from "node:util";
import { loadConfig } from "../config.js";
import { migrate } from "../db/migrate.js";
import { createLogger } from "../logger.js";
import { withCliDatabase } from "./cli-database.js";

const { positionals } = parseArgs({ allowPositionals: true, options: {} });
const direction = positionals[0] ?? "up";
if (direction !== "up" && direction !== "down") {
  console.error(
    "usage: npm run db:migrate -- [up|down] [count]   (down reverts 1 migration unless a count is given)",
  );
  process.exit(2);
}
const count =
  positionals[1] === undefined
    ? direction === "down"
      ? 1
      : Number.POSITIVE_INFINITY
    : Number(positionals[1]);
if (!(count > 0)) {
  console.error(`count must be a positive number, got "${positionals[1]}"`);
  process.exit(2);
}

const config = loadConfig();
const logger = createLogger(config.logLevel, "migrate");
try {
  const ran = await withCliDatabase(config, logger, ({ primaryUrl }) =>
    migrate(primaryUrl, { direction, count, logger }),
  );
  console.log(
    ran.length === 0
      ? "Nothing to migrate."
      : `${direction === "up" ? "Applied" : "Reverted"}: ${ran.join(", ")}`,
  );
} catch (err) {
  logger.error({ err }, "migration failed");
  process.exitCode = 1;
}
