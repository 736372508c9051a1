import { createHash } from "node:crypto";
import type pg from "pg";
import { BadRequestError, ConflictError, UnprocessableError } from "../domain/errors.js";

/**
 * Idempotency-Key with Stripe's semantics: the first response to a key is stored for 24 h and replayed
 * byte-for-byte; the same key with a different request is refused (422); the same key while the first request
 * still runs is refused (409). Requests that fail validation are not stored (nothing started executing), and a
 * request that fails unexpectedly (5xx) releases its key so the client can retry.
 */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/** An in-flight reservation older than this belongs to a crashed process and may be taken over. */
const ABANDONED_AFTER_MS = 5 * 60 * 1000;
const KEY_SYNTAX = /^[\x21-\x7e]{1,255}$/;

export type StoredResponse = { status: number; headers: Record<string, string>; body: Buffer };
export type Reservation =
  | { kind: "reserved"; apiKeyId: string; key: string }
  | { kind: "replay"; response: StoredResponse };

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

/** Claims the key for this request, or says how to answer instead. Runs outside the request's transaction. */
export async function reserveIdempotencyKey(
  db: pg.Pool,
  args: { apiKeyId: string; key: string; method: string; path: string; fingerprint: string; now: Date },
): Promise<Reservation> {
  const expiresAt = new Date(args.now.getTime() + IDEMPOTENCY_TTL_MS).toISOString();
  const abandonedBefore = new Date(args.now.getTime() - ABANDONED_AFTER_MS).toISOString();
  const claimed = await db.query(
    `INSERT INTO idempotency_keys (api_key_id, idempotency_key, request_method, request_path, request_hash,
                                   created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (api_key_id, idempotency_key) DO UPDATE
        SET request_method = EXCLUDED.request_method, request_path = EXCLUDED.request_path,
            request_hash = EXCLUDED.request_hash, status = 'in_flight', response_status = NULL,
            response_headers = NULL, response_body = NULL, created_at = EXCLUDED.created_at,
            expires_at = EXCLUDED.expires_at
      WHERE idempotency_keys.expires_at <= EXCLUDED.created_at
         OR (idempotency_keys.status = 'in_flight' AND idempotency_keys.created_at < $8)
     RETURNING 1`,
    [
      args.apiKeyId,
      args.key,
      args.method,
      args.path,
      args.fingerprint,
      args.now.toISOString(),
      expiresAt,
      abandonedBefore,
    ],
  );
  if (claimed.rowCount === 1) return { kind: "reserved", apiKeyId: args.apiKeyId, key: args.key };

  const { rows } = await db.query<{
    request_hash: string;
    status: string;
    response_status: number | null;
    response_headers: Record<string, string> | null;
    response_body: Buffer | null;
  }>(
    `SELECT request_hash, status, response_status, response_headers, response_body
       FROM idempotency_keys WHERE api_key_id = $1 AND idempotency_key = $2`,
    [args.apiKeyId, args.key],
  );
  const row = rows[0];
  // Released between our INSERT and SELECT: the other request failed; ask the client to retry.
  if (!row) throw inFlight();
  if (row.request_hash !== args.fingerprint) {
    throw new IdempotencyKeyReusedError(
      "This Idempotency-Key was already used with a different request (method, path or body). Use a new key.",
    );
  }
  if (row.status !== "completed" || row.response_status === null || row.response_body === null)
    throw inFlight();
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

/** Stores the response; pass the request's transaction so the response commits together with the change. */
export async function completeIdempotencyKey(
  db: pg.ClientBase | pg.Pool,
  reservation: { apiKeyId: string; key: string },
  response: StoredResponse,
): Promise<void> {
  await db.query(
    `UPDATE idempotency_keys
        SET status = 'completed', response_status = $3, response_headers = $4, response_body = $5
      WHERE api_key_id = $1 AND idempotency_key = $2`,
    [reservation.apiKeyId, reservation.key, response.status, JSON.stringify(response.headers), response.body],
  );
}

export async function releaseIdempotencyKey(
  db: pg.Pool,
  reservation: { apiKeyId: string; key: string },
): Promise<void> {
  await db.query(
    `DELETE FROM idempotency_keys WHERE api_key_id = $1 AND idempotency_key = $2 AND status = 'in_flight'`,
    [reservation.apiKeyId, reservation.key],
  );
}

/** Deletes expired keys; run by the maintenance timer. */
export async function purgeExpiredIdempotencyKeys(db: pg.Pool, now: Date): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM idempotency_keys WHERE expires_at <= $1`, [
    now.toISOString(),
  ]);
  return rowCount ?? 0;
}
