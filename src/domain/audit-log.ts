import type pg from "pg";
import { UnprocessableError } from "./errors.js";

export type AuditLogRow = {
  /** bigint, read as text: ids can outgrow what a JS number holds exactly. */
  id: string;
  occurred_at: Date;
  principal_type: string;
  principal_id: string;
  action: string;
  resource_type: string;
  resource_id: string | null;
  request_id: string | null;
  details: Record<string, unknown> | null;
};

export type AuditLogQuery = {
  /** Rows with an id greater than this (a bigint as decimal text; "0" = from the beginning). */
  afterId: string;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  action?: string | undefined;
  limit: number;
};

const CURSOR_PREFIX = "audit:";
/** The largest BIGINT. A cursor beyond it is not one this API issued (and would overflow the ::bigint cast). */
const MAX_BIGINT = 9_223_372_036_854_775_807n;

export function encodeAuditCursor(afterId: string): string {
  return Buffer.from(`${CURSOR_PREFIX}${afterId}`).toString("base64url");
}

/** The id a cursor stands for; no cursor starts at the beginning. A cursor this API did not issue is a 422. */
export function decodeAuditCursor(raw: string | undefined): string {
  if (raw === undefined) return "0";
  const m = /^audit:(0|[1-9]\d{0,18})$/.exec(Buffer.from(raw, "base64url").toString("utf8"));
  if (!m?.[1] || BigInt(m[1]) > MAX_BIGINT || encodeAuditCursor(m[1]) !== raw) {
    throw new UnprocessableError("The cursor is not one this API issued.", [
      { location: "query", path: "/after", message: "invalid cursor" },
    ]);
  }
  return m[1];
}

/**
 * One page of the audit log, oldest first, in id order. Each filter adds one fixed predicate (no input reaches the
 * SQL text), so the planner sees exactly the filters asked for and walks the index that fits (migration 0017):
 * (resource_type, id), (action, id), (resource_type, resource_id) or the primary key.
 */
export async function readAuditLog(db: pg.Pool | pg.ClientBase, q: AuditLogQuery): Promise<AuditLogRow[]> {
  const params: unknown[] = [q.afterId];
  const where = ["a.id > $1::bigint"];
  const filter = (sql: (placeholder: string) => string, value: string | undefined) => {
    if (value === undefined) return;
    params.push(value);
    where.push(sql(`$${params.length}`));
  };
  filter((p) => `a.resource_type = ${p}`, q.resourceType);
  filter((p) => `a.resource_id = ${p}`, q.resourceId);
  filter((p) => `a.action = ${p}`, q.action);
  params.push(q.limit);
  const { rows } = await db.query<AuditLogRow>(
    // The id is read as text, so ordering must name the table's bigint column, not that text alias ("10" < "9").
    `SELECT a.id::text AS id, a.occurred_at, a.principal_type, a.principal_id, a.action, a.resource_type,
            a.resource_id, a.request_id, a.details
       FROM audit_log a
      WHERE ${where.join(" AND ")}
      ORDER BY a.id
      LIMIT $${params.length}`,
    params,
  );
  return rows;
}
