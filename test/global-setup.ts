import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { type EmbeddedCluster, startEmbeddedCluster } from "../src/db/embedded/cluster.js";
import { migrate } from "../src/db/migrate.js";
import { createLogger } from "../src/logger.js";
import { freePort, withDatabase } from "./support/urls.js";

declare module "vitest" {
  export interface ProvidedContext {
    primaryUrl: string;
    /** Undefined when the target has no replica (an external server without TEST_DATABASE_REPLICA_URL). */
    replicaUrl: string | undefined;
    target: string;
  }
}

/**
 * One database server for the whole run: the embedded primary + replica (default), or TEST_DATABASE_URL (+
 * TEST_DATABASE_REPLICA_URL). Tests get a fresh database created for this run, migrated to the latest version.
 */
export default async function setup(project: TestProject) {
  const logger = createLogger("warn", "test");
  const dbName = `reachgraph_test_${randomBytes(4).toString("hex")}`;
  let cluster: EmbeddedCluster | undefined;
  let serverUrl: string;
  let replicaServerUrl: string | undefined;
  let target: string;

  if (process.env.TEST_DATABASE_URL) {
    serverUrl = process.env.TEST_DATABASE_URL;
    replicaServerUrl = process.env.TEST_DATABASE_REPLICA_URL || undefined;
    target = `external ${new URL(serverUrl).host}`;
  } else {
    cluster = await startEmbeddedCluster({
      dataDir: path.resolve(".test-data", randomBytes(4).toString("hex")),
      primaryPort: await freePort(),
      replicaPort: await freePort(),
      logger,
    });
    serverUrl = cluster.primaryUrl;
    replicaServerUrl = cluster.replicaUrl;
    target = "embedded";
  }

  const stopCluster = async (c: EmbeddedCluster) => {
    await c.stop();
    await rm(c.dataDir, { recursive: true, force: true });
  };
  try {
    return await prepare();
  } catch (err) {
    // A failed setup gets no teardown: stop the cluster here, or its servers outlive the run.
    if (cluster) await stopCluster(cluster).catch(() => {});
    throw err;
  }

  async function prepare() {
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    const version = (await admin.query<{ v: string }>("SELECT current_setting('server_version') AS v"))
      .rows[0]?.v;
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const primaryUrl = withDatabase(serverUrl, dbName);
    const replicaUrl = replicaServerUrl ? withDatabase(replicaServerUrl, dbName) : undefined;
    await migrate(primaryUrl, { logger });

    console.log(
      `\n[reachgraph tests] PostgreSQL ${version} (${target}), database ${dbName}` +
        (replicaUrl
          ? ", with a streaming replica"
          : ", no replica: replica cases are skipped (set TEST_DATABASE_REPLICA_URL)"),
    );
    project.provide("primaryUrl", primaryUrl);
    project.provide("replicaUrl", replicaUrl);
    project.provide("target", `PostgreSQL ${version} (${target})`);

    return async () => {
      if (cluster) return stopCluster(cluster);
      const c = new pg.Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    };
  }
}
