import pg from "pg";
import { DatabaseUnavailableError } from "../domain/errors.js";
import type { Logger } from "../logger.js";

export type PoolOptions = {
  /** Shown in logs and in pg_stat_activity.application_name. */
  name: string;
  max: number;
  connectTimeoutMs: number;
  /** Requests that may wait for a busy pool before the next is refused at once (default: the larger of 100 and 10 × max). */
  maxWaiting?: number;
  logger: Logger;
};

/**
 * Every connection the application opens runs in UTC: the schema uses TIMESTAMP WITHOUT TIME ZONE (as the contract
 * does) and DEFAULT NOW() must write UTC whatever the server's TimeZone is. JIT is off: for these short queries its
 * compile time is the cost (measured on PG 15: the per-email outcomes view took 1.48 s with JIT, 0.15 s without).
 */
export const SESSION_OPTIONS = "-c TimeZone=UTC -c jit=off";

// TIMESTAMP WITHOUT TIME ZONE values hold UTC; pg would read them in the process' local zone. Parameters are sent
// as ISO-8601 UTC strings (see src/domain/time.ts), which PostgreSQL stores verbatim in a TIMESTAMP column.
const TIMESTAMP_OID = 1114;
pg.types.setTypeParser(TIMESTAMP_OID, (value) => new Date(`${value.replace(" ", "T")}Z`));

export function connectionConfig(url: string, applicationName: string): pg.ClientConfig {
  return { connectionString: url, options: SESSION_OPTIONS, application_name: applicationName };
}

/**
 * A burst of a few dozen requests against a pool of 10 should wait a few milliseconds, not fail; a stalled database
 * should not gather thousands of waiters.
 */
export function defaultMaxWaiting(max: number): number {
  return Math.max(100, max * 10);
}

export type BoundedPoolConfig = pg.PoolConfig & {
  /** Requests that may wait for a connection while every one is busy; past that, connect() fails at once. */
  maxWaiting: number;
};

/**
 * A pg pool whose waiting line is bounded: while every connection is busy and `maxWaiting` requests already wait,
 * the next one is refused at once (DatabaseUnavailableError → 503 with Retry-After) instead of queueing without
 * bound behind a database that has stalled. The wait itself is bounded by `connectionTimeoutMillis`.
 */
export class BoundedPool extends pg.Pool {
  readonly maxWaiting: number;

  constructor(config: BoundedPoolConfig) {
    const { maxWaiting, ...poolConfig } = config;
    super(poolConfig);
    this.maxWaiting = maxWaiting;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(
    callback: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): void;
  override connect(
    callback?: (
      err: Error | undefined,
      client: pg.PoolClient | undefined,
      done: (release?: unknown) => void,
    ) => void,
  ): Promise<pg.PoolClient> | undefined {
    const full = this.idleCount === 0 && this.totalCount >= (this.options.max ?? 10);
    if (full && this.waitingCount >= this.maxWaiting) {
      const err = new DatabaseUnavailableError(
        "Every database connection is busy and the waiting line is full; retry shortly.",
      );
      if (callback) {
        process.nextTick(() => callback(err, undefined, () => {}));
        return;
      }
      return Promise.reject(err);
    }
    if (!callback) return super.connect();
    super.connect(callback);
    return undefined;
  }
}

/**
 * A pg pool with explicit limits (pg's defaults wait forever for a connection) and error handlers. An idle client
 * that the server drops — a standby cancelling a session on conflict with recovery, a restart — is handled by the
 * pool's 'error' listener; a client that is checked out when its connection drops (pg-pool removes its own listener
 * during checkout) gets a permanent listener of its own at creation, so no dropped connection can crash the process
 * through an unhandled 'error' event. The query that was running fails, the client is discarded on release (it is
 * no longer queryable), and the next checkout opens a new connection.
 */
export function createPool(url: string, options: PoolOptions): pg.Pool {
  const pool = new BoundedPool({
    ...connectionConfig(url, `reachgraph:${options.name}`),
    max: options.max,
    maxWaiting: options.maxWaiting ?? defaultMaxWaiting(options.max),
    connectionTimeoutMillis: options.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
  });
  const onError = (err: Error) => {
    // While the pool ends, its sockets close after end() resolves; a server stopping then is not news.
    if (pool.ending) return;
    options.logger.warn({ pool: options.name, err: { message: err.message } }, "database connection error");
  };
  pool.on("error", onError);
  // A checked-out client's failure surfaces as the error of its running (or next) query; this only keeps the
  // event from being unhandled. (For an idle client pg-pool re-emits it on the pool, logged above.)
  pool.on("connect", (client) =>
    client.on("error", (err) =>
      options.logger.debug({ pool: options.name, err: { message: err.message } }, "database connection lost"),
    ),
  );
  return pool;
}
