import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { PrismaClient } from "../generated/prisma/client.js";
import type { Logger } from "../logger.js";
import { createPool } from "./pool.js";
import { type ReadReplica, ReadRouter } from "./read-router.js";

/**
 * Where the databases are. `replicaUrls` lists the read replicas; `replicaUrl` is the older one-replica form (and
 * what an embedded cluster also carries as its first replica): both are merged, first `replicaUrl`, duplicates
 * dropped.
 */
export type DatabaseUrls = {
  primaryUrl: string;
  replicaUrls?: readonly string[] | undefined;
  replicaUrl?: string | undefined;
};

/**
 * The application's connections. Writes use `primary` (and `prisma` on it); analytics reads go where `readRouter`
 * says: one of the healthy replicas' pool and Prisma client, else the primary's.
 */
export type Databases = {
  primary: pg.Pool;
  /** The first replica's pool (tests wait on it for read-your-writes); undefined without replicas. */
  replica: pg.Pool | undefined;
  /** Every replica, in configuration order, named replica-1, replica-2, … */
  replicas: ReadReplica[];
  prisma: PrismaClient;
  /** Analytics reads: a replica that is healthy and not lagging, else the primary (with the reason). */
  readRouter: ReadRouter;
  close(): Promise<void>;
};

export function createPrismaClient(pool: pg.Pool): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}

/** The merged replica list of `urls` (see DatabaseUrls). */
export function replicaUrlsOf(urls: DatabaseUrls): string[] {
  return [...new Set([...(urls.replicaUrl ? [urls.replicaUrl] : []), ...(urls.replicaUrls ?? [])])];
}

/** host:port of a URL, for reports: never its user or password. */
export function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || "5432"}`;
  } catch {
    return "[unparseable url]";
  }
}

export function connectDatabases(
  urls: DatabaseUrls,
  options: {
    max: number;
    /** Requests that may wait for a busy pool (default: the larger of 100 and 10 × max). */
    maxWaiting?: number;
    connectTimeoutMs: number;
    logger: Logger;
    /** Reads leave a replica while it is further behind than this. */
    replicaMaxLagSeconds?: number;
  },
): Databases {
  const primary = createPool(urls.primaryUrl, { name: "primary", ...options });
  const prisma = createPrismaClient(primary);
  const replicas: ReadReplica[] = replicaUrlsOf(urls).map((url, i) => {
    const name = `replica-${i + 1}`;
    const pool = createPool(url, { name, ...options });
    return { name, host: hostOf(url), pool, prisma: createPrismaClient(pool) };
  });
  const readRouter = new ReadRouter({ pool: primary, prisma }, replicas, options.replicaMaxLagSeconds ?? 30);
  // An idle connection the replica dropped (it is stopping, or cancelled us on conflict with recovery): look at
  // that replica again before the next read instead of trusting a check up to a second old.
  for (const r of replicas) r.pool.on("error", () => readRouter.recheckReplica(r.name));
  return {
    primary,
    replica: replicas[0]?.pool,
    replicas,
    prisma,
    readRouter,
    async close() {
      await prisma.$disconnect();
      for (const r of replicas) await r.prisma.$disconnect();
      await primary.end();
      for (const r of replicas) await r.pool.end();
    },
  };
}
