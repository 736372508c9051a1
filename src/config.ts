import path from "node:path";
import { z } from "zod";
import { DEFAULT_RETENTION_POLICY, type RetentionPolicy } from "./compliance/retention-policy.js";
import { defaultMaxWaiting } from "./db/pool.js";
import { FIRST_START_LEADS } from "./seed/catalog.js";

/**
 * Every setting reachgraph reads from the environment, parsed once at start-up.
 * The README's configuration table documents the same list; keep them in step.
 */
const port = z.coerce.number().int().min(1).max(65_535);
const optionalPort = z.preprocess(
  (v) => (typeof v === "string" && v.trim() === "" ? undefined : v),
  port.optional(),
);
const positiveInt = z.coerce.number().int().positive();
const flag = z
  .enum(["1", "0", "true", "false", "yes", "no", "on", "off"])
  .transform((v) => ["1", "true", "yes", "on"].includes(v));
const optionalUrl = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v))
  .pipe(
    z.url({ protocol: /^postgres(ql)?$/, error: "must be a postgres:// or postgresql:// URL" }).optional(),
  );

const optionalText = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v === "" ? undefined : v));

/** Streaming replicas the embedded default may start (the primary's max_wal_senders/max_replication_slots allow 5). */
export const MAX_EMBEDDED_REPLICAS = 4;

const retentionMonths = z.coerce.number().int().min(1).max(600);

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().default("127.0.0.1"),
  PORT: port.default(4000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATABASE_URL: optionalUrl,
  DATABASE_REPLICA_URL: optionalUrl,
  // Parsed by parseReplicaUrls below, which names the bad entry (and never quotes a password).
  DATABASE_REPLICA_URLS: optionalText,
  DB_POOL_MAX: positiveInt.default(10),
  DB_CONNECT_TIMEOUT_MS: positiveInt.default(5_000),
  DB_POOL_MAX_WAITING: z.coerce.number().int().min(0).optional(),
  REACHGRAPH_DATA_DIR: z.string().default(".data"),
  // Unset is not the same as the default: unset ports are chosen free and recorded (see startEmbeddedCluster).
  EMBEDDED_PG_PORT: optionalPort,
  EMBEDDED_PG_REPLICA_PORT: optionalPort,
  EMBEDDED_REPLICAS: z.coerce.number().int().min(0).max(MAX_EMBEDDED_REPLICAS).default(1),
  SEED_ON_FIRST_START: flag.default(true),
  SEED_DEMO_LEADS: positiveInt.default(FIRST_START_LEADS),
  PARTITION_MONTHS_AHEAD: z.coerce.number().int().min(1).max(36).default(3),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(6000),
  REPLICA_MAX_LAG_SECONDS: z.coerce.number().min(0).default(30),
  ANALYTICS_CACHE_ENTRIES: z.coerce.number().int().min(0).default(1000),
  ANALYTICS_AS_OF_TTL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  VIEW_REFRESH_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(60).default(5),
  ROLLUP_FOLD_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  // Group commit (src/rest/write-groups.ts): requests per shared transaction (1: off) and batches at a time per route.
  WRITE_GROUP_MAX_REQUESTS: z.coerce.number().int().min(1).max(1000).default(64),
  WRITE_GROUP_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(16).default(2),
  GRAPHQL_INTROSPECTION: flag.optional(),
  GRAPHQL_MAX_DEPTH: positiveInt.default(12),
  GRAPHQL_MAX_ALIASES: positiveInt.default(15),
  GRAPHQL_MAX_TOKENS: positiveInt.default(2000),
  GRAPHQL_MAX_COST: positiveInt.default(50_000),
  // Retention (spec §8): months per class; the defaults and what expires are in src/compliance/retention-policy.ts.
  RETENTION_LEAD_MONTHS: retentionMonths.default(DEFAULT_RETENTION_POLICY.leads.months),
  RETENTION_EMAIL_LOG_MONTHS: retentionMonths.default(DEFAULT_RETENTION_POLICY.email_logs.months),
  RETENTION_AI_HASH_MONTHS: retentionMonths.default(DEFAULT_RETENTION_POLICY.ai_hashes.months),
  RETENTION_ASSET_MONTHS: retentionMonths.default(DEFAULT_RETENTION_POLICY.assets.months),
  // Parsed by parseKeySettings below, which names the variable in every message and never quotes a key.
  TOKENIZATION_KEY: optionalText,
  TOKENIZATION_PREVIOUS_KEYS: optionalText,
  ENCRYPTION_KEYS: optionalText,
  ENCRYPTION_KEY_ID: optionalText,
});

