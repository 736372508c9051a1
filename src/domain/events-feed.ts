import type pg from "pg";
import { UnprocessableError } from "./errors.js";

export type FeedPosition = { txid: string; position: string };
export type FeedRow = {
  txid: string;
  position: string;
  id: string;
  type: string;
  version: number;
  occurred_at: Date;
  correlation_id: string;
  payload: Record<string, unknown>;
};

export function encodeFeedCursor(p: FeedPosition): string {
  return Buffer.from(`${p.txid}:${p.position}`).toString("base64url");
}

export function decodeFeedCursor(raw: string | undefined): FeedPosition {
  if (raw === undefined) return { txid: "0", position: "0" };
  const m = /^(\d{1,19}):(\d{1,19})$/.exec(Buffer.from(raw, "base64url").toString("utf8"));
  if (!m?.[1] || !m[2]) {
    throw new UnprocessableError("The cursor is not one this API issued.", [
      { location: "query", path: "/after", message: "invalid cursor" },
    ]);
  }
  return { txid: m[1], position: m[2] };
}

/**
 * The outbox in commit-safe order. Events are ordered by (writing transaction id, position) and only events of
 * transactions older than every transaction still running are served: a transaction that commits late can then
 * never slip an event in behind a cursor a consumer already holds. The price is that the feed lags behind a long
 * open transaction.
 */
export async function readEventFeed(
  db: pg.Pool,
  q: { after: FeedPosition; types: string[] | undefined; limit: number },
): Promise<FeedRow[]> {
  const { rows } = await db.query<FeedRow>(
    // The cursor columns are read as text (bigint exceeds what a JS number holds exactly); ordering must use the
    // table's bigint columns, not those text aliases, or "17" would sort before "8".
    `SELECT e.txid::text AS txid, e.position::text AS position, e.id, e.type, e.version, e.occurred_at,
            e.correlation_id, e.payload
       FROM event_outbox e
      WHERE (e.txid, e.position) > ($1::bigint, $2::bigint)
        AND e.txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
        AND ($3::text[] IS NULL OR e.type = ANY($3::text[]))
      ORDER BY e.txid, e.position
      LIMIT $4`,
    [q.after.txid, q.after.position, q.types ?? null, q.limit],
  );
  return rows;
}
