import type pg from "pg";

/** A column of a bulk insert and the PostgreSQL array type its values are sent as. */
export type BulkColumn = { name: string; type: string };

/**
 * Inserts many rows in one statement: each column travels as one array parameter and `unnest` turns the arrays
 * back into rows (INSERT … SELECT FROM unnest($1::uuid[], $2::text[], …)). One round trip per batch instead of
 * per row, and no statement-size blow-up from a VALUES list. JSON values are passed as strings (jsonb[]).
 */
export async function bulkInsert(
  db: pg.PoolClient | pg.Pool,
  table: string,
  columns: readonly BulkColumn[],
  rows: readonly (readonly unknown[])[],
  batchSize = 5_000,
): Promise<number> {
  if (rows.length === 0) return 0;
  const names = columns.map((c) => `"${c.name}"`).join(", ");
  const params = columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ");
  const sql = `INSERT INTO "${table}" (${names}) SELECT * FROM unnest(${params})`;
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const arrays = columns.map((_, i) => batch.map((row) => row[i] ?? null));
    await db.query(sql, arrays);
  }
  return rows.length;
}
