import { foldOpenChanges, type OpenFold } from "../analytics/fold-open-changes.js";
import { createPool } from "../db/pool.js";
import type { Logger } from "../logger.js";

export type FoldLoop = { stop(): Promise<void> };

/**
 * Runs the fold (foldOpenChanges) every `intervalMs` in this process, the next run `intervalMs` after the previous
 * one ended, so runs never overlap. Not a graphile-worker job: its cron is per minute and a job a second would be
 * mostly queue overhead. Every app instance may run the loop; the refresh's advisory lock, tried by each fold,
 * lets one fold at a time across instances (the others skip their turn). A failed fold is logged and the next
 * tick tries again: its changes stay in the log until a fold commits.
 *
 * It folds on a connection of its own (a pool of one, on `primaryUrl`), not the requests' pool: when ingest fills
 * that pool and its waiting line, the fold must still run, or every answer goes stale exactly under load.
 */
export function startFoldLoop(options: {
  primaryUrl: string;
  intervalMs: number;
  logger: Logger;
  /** Each fold's outcome (the bench and tests watch it). */
  onFold?: (fold: OpenFold) => void;
}): FoldLoop {
  const log = options.logger.child({ component: "fold" });
  const pool = createPool(options.primaryUrl, {
    name: "fold",
    max: 1,
    connectTimeoutMs: 10_000,
    logger: log,
  });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = foldOpenChanges(pool)
      .then((fold) => {
        options.onFold?.(fold);
        if (fold.folded)
          log.debug(
            { asOf: fold.as_of.toISOString(), ms: fold.duration_ms, changes: fold.changes },
            "open window folded",
          );
      })
      .catch((err: unknown) => log.warn({ err: { message: (err as Error).message } }, "fold failed"))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      await pool.end();
    },
  };
}
