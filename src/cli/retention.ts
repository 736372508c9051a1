/**
 * npm run retention -- [--dry-run] [--now ISO] [--json]
 * Applies the retention policy (spec §8, README "Retention policy") once, on DATABASE_URL or the embedded cluster,
 * and prints what it did — or, with --dry-run, what it would do — per class of data, with counts. The scheduler
 * runs the same daily. --now runs the policy as of another time (what would expire by then).
 */
import { describeRetention, runRetention } from "../compliance/retention.js";
import { ConfigError, loadConfig } from "../config.js";
import { migrate } from "../db/migrate.js";
import { createPool } from "../db/pool.js";
import { EventValidator } from "../events/schemas.js";
import { createLogger } from "../logger.js";
import { parseCliArgs, usageError } from "./cli-args.js";
import { withCliDatabase } from "./cli-database.js";

const USAGE = "usage: npm run retention -- [--dry-run] [--now 2026-12-01T00:00:00Z] [--json]";

function fail(message: string): never {
  return usageError(message, USAGE);
}

const args = parseCliArgs(
  {
    options: {
      "dry-run": { type: "boolean", default: false },
      now: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  },
  USAGE,
);
const now = args.values.now === undefined ? new Date() : new Date(args.values.now);
if (Number.isNaN(now.getTime())) fail(`--now must be an ISO 8601 time, got "${args.values.now}"`);

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, "retention");

try {
  await withCliDatabase(config, logger, async ({ primaryUrl }) => {
    await migrate(primaryUrl, { logger });
    const pool = createPool(primaryUrl, { name: "retention", max: 3, connectTimeoutMs: 10_000, logger });
    try {
      const report = await runRetention(pool, {
        now,
        policy: config.retention,
        dryRun: args.values["dry-run"],
        events: new EventValidator(),
      });
      if ("skipped" in report) {
        console.error(`retention: ${report.skipped}; nothing done`);
        process.exitCode = 1;
        return;
      }
      if (args.values.json) console.log(JSON.stringify(report, null, 2));
      else for (const line of describeRetention(report)) console.log(line);
    } finally {
      await pool.end();
    }
  });
} catch (err) {
  logger.error({ err }, "retention failed");
  process.exitCode = 1;
}