export type Config = {
  env: "development" | "production" | "test";
  http: { host: string; port: number };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** External servers; when `primaryUrl` is unset, the embedded pair under `embedded.dataDir` is used. */
  database: {
    primaryUrl: string | undefined;
    /**
     * Read replicas, in the order given (DATABASE_REPLICA_URLS, with DATABASE_REPLICA_URL as a one-element list);
     * reads name them replica-1, replica-2, … by this position. Empty: reads use the primary.
     */
    replicaUrls: string[];
    poolMax: number;
    /** Requests that may wait for a busy pool before the next is refused (503); default: the larger of 100 and 10 × poolMax. */
    poolMaxWaiting: number;
    connectTimeoutMs: number;
  };
  /**
   * Ports set explicitly, else undefined: the cluster then uses free ports, preferring 54329/54330… or the recorded
   * ones. `replicaPort` is the first replica's; further replicas take free ports after it.
   */
  embedded: {
    dataDir: string;
    primaryPort: number | undefined;
    replicaPort: number | undefined;
    /** Streaming replicas to start (EMBEDDED_REPLICAS, 0–4). */
    replicas: number;
  };
  seed: { onFirstStart: boolean; demoLeads: number };
  partitions: { monthsAhead: number };
  /** Requests per minute per API key, unless the key sets its own. */
  rateLimitPerMinute: number;
  /** Analytics reads leave the replica while it is further behind than this. */
  replicaMaxLagSeconds: number;
  /** How often the scheduler refreshes the rollups (closes days, recounts the closed days writes changed). */
  viewRefreshIntervalMinutes: number;
  /** Pause between two folds of the open window's changes (0: no fold loop in this process). */
  rollupFoldIntervalMs: number;
  /** Analytics answers cached per views' asOf (0: off). */
  analyticsCacheEntries: number;
  /** How long a looked-up asOf is reused (ms) unless a refresh notification ends it sooner (0: never). */
  analyticsAsOfTtlMs: number;
  /** Group commit of concurrent single-event writes. */
  writeGroups: { maxRequests: number; maxInFlight: number };
  graphql: GraphQLConfig;
  /** Months each class of data is kept (spec §8). */
  retention: RetentionPolicy;
  /** Key material from the environment; both parts unset means "generate" (src/compliance/secrets.ts decides). */
  keys: KeySettings;
};

/**
 * Tokenization (HMAC) and field-encryption (AES-256-GCM) keys. Either both parts are set or neither: a half-configured
 * set is refused rather than completed with a generated key nobody backs up.
 */
export type KeySettings = {
  tokenization: { current: Buffer; previous: Buffer[] } | undefined;
  /** `currentKeyId` names the entry of `keys` that encrypts; every entry decrypts. */
  encryption: { currentKeyId: string; keys: { id: string; key: Buffer }[] } | undefined;
};

/** The four key variables as text, from the environment or from the embedded default's secrets.json. */
export type KeySettingsInput = {
  TOKENIZATION_KEY?: string | undefined;
  TOKENIZATION_PREVIOUS_KEYS?: string | undefined;
  ENCRYPTION_KEYS?: string | undefined;
  ENCRYPTION_KEY_ID?: string | undefined;
};

