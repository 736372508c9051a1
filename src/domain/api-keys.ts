import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import { NotFoundError } from "./errors.js";
import { type Principal, SCOPES, type Scope } from "./principal.js";

/**
 * API keys look like `rg_1a2b3c4d_<43 base64url chars>`: a non-secret prefix to tell keys apart in listings and
 * logs, and 256 random bits. Only SHA-256(key) is stored: with that much entropy a slow hash buys nothing and would
 * cost every request.
 */
const KEY_FORMAT = /^rg_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/;

export function isWellFormedApiKey(key: string): boolean {
  return KEY_FORMAT.test(key);
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export type ApiKeySummary = {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  rateLimitPerMinute: number | null;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
};

export type NewApiKey = { name: string; scopes: Scope[]; rateLimitPerMinute?: number | null };

/** Creates a key and returns it in clear — the only time it is ever available. */
export async function createApiKey(
  db: pg.ClientBase | pg.Pool,
  input: NewApiKey,
): Promise<ApiKeySummary & { key: string }> {
  const prefix = `rg_${randomBytes(4).toString("hex")}`;
  const key = `${prefix}_${randomBytes(32).toString("base64url")}`;
  const { rows } = await db.query<{ id: string; created_at: Date }>(
    `INSERT INTO api_keys (name, prefix, key_hash, scopes, rate_limit_per_minute)
     VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at`,
    [input.name, prefix, hashApiKey(key), input.scopes, input.rateLimitPerMinute ?? null],
  );
  const row = rows[0];
  if (!row) throw new Error("INSERT … RETURNING returned no row");
  return {
    id: row.id,
    name: input.name,
    prefix,
    scopes: input.scopes,
    rateLimitPerMinute: input.rateLimitPerMinute ?? null,
    createdAt: row.created_at,
    lastUsedAt: null,
    revokedAt: null,
    key,
  };
}

type ApiKeyRow = {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  rate_limit_per_minute: number | null;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
};

function toSummary(r: ApiKeyRow): ApiKeySummary {
  return {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    scopes: r.scopes.filter(isScope),
    rateLimitPerMinute: r.rate_limit_per_minute,
    createdAt: r.created_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

export async function listApiKeys(db: pg.Pool): Promise<ApiKeySummary[]> {
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT id, name, prefix, scopes, rate_limit_per_minute, created_at, last_used_at, revoked_at
       FROM api_keys ORDER BY created_at, id`,
  );
  return rows.map(toSummary);
}

/** Whether any key was ever created (revoked ones count): the first start creates the bootstrap admin key. */
export async function anyApiKeyExists(db: pg.Pool): Promise<boolean> {
  const { rows } = await db.query<{ exists: boolean }>(`SELECT EXISTS (SELECT 1 FROM api_keys) AS exists`);
  return rows[0]?.exists ?? false;
}

/** Revokes by id or prefix. Revocation reaches running servers within the auth cache's lifetime (30 s). */
export async function revokeApiKey(db: pg.Pool, idOrPrefix: string): Promise<ApiKeySummary> {
  const { rows } = await db.query<ApiKeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, NOW() AT TIME ZONE 'UTC')
      WHERE prefix = $1 OR id::text = $1
      RETURNING id, name, prefix, scopes, rate_limit_per_minute, created_at, last_used_at, revoked_at`,
    [idOrPrefix],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError("API key", idOrPrefix);
  return toSummary(row);
}

/** The principal a presented key stands for, or null when it is malformed, unknown or revoked. */
export async function findPrincipalByKey(db: pg.Pool, key: string): Promise<Principal | null> {
  if (!KEY_FORMAT.test(key)) return null;
  const { rows } = await db.query<ApiKeyRow>(
    `SELECT id, name, prefix, scopes, rate_limit_per_minute, created_at, last_used_at, revoked_at
       FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL`,
    [hashApiKey(key)],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    type: "api_key",
    id: row.id,
    name: row.name,
    scopes: row.scopes.filter(isScope),
    rateLimitPerMinute: row.rate_limit_per_minute,
  };
}
