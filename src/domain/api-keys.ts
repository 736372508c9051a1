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

/**
 * Who created or revoked a key, as the audit log records it (`principal_type`, `principal_id`): the CLI and the
 * first start are parts of the system, not API keys. Keys are managed outside any HTTP request, so these rows have
 * no request id.
 */
export type KeyActor = { type: "system" | "api_key"; id: string };
/** For callers that do not say who they are (tests, the benchmark). */
const UNATTRIBUTED: KeyActor = { type: "system", id: "api-keys" };

/**
 * Creates a key and returns it in clear — the only time it is ever available. The key and its `api_key.created`
 * audit row are one statement, so neither exists without the other. The audit row names the prefix, scopes and rate
 * limit, not the name: a key's name is free text an operator types and may be a person's name.
 */
export async function createApiKey(
  db: pg.ClientBase | pg.Pool,
  input: NewApiKey,
  by: KeyActor = UNATTRIBUTED,
): Promise<ApiKeySummary & { key: string }> {
  const prefix = `rg_${randomBytes(4).toString("hex")}`;
  const key = `${prefix}_${randomBytes(32).toString("base64url")}`;
  const rateLimitPerMinute = input.rateLimitPerMinute ?? null;
  const { rows } = await db.query<{ id: string; created_at: Date }>(
    `WITH created AS (
       INSERT INTO api_keys (name, prefix, key_hash, scopes, rate_limit_per_minute)
       VALUES ($1, $2, $3, $4, $5) RETURNING id, created_at
     ), audit AS (
       INSERT INTO audit_log (occurred_at, principal_type, principal_id, action, resource_type, resource_id, details)
       SELECT created_at, $6, $7, 'api_key.created', 'api_key', id::text, $8::jsonb FROM created
     )
     SELECT id, created_at FROM created`,
    [
      input.name,
      prefix,
      hashApiKey(key),
      input.scopes,
      rateLimitPerMinute,
      by.type,
      by.id,
      JSON.stringify({ prefix, scopes: input.scopes, rate_limit_per_minute: rateLimitPerMinute }),
    ],
  );
  const row = rows[0];
  if (!row) throw new Error("INSERT … RETURNING returned no row");
  return {
    id: row.id,
    name: input.name,
    prefix,
    scopes: input.scopes,
    rateLimitPerMinute,
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

/**
 * Revokes by id or prefix. Revocation reaches running servers within the auth cache's lifetime (30 s). The first
 * revocation writes an `api_key.revoked` audit row in the same statement; revoking a revoked key changes nothing
 * and writes none. The row lock makes two concurrent revocations audit once.
 */
export async function revokeApiKey(
  db: pg.ClientBase | pg.Pool,
  idOrPrefix: string,
  by: KeyActor = UNATTRIBUTED,
): Promise<ApiKeySummary> {
  const { rows } = await db.query<ApiKeyRow>(
    `WITH target AS (
       SELECT id, revoked_at AS was_revoked_at FROM api_keys WHERE prefix = $1 OR id::text = $1 FOR UPDATE
     ), revoked AS (
       UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, NOW() AT TIME ZONE 'UTC')
         FROM target t
        WHERE k.id = t.id
       RETURNING k.id, k.name, k.prefix, k.scopes, k.rate_limit_per_minute, k.created_at, k.last_used_at,
                 k.revoked_at, t.was_revoked_at
     ), audit AS (
       INSERT INTO audit_log (occurred_at, principal_type, principal_id, action, resource_type, resource_id, details)
       SELECT revoked_at, $2, $3, 'api_key.revoked', 'api_key', id::text, jsonb_build_object('prefix', prefix)
         FROM revoked WHERE was_revoked_at IS NULL
     )
     SELECT id, name, prefix, scopes, rate_limit_per_minute, created_at, last_used_at, revoked_at FROM revoked`,
    [idOrPrefix, by.type, by.id],
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
