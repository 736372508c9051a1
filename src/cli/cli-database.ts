import os from "node:os";
import type { Config } from "../config.js";
import { type EmbeddedCluster, findRunningCluster, startEmbeddedCluster } from "../db/embedded/cluster.js";
import { stopAllPgProcesses } from "../db/embedded/pg-process.js";
import { type Logger, redactUrl } from "../logger.js";

/**
 * The database a command-line tool works on: DATABASE_URL when set; otherwise the embedded cluster — the running
 * one (started by `npm start`) if it answers (on the ports recorded in its cluster.json), else started for the
 * duration of the command.
 */
export async function withCliDatabase<T>(
  config: Config,
  logger: Logger,
  fn: (urls: { primaryUrl: string; replicaUrls: readonly string[] }) => Promise<T>,
): Promise<T> {
  if (config.database.primaryUrl) {
    logger.info({ database: redactUrl(config.database.primaryUrl) }, "using DATABASE_URL");
    return fn({ primaryUrl: config.database.primaryUrl, replicaUrls: config.database.replicaUrls });
  }
  const running = await findRunningCluster(config.embedded);
  if (running) {
    logger.info({ database: redactUrl(running.primaryUrl) }, "using the running embedded cluster");
    return fn(running);
  }
  let cluster: EmbeddedCluster | undefined;
  // The servers run in their own process group, so a Ctrl-C reaches only this process, whose default reaction (exit
  // at once, without an "exit" event) would leave them running: stop them first. One stop for a burst of signals.
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    logger.warn({ signal }, "interrupted: stopping the embedded cluster");
    void stopAllPgProcesses().finally(() => process.exit(128 + os.constants.signals[signal]));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    cluster = await startEmbeddedCluster({ ...config.embedded, logger });
    logger.info({ database: redactUrl(cluster.primaryUrl) }, "started the embedded cluster for this command");
    return await fn(cluster);
  } finally {
    await cluster?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}
