import type { Request } from "express";
import { LRUCache } from "lru-cache";
import type pg from "pg";
import { findPrincipalByKey, hashApiKey, isWellFormedApiKey } from "../domain/api-keys.js";
import { ForbiddenError, UnauthorizedError } from "../domain/errors.js";
import { hasScope, type Principal, type Scope } from "../domain/principal.js";
import type { Logger } from "../logger.js";

/** How long a verified (or refused) key is trusted without asking the database: revocation takes effect within it. */
const CACHE_TTL_MS = 30_000;
const CACHE_MAX_ENTRIES = 10_000;
const LAST_USED_EVERY_MS = 60_000;

/** `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(req: Request): string | undefined {
  const auth = req.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m?.[1] ?? "";
  }
  return req.get("x-api-key") ?? undefined;
}

/**
 * Turns a presented API key into a principal. Keys are looked up by hash and cached briefly so that the hot write
 * paths do not pay a database round trip per request; last_used_at is refreshed at most once a minute per key.
 */
export class ApiKeyAuthenticator {
  /** By key hash; a refused key is cached too (as null), so retrying a bad key does not reach the database. */
  private readonly cache = new LRUCache<string, { principal: Principal | null }>({
    max: CACHE_MAX_ENTRIES,
    ttl: CACHE_TTL_MS,
  });
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: pg.Pool,
    private readonly logger: Logger,
  ) {}

  async authenticate(req: Request, scope: Scope): Promise<Principal> {
    const key = presentedKey(req);
    if (key === undefined) {
      throw new UnauthorizedError("Send an API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'.");
    }
    const principal = await this.lookup(key);
    if (!principal) throw new UnauthorizedError("The API key is not valid or has been revoked.");
    if (!hasScope(principal, scope)) {
      throw new ForbiddenError(
        `This endpoint needs the '${scope}' scope; the key has: ${principal.type === "api_key" ? principal.scopes.join(", ") || "none" : "none"}.`,
        {
          required_scope: scope,
        },
      );
    }
    this.touch(principal);
    return principal;
  }

  private async lookup(key: string): Promise<Principal | null> {
    // Malformed keys never reach the database or the cache, so junk cannot evict real keys.
    if (!isWellFormedApiKey(key)) return null;
    const hash = hashApiKey(key);
    const cached = this.cache.get(hash);
    if (cached) return cached.principal;
    const principal = await findPrincipalByKey(this.db, key);
    this.cache.set(hash, { principal });
    return principal;
  }

  private touch(principal: Principal): void {
    if (principal.type !== "api_key") return;
    const now = Date.now();
    if ((this.lastUsedWritten.get(principal.id) ?? 0) > now - LAST_USED_EVERY_MS) return;
    this.lastUsedWritten.set(principal.id, now);
    this.db
      .query(`UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, [
        principal.id,
        new Date(now).toISOString(),
      ])
      .catch((err: Error) => this.logger.warn({ err: { message: err.message } }, "could not record key use"));
  }
}
