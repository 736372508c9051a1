import graphileWorker, { type Runner, type TaskList } from "graphile-worker";
import type pg from "pg";
import { refreshViews } from "../analytics/refresh-views.js";
import { runRetention } from "../compliance/retention.js";
import { DEFAULT_RETENTION_POLICY, type RetentionPolicy } from "../compliance/retention-policy.js";
import { ensurePartitions } from "../db/partitions.js";
import { evaluateActiveAbTests } from "../domain/ab-evaluation.js";
import { EventValidator } from "../events/schemas.js";
import type { Logger } from "../logger.js";
import { purgeExpiredIdempotencyKeys } from "../rest/idempotency.js";

const { run, Logger: WorkerLogger } = graphileWorker;

/**
 * Periodic work as graphile-worker jobs (a PostgreSQL-backed queue and cron: one run per period across any number
 * of server processes, retried on failure, with its history in the `graphile_worker` schema).
 */
export function crontab(viewRefreshIntervalMinutes: number): string {
  return [
    // Monthly partitions of email_sends / ai_gym_performance kept ready ahead (spec §6).
    "0 */6 * * * maintain_partitions ?max=3",
    // Idempotency-Key responses are kept 24 h.
    "15 * * * * purge_idempotency_keys ?max=3",
    // The read side's rollups: the horizon moves and closed days are recounted (the open window is folded every
    // second by the fold loop, src/jobs/fold-loop.ts); the job key keeps at most one refresh queued.
    `*/${viewRefreshIntervalMinutes} * * * * refresh_views ?max=1&jobKey=refresh_views&jobKeyMode=preserve_run_at`,
    // A/B tests decide themselves: a look of the always-valid sequential test at every active test. Any number of
    // looks keeps the error rate (that is what always-valid means), so the period is about freshness only.
    "*/15 * * * * ab_evaluate ?max=3&jobKey=ab_evaluate&jobKeyMode=preserve_run_at",
    // Retention (spec §8) once a day, at a quiet hour (UTC); a failed run is retried, a run is safe to repeat.
    "30 3 * * * retention ?max=3&jobKey=retention&jobKeyMode=preserve_run_at",
  ].join("\n");
}

export type SchedulerOptions = {
  url: string;
  primary: pg.Pool;
  logger: Logger;
  partitionMonthsAhead: number;
  viewRefreshIntervalMinutes: number;
  /** Request clock for the purge and the retention policy; tests move it. */
  clock?: () => Date;
  /** Months per class of data (config RETENTION_*_MONTHS); the policy's defaults when absent. */
  retention?: RetentionPolicy;
  /** Tests poll fast; the server relies on LISTEN/NOTIFY and polls rarely. */
  pollIntervalMs?: number;
};

export function maintenanceTasks(options: SchedulerOptions): TaskList {
  const clock = options.clock ?? (() => new Date());
  let events: EventValidator | undefined;
  return {
    maintain_partitions: async () => {
      const created = await ensurePartitions(options.primary, 1, options.partitionMonthsAhead);
      if (created > 0) options.logger.info({ created }, "monthly partitions created");
    },
    refresh_views: async () => {
      const r = await refreshViews(options.primary, "schedule");
      options.logger.info(
        {
          asOf: r.as_of.toISOString(),
          ms: r.duration_ms,
          views: Object.fromEntries(r.views.map((v) => [v.view_name, v.duration_ms])),
        },
        "analytics views refreshed",
      );
    },
    purge_idempotency_keys: async () => {
      const purged = await purgeExpiredIdempotencyKeys(options.primary, clock());
      if (purged > 0) options.logger.info({ purged }, "expired idempotency keys purged");
    },
    ab_evaluate: async (_payload, helpers) => {
      events ??= new EventValidator();
      const looks = await evaluateActiveAbTests(options.primary, {
        now: clock(),
        events,
        runId: `ab-evaluate-${helpers.job.id}`,
      });
      const decided = looks.filter((l) => l.winner !== null);
      const stopped = looks.filter((l) => l.newly_stopped.length > 0);
      if (decided.length > 0 || stopped.length > 0) {
        options.logger.info(
          {
            evaluated: looks.length,
            decided: decided.map((l) => ({ abTestId: l.ab_test_id, winner: l.winner })),
            stopped: stopped.map((l) => ({ abTestId: l.ab_test_id, variants: l.newly_stopped })),
          },
          "A/B tests evaluated",
        );
      } else options.logger.debug({ evaluated: looks.length }, "A/B tests evaluated");
    },
    retention: async () => {
      events ??= new EventValidator();
      const r = await runRetention(options.primary, {
        now: clock(),
        policy: options.retention ?? DEFAULT_RETENTION_POLICY,
        events,
      });
      if ("skipped" in r) {
        options.logger.warn({ reason: r.skipped }, "retention skipped");
        return;
      }
      // The same figures as `npm run retention` prints (counts and partition names: no PII).
      options.logger.info(
        {
          runId: r.run_id,
          seal: r.seal,
          leads: r.leads,
          emailLogs: {
            ...r.email_logs,
            partitions_dropped: r.email_logs.partitions_dropped.map((p) => `${p.name} (${p.rows})`),
          },
          aiHashes: r.ai_hashes,
          assets: r.assets,
        },
        "retention run",
      );
    },
  };
}

/** Starts the job runner (its own small pool); stop it with `runner.stop()`. */
export async function startScheduler(options: SchedulerOptions): Promise<Runner> {
  const log = options.logger.child({ component: "jobs" });
  return run({
    connectionString: options.url,
    maxPoolSize: 3,
    concurrency: 1,
    noHandleSignals: true,
    pollInterval: options.pollIntervalMs ?? 60_000,
    taskList: maintenanceTasks(options),
    crontab: crontab(options.viewRefreshIntervalMinutes),
    logger: new WorkerLogger(() => (level, message, meta) => {
      const fields = { ...meta };
      if (level === "error") log.error(fields, message);
      else if (level === "warning") log.warn(fields, message);
      else log.debug(fields, message);
    }),
  });
}
