import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { PrismaClient } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";
import { createPool } from "./pool.js";

export type DatabaseUrls = { primaryUrl: string; replicaUrl: string | undefined };

/**
 * The application's connections. Writes use `primary`; analytics reads use `reader`, which is the replica when one
 * is configured and the primary otherwise.
 */
export type Databases = {
  primary: pg.Pool;
  replica: pg.Pool | undefined;
  reader: pg.Pool;
  prisma: PrismaClient;
  prismaReader: PrismaClient;
  close(): Promise<void>;
};

export function createPrismaClient(pool: pg.Pool): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}

export function connectDatabases(
  urls: DatabaseUrls,
  options: { max: number; connectTimeoutMs: number; logger: Logger },
): Databases {
  const primary = createPool(urls.primaryUrl, { name: "primary", ...options });
  const replica = urls.replicaUrl ? createPool(urls.replicaUrl, { name: "replica", ...options }) : undefined;
  const reader = replica ?? primary;
  const prisma = createPrismaClient(primary);
  const prismaReader = replica ? createPrismaClient(replica) : prisma;
  return {
    primary,
    replica,
    reader,
    prisma,
    prismaReader,
    async close() {
      await prisma.$disconnect();
      if (prismaReader !== prisma) await prismaReader.$disconnect();
      await primary.end();
      await replica?.end();
    },
  };
}
