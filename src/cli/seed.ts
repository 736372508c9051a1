/**
 * npm run db:seed -- --leads N [--seed S] [--emails-per-lead E] [--days D] [--reset]
 * Fills every table with a realistic, deterministic demo dataset (see src/seed/).
 */
import cliProgress from "cli-progress";
import { loadConfig } from "../config.js";
import { migrate } from "../db/migrate.js";
import { createPool } from "../db/pool.js";
import { createLogger } from "../logger.js";
import { SeedConflictError, seedDemoData } from "../seed/seed-demo-data.js";
import { parseCliArgs, usageError } from "./cli-args.js";
import { withCliDatabase } from "./cli-database.js";

const USAGE = "usage: npm run db:seed -- --leads N [--seed S] [--emails-per-lead E] [--days D] [--reset]";

function positiveNumber(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) usageError(`--${name} must be a positive number, got "${raw}"`, USAGE);
  return n;
}

const args = parseCliArgs(
  {
    options: {
      leads: { type: "string", default: "1000" },
      seed: { type: "string" },
      "emails-per-lead": { type: "string" },
      days: { type: "string" },
      reset: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  },
  USAGE,
);
const leads = Math.floor(positiveNumber("leads", args.values.leads, 1000));
const seed = Math.floor(positiveNumber("seed", args.values.seed, 42));
const emailsPerLead = positiveNumber("emails-per-lead", args.values["emails-per-lead"], 2.4);
const spanDays = Math.floor(positiveNumber("days", args.values.days, 180));

const config = loadConfig();
const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, "seed");

try {
  await withCliDatabase(config, logger, async ({ primaryUrl }) => {
    await migrate(primaryUrl, { logger });
    const pool = createPool(primaryUrl, { name: "seed", max: 2, connectTimeoutMs: 10_000, logger });
    const bar = new cliProgress.SingleBar(
      {
        format:
          "seeding |{bar}| {percentage}% | {value}/{total} leads | {rows} rows | {rate} rows/s | ETA {eta_formatted}",
        noTTYOutput: true,
        notTTYSchedule: 5_000,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    const started = performance.now();
    bar.start(leads, 0, { rows: 0, rate: 0 });
    try {
      const report = await seedDemoData(pool, {
        leads,
        seed,
        emailsPerLead,
        spanDays,
        reset: args.values.reset,
        onProgress: (done, rows) =>
          bar.update(done, { rows, rate: Math.round(rows / ((performance.now() - started) / 1000)) }),
      });
      bar.stop();
      console.log(
        `Seeded ${report.totalRows.toLocaleString("en-US")} rows for ${leads.toLocaleString("en-US")} leads in ` +
          `${report.seconds.toFixed(1)} s — ${Math.round(report.rowsPerSecond).toLocaleString("en-US")} rows/s`,
      );
      for (const [table, n] of Object.entries(report.rows))
        console.log(`  ${table.padEnd(24)} ${n.toLocaleString("en-US")}`);
    } finally {
      bar.stop();
      await pool.end();
    }
  });
} catch (err) {
  if (err instanceof SeedConflictError) {
    console.error(err.message);
    process.exitCode = 2;
  } else {
    logger.error({ err }, "seeding failed");
    process.exitCode = 1;
  }
}