export type GraphQLConfig = {
  /** Introspection (and field suggestions in errors); on by default except in production. */
  introspection: boolean;
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

export const MIN_TOKENIZATION_KEY_BYTES = 32;
export const ENCRYPTION_KEY_BYTES = 32;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Key text → bytes. Hex is tried first (a string of an even number of hex digits is hex), then base64 or base64url;
 * a string that is neither, or base64 that does not re-encode to itself (stray characters, a truncated tail), is
 * refused rather than decoded leniently into some other key.
 */
function decodeKey(text: string): Buffer | undefined {
  if (HEX.test(text)) return Buffer.from(text, "hex");
  const url = BASE64URL.test(text);
  if (!url && !BASE64.test(text)) return undefined;
  const bytes = Buffer.from(text, url ? "base64url" : "base64");
  const canonical = (t: string) => t.replace(/=+$/, "").replaceAll("-", "+").replaceAll("_", "/");
  return bytes.length > 0 && canonical(bytes.toString("base64")) === canonical(text) ? bytes : undefined;
}

function listEntries(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

/**
 * Parses and validates the key variables. Every problem names its variable (and entry); no message quotes key
 * material. `source` says where the text came from ("the environment" or a secrets.json path).
 */
export function parseKeySettings(input: KeySettingsInput, source = "the environment"): KeySettings {
  const problems: string[] = [];

  const tokenizationKey = (name: string, text: string): Buffer => {
    const key = decodeKey(text);
    if (!key) problems.push(`${name}: must be hex or base64`);
    else if (key.length < MIN_TOKENIZATION_KEY_BYTES)
      problems.push(`${name}: must be at least ${MIN_TOKENIZATION_KEY_BYTES} bytes (it has ${key.length})`);
    return key ?? Buffer.alloc(0);
  };
  let tokenization: KeySettings["tokenization"];
  const previousTexts = listEntries(input.TOKENIZATION_PREVIOUS_KEYS);
  if (input.TOKENIZATION_KEY) {
    const current = tokenizationKey("TOKENIZATION_KEY", input.TOKENIZATION_KEY);
    const previous = previousTexts.map((t, i) =>
      tokenizationKey(`TOKENIZATION_PREVIOUS_KEYS entry ${i + 1}`, t),
    );
    // The current key listed again among the previous ones (a half-done rotation) changes nothing.
    const unique = previous.filter(
      (k, i) => !k.equals(current) && previous.findIndex((o) => o.equals(k)) === i,
    );
    tokenization = { current, previous: unique };
  } else if (previousTexts.length > 0) {
    problems.push(
      "TOKENIZATION_PREVIOUS_KEYS: is set but TOKENIZATION_KEY is not (the current key is required)",
    );
  }

  const entries = listEntries(input.ENCRYPTION_KEYS);
  const keys: { id: string; key: Buffer }[] = [];
  for (const [i, entry] of entries.entries()) {
    const name = `ENCRYPTION_KEYS entry ${i + 1}`;
    const colon = entry.indexOf(":");
    const id = colon > 0 ? entry.slice(0, colon).trim() : "";
    if (!KEY_ID.test(id)) {
      problems.push(`${name}: must be keyId:base64key, with a key id of 1–32 letters, digits, '-' or '_'`);
      continue;
    }
    const key = decodeKey(entry.slice(colon + 1).trim());
    if (!key) problems.push(`${name} (key id "${id}"): the key must be base64 (or hex)`);
    else if (key.length !== ENCRYPTION_KEY_BYTES)
      problems.push(
        `${name} (key id "${id}"): must be ${ENCRYPTION_KEY_BYTES} bytes for AES-256 (it has ${key.length})`,
      );
    else if (keys.some((k) => k.id === id)) problems.push(`ENCRYPTION_KEYS: key id "${id}" appears twice`);
    else keys.push({ id, key });
  }
  const requestedId = input.ENCRYPTION_KEY_ID;
  if (requestedId !== undefined && entries.length === 0) {
    problems.push("ENCRYPTION_KEY_ID: is set but ENCRYPTION_KEYS is not");
  } else if (
    requestedId !== undefined &&
    keys.length === entries.length &&
    !keys.some((k) => k.id === requestedId)
  ) {
    const ids = keys.map((k) => k.id).join(", ");
    problems.push(`ENCRYPTION_KEY_ID: "${requestedId}" is not a key id of ENCRYPTION_KEYS (${ids})`);
  }
  const encryption =
    entries.length > 0 ? { currentKeyId: requestedId ?? keys[0]?.id ?? "", keys } : undefined;

  if (tokenization && !encryption)
    problems.push(
      "ENCRYPTION_KEYS: must be set too when TOKENIZATION_KEY is (set both, or neither to generate them)",
    );
  if (encryption && !tokenization)
    problems.push(
      "TOKENIZATION_KEY: must be set too when ENCRYPTION_KEYS is (set both, or neither to generate them)",
    );
  if (problems.length > 0) {
    throw new ConfigError(
      `Invalid key configuration in ${source}:\n${problems.map((p) => `  ${p}`).join("\n")}`,
    );
  }
  return { tokenization, encryption };
}

const POSTGRES_URL = z.url({ protocol: /^postgres(ql)?$/ });

/**
 * The replica list: DATABASE_REPLICA_URLS (comma-separated), with the older DATABASE_REPLICA_URL as a one-element
 * list. Both set is accepted only when DATABASE_REPLICA_URL is one of the list (a deployment half-way through moving
 * to the new variable); otherwise it is an error, since silently reading from a replica nobody listed, or ignoring
 * one somebody did, are both surprises. A bad entry is named by its position, never quoted: it may hold a password.
 */
export function parseReplicaUrls(list: string | undefined, single: string | undefined): string[] {
  const problems: string[] = [];
  const entries = (list ?? "").split(",").map((s) => s.trim());
  const urls: string[] = [];
  if (list !== undefined) {
    for (const [i, entry] of entries.entries()) {
      const name = `DATABASE_REPLICA_URLS entry ${i + 1}`;
      if (entry === "") problems.push(`${name}: is empty (a stray comma?)`);
      else if (!POSTGRES_URL.safeParse(entry).success)
        problems.push(`${name}: must be a postgres:// or postgresql:// URL`);
      else if (urls.includes(entry)) problems.push(`${name}: repeats an earlier entry`);
      else urls.push(entry);
    }
  }
  if (single !== undefined && list !== undefined && problems.length === 0 && !urls.includes(single)) {
    problems.push(
      "DATABASE_REPLICA_URL: is set and is not one of DATABASE_REPLICA_URLS (set only DATABASE_REPLICA_URLS, or list it there)",
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid replica configuration:\n${problems.map((p) => `  ${p}`).join("\n")}`);
  }
  return list !== undefined ? urls : single !== undefined ? [single] : [];
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new ConfigError(`Invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  const replicaUrls = parseReplicaUrls(e.DATABASE_REPLICA_URLS, e.DATABASE_REPLICA_URL);
  if (replicaUrls.length > 0 && !e.DATABASE_URL) {
    const variable = e.DATABASE_REPLICA_URLS !== undefined ? "DATABASE_REPLICA_URLS" : "DATABASE_REPLICA_URL";
    throw new ConfigError(`${variable} is set but DATABASE_URL is not: a replica needs its primary.`);
  }
  if (
    !e.DATABASE_URL &&
    e.EMBEDDED_PG_PORT !== undefined &&
    e.EMBEDDED_PG_PORT === e.EMBEDDED_PG_REPLICA_PORT
  ) {
    throw new ConfigError("EMBEDDED_PG_PORT and EMBEDDED_PG_REPLICA_PORT must differ.");
  }
  return {
    env: e.NODE_ENV,
    http: { host: e.HOST, port: e.PORT },
    logLevel: e.LOG_LEVEL,
    database: {
      primaryUrl: e.DATABASE_URL,
      replicaUrls,
      poolMax: e.DB_POOL_MAX,
      poolMaxWaiting: e.DB_POOL_MAX_WAITING ?? defaultMaxWaiting(e.DB_POOL_MAX),
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    },
    embedded: {
      dataDir: path.resolve(e.REACHGRAPH_DATA_DIR),
      primaryPort: e.EMBEDDED_PG_PORT,
      replicaPort: e.EMBEDDED_PG_REPLICA_PORT,
      replicas: e.EMBEDDED_REPLICAS,
    },
    seed: { onFirstStart: e.SEED_ON_FIRST_START, demoLeads: e.SEED_DEMO_LEADS },
    partitions: { monthsAhead: e.PARTITION_MONTHS_AHEAD },
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    replicaMaxLagSeconds: e.REPLICA_MAX_LAG_SECONDS,
    viewRefreshIntervalMinutes: e.VIEW_REFRESH_INTERVAL_MINUTES,
    rollupFoldIntervalMs: e.ROLLUP_FOLD_INTERVAL_MS,
    analyticsCacheEntries: e.ANALYTICS_CACHE_ENTRIES,
    analyticsAsOfTtlMs: e.ANALYTICS_AS_OF_TTL_MS,
    writeGroups: { maxRequests: e.WRITE_GROUP_MAX_REQUESTS, maxInFlight: e.WRITE_GROUP_MAX_IN_FLIGHT },
    graphql: {
      introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== "production",
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
    },
    retention: {
      leads: { months: e.RETENTION_LEAD_MONTHS },
      email_logs: { months: e.RETENTION_EMAIL_LOG_MONTHS },
      ai_hashes: { months: e.RETENTION_AI_HASH_MONTHS },
      assets: { months: e.RETENTION_ASSET_MONTHS },
    },
    keys: parseKeySettings(e),
  };
}
