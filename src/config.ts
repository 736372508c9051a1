import path from "node:path";
import { z } from "zod";
import { defaultMaxWaiting } from "./db/pool.js";

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

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().default("127.0.0.1"),
  PORT: port.default(4000),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATABASE_URL: optionalUrl,
  DATABASE_REPLICA_URL: optionalUrl,
  DB_POOL_MAX: positiveInt.default(10),
  DB_CONNECT_TIMEOUT_MS: positiveInt.default(5_000),
  DB_POOL_MAX_WAITING: z.coerce.number().int().min(0).optional(),
  REACHGRAPH_DATA_DIR: z.string().default(".data"),
  // Unset is not the same as the default: unset ports are chosen free and recorded (see startEmbeddedCluster).
  EMBEDDED_PG_PORT: optionalPort,
  EMBEDDED_PG_REPLICA_PORT: optionalPort,
  SEED_ON_FIRST_START: flag.default(true),
  SEED_DEMO_LEADS: positiveInt.default(500),
  PARTITION_MONTHS_AHEAD: z.coerce.number().int().min(1).max(36).default(3),
  RATE_LIMIT_PER_MINUTE: positiveInt.default(6000),
  REPLICA_MAX_LAG_SECONDS: z.coerce.number().min(0).default(30),
  ANALYTICS_CACHE_ENTRIES: z.coerce.number().int().min(0).default(1000),
  VIEW_REFRESH_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(60).default(5),
  GRAPHQL_INTROSPECTION: flag.optional(),
  GRAPHQL_MAX_DEPTH: positiveInt.default(12),
  GRAPHQL_MAX_ALIASES: positiveInt.default(15),
  GRAPHQL_MAX_TOKENS: positiveInt.default(2000),
  GRAPHQL_MAX_COST: positiveInt.default(50_000),
});

export type Config = {
  env: "development" | "production" | "test";
  http: { host: string; port: number };
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** External servers; when `primaryUrl` is unset, the embedded pair under `embedded.dataDir` is used. */
  database: {
    primaryUrl: string | undefined;
    replicaUrl: string | undefined;
    poolMax: number;
    /** Requests that may wait for a busy pool before the next is refused (503); default: the larger of 100 and 10 × poolMax. */
    poolMaxWaiting: number;
    connectTimeoutMs: number;
  };
  /** Ports set explicitly, else undefined: the cluster then uses free ports, preferring 54329/54330 or the recorded ones. */
  embedded: { dataDir: string; primaryPort: number | undefined; replicaPort: number | undefined };
  seed: { onFirstStart: boolean; demoLeads: number };
  partitions: { monthsAhead: number };
  /** Requests per minute per API key, unless the key sets its own. */
  rateLimitPerMinute: number;
  /** Analytics reads leave the replica while it is further behind than this. */
  replicaMaxLagSeconds: number;
  /** How often the scheduler refreshes the materialized views. */
  viewRefreshIntervalMinutes: number;
  /** Analytics answers cached per views' asOf (0: off). */
  analyticsCacheEntries: number;
  graphql: GraphQLConfig;
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

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`).join("\n");
    throw new ConfigError(`Invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  if (e.DATABASE_REPLICA_URL && !e.DATABASE_URL) {
    throw new ConfigError(
      "DATABASE_REPLICA_URL is set but DATABASE_URL is not: a replica needs its primary.",
    );
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
      replicaUrl: e.DATABASE_REPLICA_URL,
      poolMax: e.DB_POOL_MAX,
      poolMaxWaiting: e.DB_POOL_MAX_WAITING ?? defaultMaxWaiting(e.DB_POOL_MAX),
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
    },
    embedded: {
      dataDir: path.resolve(e.REACHGRAPH_DATA_DIR),
      primaryPort: e.EMBEDDED_PG_PORT,
      replicaPort: e.EMBEDDED_PG_REPLICA_PORT,
    },
    seed: { onFirstStart: e.SEED_ON_FIRST_START, demoLeads: e.SEED_DEMO_LEADS },
    partitions: { monthsAhead: e.PARTITION_MONTHS_AHEAD },
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    replicaMaxLagSeconds: e.REPLICA_MAX_LAG_SECONDS,
    viewRefreshIntervalMinutes: e.VIEW_REFRESH_INTERVAL_MINUTES,
    analyticsCacheEntries: e.ANALYTICS_CACHE_ENTRIES,
    graphql: {
      introspection: e.GRAPHQL_INTROSPECTION ?? e.NODE_ENV !== "production",
      maxDepth: e.GRAPHQL_MAX_DEPTH,
      maxAliases: e.GRAPHQL_MAX_ALIASES,
      maxTokens: e.GRAPHQL_MAX_TOKENS,
      maxCost: e.GRAPHQL_MAX_COST,
    },
  };
}
