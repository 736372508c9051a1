import type pg from "pg";
import type { PrismaClient } from "../generated/prisma/client.js";
import { getReplicaStatus, type ReplicaStatus } from "./replication.js";

/** Why one replica does not take reads now. */
export type ReplicaReason = "replica-unreachable" | "replica-lagging" | "replica-not-in-recovery";

/** One replica's verdict, as reported in a primary fallback and in /readyz. */
export type ReplicaVerdict = {
  /** Its position in DATABASE_REPLICA_URLS: replica-1, replica-2, … */
  replica: string;
  /** host:port, never the credentials. */
  host: string;
} & ({ usable: true } | { usable: false; reason: ReplicaReason; lagSeconds?: number });

export type ReadSource =
  | {
      database: "replica";
      replica: string;
      host: string;
      /** Set when this request first ran on another replica, which failed under it and is now unusable. */
      retriedFrom?: string;
    }
  | {
      database: "primary";
      /**
       * `no-replica`: none configured. With replicas, the reason they share (one replica: its reason), or
       * `replicas-unusable` when their reasons differ; `replicas` says which is which.
       */
      reason: "no-replica" | ReplicaReason | "replicas-unusable";
      /** The smallest lag of the lagging replicas, when every replica is lagging. */
      lagSeconds?: number;
      replicas?: ReplicaVerdict[];
      retriedFrom?: string;
    };

export type ReadTarget = { pool: pg.Pool; prisma: PrismaClient; source: ReadSource };

/** A replica's connections and its name in reports. */
export type ReadReplica = { name: string; host: string; pool: pg.Pool; prisma: PrismaClient };

/** What /readyz shows per replica: its verdict and the status it was based on. */
export type ReplicaReport = ReplicaVerdict & { status: ReplicaStatus };

/** How long a replica health check is reused; reads in between go where the last check said. */
const CHECK_TTL_MS = 1_000;

/** One replica's last check, reused for CHECK_TTL_MS; concurrent reads share one check in flight. */
class ReplicaHealth {
  private checkedAt = 0;
  private pending: Promise<ReplicaReport> | undefined;
  private last: ReplicaReport | undefined;
  readonly target: ReadTarget;

  constructor(
    readonly replica: ReadReplica,
    private readonly primary: pg.Pool,
    private readonly maxLagSeconds: number,
  ) {
    this.target = {
      pool: replica.pool,
      prisma: replica.prisma,
      source: { database: "replica", replica: replica.name, host: replica.host },
    };
  }

  /** The last report while it is fresh, else undefined (the caller then awaits `check()`). */
  fresh(): ReplicaReport | undefined {
    return this.last && performance.now() - this.checkedAt < CHECK_TTL_MS ? this.last : undefined;
  }

  current(): Promise<ReplicaReport> {
    const fresh = this.fresh();
    if (fresh) return Promise.resolve(fresh);
    this.pending ??= this.check().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  forget(): void {
    this.checkedAt = 0;
  }

  private async check(): Promise<ReplicaReport> {
    const status = await getReplicaStatus(this.primary, this.replica.pool);
    const named = { replica: this.replica.name, host: this.replica.host };
    let verdict: ReplicaVerdict;
    if (!status.configured || !status.reachable)
      verdict = { ...named, usable: false, reason: "replica-unreachable" };
    else if (!status.inRecovery) verdict = { ...named, usable: false, reason: "replica-not-in-recovery" };
    else if ((status.lagSeconds ?? 0) > this.maxLagSeconds)
      verdict = {
        ...named,
        usable: false,
        reason: "replica-lagging",
        ...(status.lagSeconds !== null ? { lagSeconds: status.lagSeconds } : {}),
      };
    else verdict = { ...named, usable: true };
    this.last = { ...verdict, status };
    this.checkedAt = performance.now();
    return this.last;
  }
}

/**
 * Chooses where analytics reads go: round-robin over the replicas that are reachable, in recovery and no more than
 * `maxLagSeconds` behind; the primary, saying why, when none is. Each replica is checked on its own, and a check is
 * reused for a second; `recheck()` forgets them all. Round-robin rather than least-busy: requests here are short
 * and alike, and a per-request rotation spreads them evenly without reading pool counters that lag behind reality.
 * Shared by GraphQL, the REST analytics routes and /readyz.
 */
export class ReadRouter {
  private readonly replicas: ReplicaHealth[];
  private cursor = 0;

