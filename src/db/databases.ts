import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { PrismaClient } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";
import { createPool } from "./pool.js";
import { ReadRouter } from "./read-router.js";

export type DatabaseUrls = { primaryUrl: string; replicaUrl: string | undefined };

/**
 * The application's connections. Writes use `primary` (and `prisma` on it); analytics reads go where `readRouter`
 * says: the replica's pool and Prisma client while the replica is healthy, else the primary's.
 */
export type Databases = {
  primary: pg.Pool;
  replica: pg.Pool | undefined;
  prisma: PrismaClient;
  /** Analytics reads: the replica while it is healthy and not lagging, else the primary (with the reason). */
  readRouter: ReadRouter;
  close(): Promise<void>;
};

export function createPrismaClient(pool: pg.Pool): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}

export function connectDatabases(
  urls: DatabaseUrls,
  options: {
    max: number;
    /** Requests that may wait for a busy pool (default: the larger of 100 and 10 × max). */
    maxWaiting?: number;
    connectTimeoutMs: number;
    logger: Logger;
    /** Reads fall back to the primary while the replica is further behind than this. */
    replicaMaxLagSeconds?: number;
  },
): Databases {
  const primary = createPool(urls.primaryUrl, { name: "primary", ...options });
  const replica = urls.replicaUrl ? createPool(urls.replicaUrl, { name: "replica", ...options }) : undefined;
  const prisma = createPrismaClient(primary);
  const prismaReader = replica ? createPrismaClient(replica) : prisma;
  const readRouter = new ReadRouter(
    { pool: primary, prisma },
    replica ? { pool: replica, prisma: prismaReader } : undefined,
    options.replicaMaxLagSeconds ?? 30,
  );
  return {
    primary,
    replica,
    prisma,
    readRouter,
    async close() {
      await prisma.$disconnect();
      if (prismaReader !== prisma) await prismaReader.$disconnect();
      await primary.end();
      await replica?.end();
    },
  };
}
