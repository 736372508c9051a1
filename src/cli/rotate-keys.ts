/**
 * npm run keys:rotate [-- --dry-run] [--batch-size N]
 * Re-encrypts the contact fields of every live lead that are plaintext or under an older encryption key, and
 * recomputes email_token / domain_token under the current tokenization key (src/compliance/rotate-lead-keys.ts), on
 * DATABASE_URL or on the embedded cluster (the running one, else started for the command). Run it after making a new
 * key current; drop the old encryption key only once it reports nothing left under it. Exit code 1 when some leads
 * could not be read or stayed locked (run it again), 2 for bad arguments or keys.
 */
import { type RotationReport, rotateLeadKeys } from "../compliance/rotate-lead-keys.js";
import { getSecrets } from "../compliance/secrets.js";
import { ConfigError, loadConfig } from "../config.js";
import { migrate } from "../db/migrate.js";
import { createPool } from "../db/pool.js";
import { createLogger } from "../logger.js";
import { parseCliArgs, usageError } from "./cli-args.js";
import { withCliDatabase } from "./cli-database.js";

const USAGE = "usage: npm run keys:rotate [-- --dry-run] [--batch-size N]   (default batch size 500)";

const args = parseCliArgs(
  {
    options: {
      "dry-run": { type: "boolean", default: false },
      "batch-size": { type: "string", default: "500" },
      help: { type: "boolean", short: "h", default: false },
    },
  },
  USAGE,
);
const batchSize = Number(args.values["batch-size"]);
if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
  usageError("--batch-size must be an integer from 1 to 10000", USAGE);
}
const dryRun = args.values["dry-run"];

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
  getSecrets();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(2);
}
const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, "keys-rotate");

function summary(r: RotationReport): string {
  const reencrypted = Object.entries(r.fieldsReencrypted);
  const lines = [
    `${r.dryRun ? "dry run (nothing written): " : ""}encryption key ${r.encryptionKeyId}, tokenization key ${r.tokenKeyId}`,
    `  leads scanned            ${r.scanned}`,
    `  leads ${r.dryRun ? "to update " : "updated   "}        ${r.rowsUpdated}`,
    `  fields encrypted         ${r.fieldsEncrypted}   (plaintext from before encryption)`,
    `  fields re-encrypted      ${reencrypted.reduce((a, [, n]) => a + n, 0)}${
      reencrypted.length ? `   (from ${reencrypted.map(([id, n]) => `${id}: ${n}`).join(", ")})` : ""
    }`,
    `  email tokens recomputed  ${r.emailTokensUpdated}`,
    `  domain tokens recomputed ${r.domainTokensUpdated}`,
    `  erased leads skipped     ${r.erasedSkipped}`,
  ];
  if (r.lockedSkipped > 0) {
    lines.push(`  locked, not processed    ${r.lockedSkipped}   (held by running requests: run again)`);
  }
  if (r.failures.length > 0) {
    lines.push(`  could not decrypt        ${r.failures.length} field(s), their leads left as they are:`);
    for (const f of r.failures.slice(0, 20)) {
      lines.push(`    lead ${f.leadId} ${f.column}: ${f.reason}${f.keyId ? ` (key id ${f.keyId})` : ""}`);
    }
    if (r.failures.length > 20) lines.push(`    … and ${r.failures.length - 20} more`);
  }
  const suppressions = Object.entries(r.suppressionsUnderPreviousKeys);
  if (suppressions.length > 0) {
    lines.push(
      `  active suppressions under previous tokenization keys: ${suppressions.map(([id, n]) => `${id}: ${n}`).join(", ")}`,
      "    (their tokens cannot be recomputed: keep those keys in TOKENIZATION_PREVIOUS_KEYS)",
    );
  }
  return lines.join("\n");
}

const report = await withCliDatabase(config, logger, async ({ primaryUrl }) => {
  await migrate(primaryUrl, { logger });
  const pool = createPool(primaryUrl, { name: "keys-rotate", max: 2, connectTimeoutMs: 10_000, logger });
  try {
    return await rotateLeadKeys(pool, {
      batchSize,
      dryRun,
      onBatch: (r) =>
        process.stderr.write(`\r  ${r.scanned} leads scanned, ${r.rowsUpdated} to update or updated`),
    });
  } finally {
    process.stderr.write("\n");
    await pool.end();
  }
});
console.log(summary(report));
process.exitCode = report.failures.length > 0 || report.lockedSkipped > 0 ? 1 : 0;
