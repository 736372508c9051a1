import type pg from "pg";

/**
 * Creates the monthly partitions of every partitioned table from `monthsBack` months before the current UTC month
 * to `monthsAhead` after it (migration 0007's reachgraph_ensure_partitions). Idempotent.
 */
export async function ensurePartitions(db: pg.Pool | pg.PoolClient, monthsBack: number, monthsAhead: number) {
  const r = await db.query<{ created: number }>("SELECT reachgraph_ensure_partitions($1, $2) AS created", [
    monthsBack,
    monthsAhead,
  ]);
  return r.rows[0]?.created ?? 0;
}

/** Monthly partitions covering [from, to] of one partitioned table. */
export async function ensurePartitionsBetween(
  db: pg.Pool | pg.PoolClient,
  table: string,
  from: Date,
  to: Date,
): Promise<number> {
  const r = await db.query<{ created: number }>(
    "SELECT reachgraph_ensure_monthly_partitions($1::regclass, $2::date, $3::date) AS created",
    [table, from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)],
  );
  return r.rows[0]?.created ?? 0;
}
