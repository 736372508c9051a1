import type pg from "pg";
import { NotFoundError } from "./errors.js";
import type { UnitOfWork } from "./unit-of-work.js";

/** A suppression as the admin API shows it: the token itself stays in the database. */
export type SuppressionRow = {
  id: string;
  kind: "email" | "domain";
  lead_id: string | null;
  token_key_id: string;
  created_at: Date;
  lifted_at: Date | null;
  lifted_by: string | null;
};

const COLUMNS = "id, kind, lead_id, token_key_id, created_at, lifted_at, lifted_by";

export async function listSuppressions(
  db: pg.Pool,
  q: {
    limit: number;
    after: { at: Date; id: string } | null;
    lead_id?: string | undefined;
    active?: boolean | undefined;
  },
): Promise<SuppressionRow[]> {
  const { rows } = await db.query<SuppressionRow>(
    `SELECT ${COLUMNS} FROM lead_suppressions
      WHERE ($1::timestamp IS NULL OR (created_at, id) > ($1::timestamp, $2::uuid))
        AND ($3::uuid IS NULL OR lead_id = $3)
        AND ($4::boolean IS NULL OR (lifted_at IS NULL) = $4)
      ORDER BY created_at, id
      LIMIT $5`,
    [
      q.after?.at.toISOString() ?? null,
      q.after?.id ?? null,
      q.lead_id ?? null,
      q.active ?? null,
      q.limit + 1,
    ],
  );
  return rows;
}

/**
 * Lifts a suppression, so the lead's domain or email may be ingested again (an admin's decision, e.g. the person
 * asked to be contacted after all). Idempotent: lifting a lifted suppression changes nothing.
 */
export async function liftSuppression(uow: UnitOfWork, id: string): Promise<SuppressionRow> {
  const { rows } = await uow.tx.query<SuppressionRow>(
    `UPDATE lead_suppressions SET lifted_at = COALESCE(lifted_at, $2), lifted_by = COALESCE(lifted_by, $3)
      WHERE id = $1
      RETURNING ${COLUMNS}`,
    [id, uow.now.toISOString(), `${uow.principal.type}:${uow.principal.id}`],
  );
  const row = rows[0];
  if (!row) throw new NotFoundError("Suppression", id);
  uow.audit({
    action: "suppression.lifted",
    resourceType: "lead_suppression",
    resourceId: id,
    details: { kind: row.kind, lead_id: row.lead_id },
  });
  return row;
}
