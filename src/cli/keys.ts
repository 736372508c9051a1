/**
 * npm run keys -- create --name NAME --scopes ingest,worker [--rate-limit N]
 * npm run keys -- list
 * npm run keys -- revoke <id | prefix>
 * Manages API keys on DATABASE_URL, or on the embedded cluster (the running one, else started for the command).
 * A created key is printed once; only its hash is stored.
 */
import { loadConfig } from "../config.js";
import { migrate } from "../db/migrate.js";
import { createPool } from "../db/pool.js";
import { createApiKey, isScope, type KeyActor, listApiKeys, revokeApiKey } from "../domain/api-keys.js";
import { NotFoundError } from "../domain/errors.js";
import { SCOPES, type Scope } from "../domain/principal.js";
import { createLogger } from "../logger.js";
import { parseCliArgs, usageError } from "./cli-args.js";
import { withCliDatabase } from "./cli-database.js";

/** How the audit log names this tool (principal_type `system`): keys made here are made by no API key. */
const CLI_ACTOR: KeyActor = { type: "system", id: "cli:keys" };

const USAGE = `usage:
  npm run keys -- create --name NAME --scopes SCOPE[,SCOPE…] [--rate-limit REQUESTS_PER_MINUTE]
  npm run keys -- list
  npm run keys -- revoke <id | prefix>
scopes: ${SCOPES.join(", ")} (admin satisfies every scope)`;

function fail(message: string): never {
  return usageError(message, USAGE);
}

const parsed = parseCliArgs(
  {
    allowPositionals: true,
    options: {
      name: { type: "string" },
      scopes: { type: "string" },
      "rate-limit": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  },
  USAGE,
);
const [command, target] = parsed.positionals;
if (!command) fail("a command is needed");

function scopesArg(raw: string | undefined): Scope[] {
  if (!raw) fail("--scopes is required");
  const scopes = raw.split(",").map((s) => s.trim());
  const unknown = scopes.filter((s) => !isScope(s));
  if (unknown.length) fail(`unknown scope(s): ${unknown.join(", ")}`);
  return scopes.filter(isScope);
}

function rateLimitArg(raw: string | undefined): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) fail("--rate-limit must be a positive integer");
  return n;
}

const config = loadConfig();
const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, "keys");

try {
  await withCliDatabase(config, logger, async ({ primaryUrl }) => {
    await migrate(primaryUrl, { logger });
    const pool = createPool(primaryUrl, { name: "keys", max: 1, connectTimeoutMs: 10_000, logger });
    try {
      if (command === "create") {
        const name = parsed.values.name?.trim();
        if (!name) fail("--name is required");
        const key = await createApiKey(
          pool,
          {
            name,
            scopes: scopesArg(parsed.values.scopes),
            rateLimitPerMinute: rateLimitArg(parsed.values["rate-limit"]),
          },
          CLI_ACTOR,
        );
        console.log(`created ${key.prefix} (${key.id}) "${key.name}" scopes=${key.scopes.join(",")}`);
        console.log(`\n  ${key.key}\n\nStore it now: it is not shown again.`);
      } else if (command === "list") {
        for (const k of await listApiKeys(pool)) {
          const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : "active";
          const used = k.lastUsedAt ? k.lastUsedAt.toISOString() : "never";
          console.log(
            `${k.prefix}  ${k.id}  ${state.padEnd(32)} scopes=${k.scopes.join(",")}  last used ${used}  "${k.name}"`,
          );
        }
      } else if (command === "revoke") {
        if (!target) fail("revoke needs a key id or prefix");
        const k = await revokeApiKey(pool, target, CLI_ACTOR);
        console.log(`revoked ${k.prefix} (${k.id}); running servers stop accepting it within 30 s`);
      } else {
        fail(`unknown command "${command}"`);
      }
    } finally {
      await pool.end();
    }
  });
} catch (err) {
  if (err instanceof NotFoundError) fail(err.message);
  throw err;
}
