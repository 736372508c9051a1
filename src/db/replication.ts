import type pg from "pg";

export type ReplicaStatus =
  | { configured: false }
  | {
      configured: true;
      reachable: true;
      inRecovery: boolean;
      lagBytes: number | null;
      lagSeconds: number | null;
    }
  | { configured: true; reachable: false; error: string };

/**
 * How far the replica is behind the primary: bytes of WAL the primary has written that the replica has not replayed,
 * and seconds since the last replayed transaction's commit (0 when the replica has replayed everything — an idle
 * primary would otherwise look ever more "behind").
 */
export async function getReplicaStatus(
  primary: pg.Pool,
  replica: pg.Pool | undefined,
): Promise<ReplicaStatus> {
  if (!replica) return { configured: false };
  try {
    const r = await replica.query<{
      in_recovery: boolean;
      replay_lsn: string | null;
      replay_ts_age: number | null;
    }>(
      `SELECT pg_is_in_recovery() AS in_recovery,
              pg_last_wal_replay_lsn()::text AS replay_lsn,
              EXTRACT(EPOCH FROM (clock_timestamp() - pg_last_xact_replay_timestamp()))::float8 AS replay_ts_age`,
    );
    const row = r.rows[0];
    if (!row) throw new Error("replica returned no row");
    if (!row.in_recovery || row.replay_lsn === null) {
      return {
        configured: true,
        reachable: true,
        inRecovery: row.in_recovery,
        lagBytes: null,
        lagSeconds: null,
      };
    }
    const p = await primary.query<{ lag_bytes: string }>(
      "SELECT GREATEST(pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn), 0)::bigint::text AS lag_bytes",
      [row.replay_lsn],
    );
    const lagBytes = Number(p.rows[0]?.lag_bytes ?? 0);
    const lagSeconds = lagBytes === 0 ? 0 : Math.max(0, row.replay_ts_age ?? 0);
    return { configured: true, reachable: true, inRecovery: true, lagBytes, lagSeconds };
  } catch (err) {
    return { configured: true, reachable: false, error: (err as Error).message };
  }
}

/**
 * Waits until the replica has replayed everything the primary had written when this was called (read-your-writes
 * for tests and for start-up after seeding).
 */
export async function waitForReplica(primary: pg.Pool, replica: pg.Pool, timeoutMs = 30_000): Promise<void> {
  const target = (await primary.query<{ lsn: string }>("SELECT pg_current_wal_lsn()::text AS lsn")).rows[0]
    ?.lsn;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await replica.query<{ caught_up: boolean }>(
      "SELECT COALESCE(pg_last_wal_replay_lsn() >= $1::pg_lsn, true) AS caught_up",
      [target],
    );
    if (r.rows[0]?.caught_up) return;
    if (Date.now() > deadline)
      throw new Error(`replica did not replay up to ${target} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
