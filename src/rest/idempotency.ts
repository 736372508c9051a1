import { createHash } from "node:crypto";
import type pg from "pg";
import { BadRequestError, ConflictError, UnprocessableError } from "../domain/errors.js";

/**
 * Idempotency-Key with Stripe's semantics: the first response to a key is stored for 24 h and replayed
 * byte-for-byte; the same key with a different request is refused (422); the same key while the first request
 * still runs is refused (409). Requests that fail validation are not stored (nothing started executing), and a
 * request that fails unexpectedly (5xx) leaves nothing under its key, so the client can retry.
 *
 * The key is claimed INSIDE the request's transaction, under a transaction-scoped advisory lock on (API key,
 * Idempotency-Key), and its response is stored by that same transaction. So "in flight" is not a row that a crash
 * could leave behind: it is a lock that exists exactly as long as the owning transaction does. A process killed
 * mid-request (its connection closes), a dropped connection or a database crash ends the transaction, rolls its
 * writes back and frees the key at once; a retry then runs again, immediately. A retry after a commit whose answer
 * was lost finds the stored response and replays it.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** The advisory lock class of Idempotency-Keys (the two-int4 lock space, apart from single-bigint locks). */
const IDEMPOTENCY_LOCK_CLASS = 0x1d3e;
const KEY_SYNTAX = /^[\x21-\x7e]{1,255}$/;

export type StoredResponse = { status: number; headers: Record<string, string>; body: Buffer };
export type IdempotentRequest = {
  apiKeyId: string;
  key: string;
  method: string;
  path: string;
  fingerprint: string;
  now: Date;
};
export type Claim = { kind: "claimed" } | { kind: "replay"; response: StoredResponse };

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!KEY_SYNTAX.test(header)) {
    throw new BadRequestError(
      "invalid-idempotency-key",
      "Idempotency-Key must be 1–255 printable ASCII characters without spaces.",
    );
  }
  return header;
}

export function requestFingerprint(method: string, path: string, rawBody: Buffer | undefined): string {
  return createHash("sha256")
    .update(`${method} ${path}\n`)
    .update(rawBody ?? Buffer.alloc(0))
    .digest("hex");
}

/**
 * Claims the key for this request inside its transaction `tx` (which must have begun), or says to replay. Throws
 * 409 while another live transaction holds the key, 422 when the key was used for a different request.
 */
export async function claimIdempotencyKey(tx: pg.ClientBase, req: IdempotentRequest): Promise<Claim> {
  const locked = await tx.query<{ locked: boolean }>(
    "SELECT pg_try_advisory_xact_lock($1::int, hashtext($2 || ':' || $3)) AS locked",
    [IDEMPOTENCY_LOCK_CLASS, req.apiKeyId, req.key],
  );
  if (!locked.rows[0]?.locked) throw inFlight();
  // A statement of its own, after the lock: in READ COMMITTED it sees what the previous holder committed.
  const { rows } = await tx.query<{
    request_hash: string;
    status: string;
    response_status: number | null;
    response_headers: Record<string, string> | null;
    response_body: Buffer | null;
  }>(
    `SELECT request_hash, status, response_status, response_headers, response_body
       FROM idempotency_keys
      WHERE api_key_id = $1 AND idempotency_key = $2 AND expires_at > $3`,
    [req.apiKeyId, req.key, req.now.toISOString()],
  );
  const row = rows[0];
  // An 'in_flight' row can only have been left by an older version, which reserved keys outside the transaction.
  if (row?.status !== "completed" || row.response_status === null || row.response_body === null) {
    return { kind: "claimed" };
  }
  if (row.request_hash !== req.fingerprint) {
    throw new IdempotencyKeyReusedError(
      "This Idempotency-Key was already used with a different request (method, path or body). Use a new key.",
    );
  }
  return {
    kind: "replay",
    response: { status: row.response_status, headers: row.response_headers ?? {}, body: row.response_body },
  };
}

class IdempotencyInProgressError extends ConflictError {
  override readonly code = "idempotency-request-in-progress";
}

class IdempotencyKeyReusedError extends UnprocessableError {
  override readonly code = "idempotency-key-reused";
}

function inFlight(): ConflictError {
  return new IdempotencyInProgressError(
    "A request with this Idempotency-Key is still being processed; retry shortly.",
    { retry_after_seconds: 1 },
  );
}

/** Stores the response under the key, in the transaction that claimed it, so both commit together. */
export async function storeIdempotentResponse(
  tx: pg.ClientBase,
  req: IdempotentRequest,
  response: StoredResponse,
): Promise<void> {
  await tx.query(
    `INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_method, request_path, request_hash, status,
                                   response_status, response_headers, response_body, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, 'completed', $6, $7, $8, $9, $10)
     ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
        SET request_method = EXCLUDED.request_method, request_path = EXCLUDED.request_path,
            request_hash = EXCLUDED.request_hash, status = 'completed',
            response_status = EXCLUDED.response_status, response_headers = EXCLUDED.response_headers,
            response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at,
            expires_at = EXCLUDED.expires_at`,
    [
      req.apiKeyId,
      req.key,
      req.method,
      req.path,
      req.fingerprint,
      response.status,
      JSON.stringify(response.headers),
      response.body,
      req.now.toISOString(),
      new Date(req.now.getTime() + IDEMPOTENCY_TTL_MS).toISOString(),
    ],
  );
}

/** Deletes expired keys; run by the maintenance timer. */
export async function purgeExpiredIdempotencyKeys(db: pg.Pool, now: Date): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM idempotency_keys WHERE expires_at <= $1`, [
    now.toISOString(),
  ]);
  return rowCount ?? 0;
}
