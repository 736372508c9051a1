import type pg from "pg";
import type { PrismaClient } from "../generated/prisma/client.js";
import { getReplicaStatus, type ReplicaStatus } from "./replication.js";

export type ReadSource =
  | { database: "replica" }
  | {
      database: "primary";
      reason: "no-replica" | "replica-unreachable" | "replica-lagging" | "replica-not-in-recovery";
      lagSeconds?: number;
    };

export type ReadTarget = { pool: pg.Pool; prisma: PrismaClient; source: ReadSource };

/** How long a replica health check is reused; reads in between go where the last check said. */
const CHECK_TTL_MS = 1_000;

/**
 * Chooses where analytics reads go: the replica while it is reachable, in recovery and no more than
 * `maxLagSeconds` behind; otherwise the primary, saying why. The check is reused for a second; `recheck()` forgets
 * it. Shared by GraphQL, the REST analytics routes and /readyz.
 */
export class ReadRouter {
  private checkedAt = 0;
  private pending: Promise<ReadTarget> | undefined;
  private last: { target: ReadTarget; status: ReplicaStatus } | undefined;

  constructor(
    private readonly primary: { pool: pg.Pool; prisma: PrismaClient },
    private readonly replica: { pool: pg.Pool; prisma: PrismaClient } | undefined,
    readonly maxLagSeconds: number,
  ) {}

  async target(): Promise<ReadTarget> {
    if (!this.replica) return { ...this.primary, source: { database: "primary", reason: "no-replica" } };
    if (this.last && performance.now() - this.checkedAt < CHECK_TTL_MS) return this.last.target;
    this.pending ??= this.check().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  /** The last replica status seen (for /readyz), checking now when there is none or it is stale. */
  async status(): Promise<{ target: ReadTarget; status: ReplicaStatus }> {
    const target = await this.target();
    return { target, status: this.last?.status ?? { configured: false } };
  }

  /** Forgets the last check: the next read checks the replica again. */
  recheck(): void {
    this.checkedAt = 0;
  }

  private async check(): Promise<ReadTarget> {
    const replica = this.replica;
    if (!replica) return { ...this.primary, source: { database: "primary", reason: "no-replica" } };
    const status = await getReplicaStatus(this.primary.pool, replica.pool);
    let target: ReadTarget;
    if (!status.configured || !status.reachable)
      target = { ...this.primary, source: { database: "primary", reason: "replica-unreachable" } };
    else if (!status.inRecovery)
      target = { ...this.primary, source: { database: "primary", reason: "replica-not-in-recovery" } };
    else if ((status.lagSeconds ?? 0) > this.maxLagSeconds)
      target = {
        ...this.primary,
        source: {
          database: "primary",
          reason: "replica-lagging",
          lagSeconds: status.lagSeconds ?? undefined,
        },
      };
    else target = { ...replica, source: { database: "replica" } };
    this.last = { target, status };
    this.checkedAt = performance.now();
    return target;
  }
}