  constructor(
    private readonly primary: { pool: pg.Pool; prisma: PrismaClient },
    replicas: readonly ReadReplica[],
    readonly maxLagSeconds: number,
  ) {
    this.replicas = replicas.map((r) => new ReplicaHealth(r, primary.pool, maxLagSeconds));
  }

  async target(): Promise<ReadTarget> {
    if (this.replicas.length === 0) return this.noReplica();
    // The hot path: every check still fresh, no await per replica.
    const fresh = this.replicas.map((h) => h.fresh());
    const reports = fresh.every((r) => r !== undefined)
      ? fresh
      : await Promise.all(this.replicas.map((h) => h.current()));
    return this.choose(reports);
  }

  /** Every replica's report (checking the stale ones now) and where reads go, for /readyz. */
  async status(): Promise<{ target: ReadTarget; replicas: ReplicaReport[] }> {
    if (this.replicas.length === 0) return { target: this.noReplica(), replicas: [] };
    const replicas = await Promise.all(this.replicas.map((h) => h.current()));
    return { target: this.choose(replicas), replicas };
  }

  /** Forgets every check: the next read checks each replica again. */
  recheck(): void {
    for (const h of this.replicas) h.forget();
  }

  /** Forgets one replica's check (its connection failed): the next read checks it again. */
  recheckReplica(name: string): void {
    for (const h of this.replicas) if (h.replica.name === name) h.forget();
  }

  /**
   * After a read on `source` failed: checks that replica again now and, when it is no longer usable, returns where
   * the read should be retried (another replica or the primary), marked `retriedFrom`. Undefined when the source was
   * the primary or the replica is still healthy — the failure was the query's own, and a retry would fail alike.
   */
  async retryTarget(source: ReadSource): Promise<ReadTarget | undefined> {
    if (source.database !== "replica") return undefined;
    const health = this.replicas.find((h) => h.replica.name === source.replica);
    if (!health) return undefined;
    health.forget();
    if ((await health.current()).usable) return undefined;
    const next = await this.target();
    return { ...next, source: { ...next.source, retriedFrom: source.replica } };
  }

  private choose(reports: readonly (ReplicaReport | undefined)[]): ReadTarget {
    const n = this.replicas.length;
    for (let step = 0; step < n; step++) {
      const i = (this.cursor + step) % n;
      const health = this.replicas[i];
      if (health && reports[i]?.usable) {
        this.cursor = (i + 1) % n;
        return health.target;
      }
    }
    const verdicts: ReplicaVerdict[] = reports.flatMap((r) => {
      if (!r) return [];
      const { status: _status, ...verdict } = r;
      return [verdict];
    });
    const reasons = new Set(verdicts.flatMap((v) => (v.usable ? [] : [v.reason])));
    const [only] = reasons;
    const reason = reasons.size === 1 && only ? only : "replicas-unusable";
    const lags = verdicts.flatMap((v) => (!v.usable && v.lagSeconds !== undefined ? [v.lagSeconds] : []));
    return {
      ...this.primary,
      source: {
        database: "primary",
        reason,
        ...(reason === "replica-lagging" && lags.length > 0 ? { lagSeconds: Math.min(...lags) } : {}),
        replicas: verdicts,
      },
    };
  }

  private noReplica(): ReadTarget {
    return { ...this.primary, source: { database: "primary", reason: "no-replica" } };
  }
}
