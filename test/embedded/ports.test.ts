/**
 * Embedded ports: unset, they are preferences — a start takes the next free ports when another program holds them,
 * records them in cluster.json and keeps them; set explicitly, a taken port stops the start with a message that says
 * which port, what holds it, and which variable to change.
 */
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import {
  type ClusterPorts,
  type EmbeddedCluster,
  findRunningCluster,
  startEmbeddedCluster,
} from "../../src/db/embedded/cluster.js";
import { createLogger } from "../../src/logger.js";
import { freePort } from "../support/urls.js";
import { postgresOf } from "./npm-start.js";

const logger = createLogger("silent", "test");
const dataDir = path.resolve(".test-data", `ports-${randomBytes(4).toString("hex")}`);
const holders: net.Server[] = [];
const clusters: EmbeddedCluster[] = [];
let clusterDir = dataDir;

afterAll(async () => {
  for (const c of clusters) await c.stop().catch(() => {});
  await Promise.all(holders.map((h) => new Promise((r) => h.close(r))));
  await rm(dataDir, { recursive: true, force: true });
  await rm(clusterDir, { recursive: true, force: true });
});

/** A foreign listener on 127.0.0.1 (a random port when none is given). */
async function hold(port = 0): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  holders.push(server);
  return (server.address() as net.AddressInfo).port;
}

async function start(options: Partial<Parameters<typeof startEmbeddedCluster>[0]>): Promise<EmbeddedCluster> {
  const cluster = await startEmbeddedCluster({ dataDir, logger, ...options });
  clusters.push(cluster);
  clusterDir = cluster.dataDir;
  return cluster;
}

function portsOf(cluster: EmbeddedCluster): ClusterPorts {
  return {
    primary: Number(new URL(cluster.primaryUrl).port),
    replica: Number(new URL(cluster.replicaUrl ?? "").port),
  };
}

async function recordedPorts(): Promise<ClusterPorts | undefined> {
  return (
    JSON.parse(await readFile(path.join(clusterDir, "cluster.json"), "utf8")) as { ports?: ClusterPorts }
  ).ports;
}

async function query(url: string, sql: string): Promise<Record<string, unknown> | undefined> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return (await client.query(sql)).rows[0];
  } finally {
    await client.end();
  }
}

describe("embedded ports", () => {
  it("unset: preferred ports held by another program are skipped, recorded, and reused", async () => {
    const preferredPorts = { primary: await hold(), replica: await hold() };

    const first = await start({ preferredPorts });
    const chosen = portsOf(first);
    expect(chosen.primary).not.toBe(preferredPorts.primary);
    expect(chosen.replica).not.toBe(preferredPorts.replica);
    expect(chosen.primary).not.toBe(chosen.replica);
    expect(await recordedPorts()).toEqual(chosen);
    await first.stop();

    const second = await start({ preferredPorts });
    expect(portsOf(second)).toEqual(chosen);
    // Command-line tools find the running cluster on its recorded ports, not on the defaults.
    expect(await findRunningCluster({ dataDir })).toEqual({
      primaryUrl: second.primaryUrl,
      replicaUrl: second.replicaUrl,
      replicaUrls: second.replicaUrls,
    });
    await second.stop();

    // The recorded primary port is now someone else's: the next start moves, records it, and the replica follows.
    await hold(chosen.primary);
    const third = await start({ preferredPorts });
    const moved = portsOf(third);
    expect(moved.primary).not.toBe(chosen.primary);
    expect(moved.replica).toBe(chosen.replica);
    expect(await recordedPorts()).toEqual(moved);
    await query(third.primaryUrl, "CREATE TABLE IF NOT EXISTS port_move_probe (id int)");
    let streaming: unknown;
    for (let i = 0; i < 100 && streaming !== "streaming"; i++) {
      streaming = (await query(third.replicaUrl ?? "", "SELECT status FROM pg_stat_wal_receiver"))?.status;
      if (streaming !== "streaming") await new Promise((r) => setTimeout(r, 50));
    }
    expect(streaming).toBe("streaming");
    await third.stop();
    expect(postgresOf(clusterDir)).toEqual([]);
  });

  it("explicit: a taken port fails the start, naming the port, its holder and the variable", async () => {
    const taken = await hold();
    await expect(start({ primaryPort: taken, replicaPort: await freePort() })).rejects.toThrow(
      new RegExp(`Port ${taken}\\b.*EMBEDDED_PG_PORT.*pid ${process.pid} \\(\\S*node`, "s"),
    );
    await expect(start({ primaryPort: await freePort(), replicaPort: taken })).rejects.toThrow(
      new RegExp(`Port ${taken}\\b.*EMBEDDED_PG_REPLICA_PORT.*pid ${process.pid} \\(\\S*node`, "s"),
    );
    expect(postgresOf(clusterDir)).toEqual([]);
  });
});
