import { randomUUID } from "node:crypto";
import type pg from "pg";
import { refreshViews } from "../analytics/refresh-views.js";
import { eraseLead } from "../domain/erase-lead.js";
import type { Principal } from "../domain/principal.js";
import { inSystemTransaction, type UnitOfWork } from "../domain/unit-of-work.js";
import type { EventValidator } from "../events/schemas.js";
import { type RetentionClass, type RetentionPolicy, retentionCutoffs } from "./retention-policy.js";

/**
 * Applies the retention policy (spec §8, src/compliance/retention-policy.ts) once. Every step is idempotent and
 * works in short transactions of its own — one per lead erased, one per dropped partition, one per batch of
 * messages, hashes or assets — so a long run never holds locks for long, and a run that fails part-way leaves what
 * it did done and audited; the next run carries on. Runs are serialised by an advisory lock.
 *
 * Metrics are unchanged by a run: what is stripped is not counted by any KPI, erasure tombstones (eraseLead), and
 * archiving keeps the statuses the KPI views count. The one purge that removes counted rows, dropping email_sends
 * partitions, comes after the seal: the run first refreshes the rollups (recounting every pending mark) and seals
 * the closed days before the email cutoff in that same refresh; a partition is dropped only when every day its
 * rows are counted on (queued and sent) is sealed. So the closed rollups keep those days' numbers, and no later
 * recount rewrites them (views/README.md).
 */
export type RetentionOptions = {
  /** The policy's clock: data older than `now` minus each class's months is due. */
  now: Date;
  policy: RetentionPolicy;
  /** Count what would be done; change nothing (no refresh, no seal, no audit row). */
  dryRun?: boolean;
  events: EventValidator;
  /** Rows per transaction for messages, hashes and assets (leads are erased one per transaction). */
  batchSize?: number;
};

export type DroppedPartition = { name: string; from: string; to: string; rows: number };
export type WaitingPartition = { name: string; from: string; to: string; reason: string };

export type RetentionReport = {
  run_id: string;
  dry_run: boolean;
  now: string;
  /** Per class: data older than this is due. */
  cutoffs: Record<RetentionClass, string>;
  /** The rollup seal (closed days before it are never recounted), before and after this run. */
  seal: { before: string; after: string };
  leads: {
    /** Erased (dry run: would be). */
    erased: number;
    /** Idle past the cutoff but kept: `retention_extended_until` lies after now. */
    kept_by_extension: number;
  };
  email_logs: {
    /** email_sends partitions dropped (dry run: would be), with their rows. */
    partitions_dropped: DroppedPartition[];
    email_sends_dropped: number;
    /** Rows of old months found in the DEFAULT partition and moved into monthly partitions so they could go. */
    email_sends_moved_from_default: number;
    /** Partitions past the cutoff that stay for now, and why. */
    partitions_waiting: WaitingPartition[];
    conversation_messages_stripped: number;
  };
  ai_hashes: { ai_gym_records_cleared: number };
  assets: {
    demo_sites_archived: number;
    videos_archived: number;
    /** Due by age but flagged `is_case_study`: kept as they are. */
    case_studies_kept: number;
  };
};

/** A run that found another one in progress. */
export type RetentionSkipped = { skipped: "another retention run is in progress" };

const RUN_LOCK_KEY = "reachgraph:retention";
const DEFAULT_BATCH_SIZE = 1000;
/** A partition drop waits this long for the parent's lock, then gives up until the next run (it never queues
 * every reader of email_sends behind a long query). */
const DROP_LOCK_TIMEOUT = "5s";
/** SQLSTATE 55P03: lock_timeout expired. */
const LOCK_NOT_AVAILABLE = "55P03";
const SYSTEM: Principal = { type: "system", id: "retention" };

export async function runRetention(
  primary: pg.Pool,
  options: RetentionOptions,
): Promise<RetentionReport | RetentionSkipped> {
  const lock = await primary.connect();
  let locked = false;
  try {
    const got = await lock.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [
      RUN_LOCK_KEY,
    ]);
    locked = got.rows[0]?.ok === true;
    if (!locked) return { skipped: "another retention run is in progress" };
    return await new RetentionRun(primary, options).run();
  } finally {
    if (locked) await lock.query("SELECT pg_advisory_unlock(hashtext($1))", [RUN_LOCK_KEY]).catch(() => {});
    lock.release();
  }
}

/** `YYYY-MM-DD` of the UTC day an instant falls on. */
const utcDay = (d: Date) => d.toISOString().slice(0, 10);

/**
 * A lead is idle since `$1` when neither it nor anything of it moved since: its own created/updated time, its
 * emails (queued, sent, opened, clicked, replied), its threads and their messages, its meetings and deals.
 * `l` is the lead; $1 the cutoff.
 */
const LEAD_IDLE = `
      l.erased_at IS NULL
  AND l.created_at < $1 AND l.updated_at < $1
  AND NOT EXISTS (SELECT 1 FROM email_sends e
                   WHERE e.lead_id = l.id
                     AND (e.created_at >= $1 OR e.sent_at >= $1 OR e.opened_at >= $1 OR e.clicked_at >= $1
                          OR e.replied_at >= $1))
  AND NOT EXISTS (SELECT 1 FROM conversations c
                   WHERE c.lead_id = l.id
                     AND (c.created_at >= $1 OR c.last_message_at >= $1
                          OR EXISTS (SELECT 1 FROM conversation_messages m
                                      WHERE m.conversation_id = c.id AND m.sent_at >= $1)))
  AND NOT EXISTS (SELECT 1 FROM meetings m
                   WHERE m.lead_id = l.id AND (m.booked_at >= $1 OR m.created_at >= $1 OR m.scheduled_for >= $1))
  AND NOT EXISTS (SELECT 1 FROM deals d
                   WHERE d.lead_id = l.id
                     AND (d.created_at >= $1 OR d.updated_at >= $1 OR d.won_at >= $1 OR d.lost_at >= $1))`;
/** …and its retention is not extended past `$2` (now). */
const NOT_EXTENDED = "(l.retention_extended_until IS NULL OR l.retention_extended_until <= $2)";

/** Messages that still carry an address, text or a mailbox id (migration 0016's partial index), sent before $1. */
const MESSAGE_UNSTRIPPED = `m.sent_at < $1
  AND (m.from_email IS NOT NULL OR m.to_email IS NOT NULL OR m.subject IS NOT NULL OR m.body IS NOT NULL
       OR m.gmail_message_id IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM conversations c JOIN leads l ON l.id = c.lead_id
                   WHERE c.id = m.conversation_id AND l.erased_at IS NOT NULL)`;

/** AI-GYM rows created before $1 that still hold a hash (migration 0016's partial index). */
const HASHED = "a.created_at < $1 AND (a.prompt_hash IS NOT NULL OR a.response_hash IS NOT NULL)";

/**
 * The assets the retention archives: finished (a deployed demo, a ready video), not archived yet, older than $1,
 * of a lead that is not erased (erasure already took its URLs). `caseStudy` selects the ones the flag keeps.
 */
const ASSETS = {
  demo_site: {
    table: "demo_sites",
    due: (caseStudy: boolean) => `x.status = 'deployed' AND x.archived_at IS NULL
      AND ${caseStudy ? "" : "NOT "}x.is_case_study AND COALESCE(x.deployed_at, x.created_at) < $1
      AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = x.lead_id AND l.erased_at IS NOT NULL)`,
  },
  video: {
    table: "videos",
    due: (caseStudy: boolean) => `x.status = 'ready' AND x.archived_at IS NULL
      AND ${caseStudy ? "" : "NOT "}x.is_case_study AND x.created_at < $1
      AND NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = x.lead_id AND l.erased_at IS NOT NULL)`,
  },
} as const;
type AssetKind = keyof typeof ASSETS;

/** `email_sends_p2024_11` → its range [2024-11-01, 2024-12-01). Names as migration 0007 gives them. */
const MONTHLY_PARTITION = /^email_sends_p(\d{4})_(\d{2})$/;

class RetentionRun {
  private readonly runId = randomUUID();
  private readonly now: Date;
  private readonly dryRun: boolean;
  private readonly batchSize: number;
  private readonly cutoffs: Record<RetentionClass, Date>;

  constructor(
    private readonly primary: pg.Pool,
    private readonly options: RetentionOptions,
  ) {
    this.now = options.now;
    this.dryRun = options.dryRun ?? false;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.cutoffs = retentionCutoffs(options.now, options.policy);
  }

  async run(): Promise<RetentionReport> {
    const seal = await this.seal();
    const partitions = await this.dropEmailPartitions(seal.after);
    const report: RetentionReport = {
      run_id: this.runId,
      dry_run: this.dryRun,
      now: this.now.toISOString(),
      cutoffs: {
        leads: this.cutoffs.leads.toISOString(),
        email_logs: this.cutoffs.email_logs.toISOString(),
        ai_hashes: this.cutoffs.ai_hashes.toISOString(),
        assets: this.cutoffs.assets.toISOString(),
      },
      seal,
      email_logs: { ...partitions, conversation_messages_stripped: await this.stripMessages() },
      ai_hashes: { ai_gym_records_cleared: await this.clearHashes() },
      assets: await this.archiveAssets(),
      leads: await this.expireLeads(),
    };
    if (!this.dryRun) {
      await this.inTransaction(async (uow) => {
        uow.audit({
          action: "retention.run",
          resourceType: "retention_run",
          resourceId: this.runId,
          details: auditSummary(report),
        });
      });
    }
    return report;
  }

  /** A transaction with a unit of work of the retention principal: its audit rows and events commit with it. */
  private inTransaction<T>(work: (uow: UnitOfWork, tx: pg.PoolClient) => Promise<T>): Promise<T> {
    return inSystemTransaction(
      this.primary,
      { principal: SYSTEM, now: this.now, runId: this.runId, events: this.options.events },
      work,
    );
  }

  /**
   * Recounts the pending marks and seals the closed days before the email cutoff's UTC day, in one refresh. A dry
   * run reports where the seal would go: never back, never past the horizon that refresh would move to.
   */
  private async seal(): Promise<RetentionReport["seal"]> {
    const target = utcDay(this.cutoffs.email_logs);
    const { rows } = await this.primary.query<{ before: string; after: string }>(
      `SELECT sealed_before::text AS before,
              least(greatest(sealed_before, $1::timestamp),
                    greatest(mark_below, date_trunc('day', now()::timestamp) - make_interval(days => open_days)))::text
                AS after
         FROM rollup_horizon`,
      [target],
    );
    const state = rows[0];
    if (!state) throw new Error("retention: rollup_horizon is empty");
    if (this.dryRun) return state;
    const refresh = await refreshViews(this.primary, "retention", { sealBefore: target });
    return { before: state.before, after: refresh.sealed_before };
  }

  /**
   * Drops the monthly partitions of email_sends that end on or before the seal, oldest first, each in a
   * transaction of its own (reachgraph_drop_partitions_before, a short ACCESS EXCLUSIVE lock on the parent, which
   * it waits at most DROP_LOCK_TIMEOUT for). A partition whose emails were sent on or after the seal (queued
   * before the month ended, sent later) is counted on an unsealed day: it waits, and so do the newer ones, until a
   * later run has sealed that day. Rows of such months still in the DEFAULT partition are first moved into monthly
   * partitions of their own (reachgraph_ensure_monthly_partitions), or they would never go.
   */
  private async dropEmailPartitions(
    sealed: string,
  ): Promise<Omit<RetentionReport["email_logs"], "conversation_messages_stripped">> {
    const out = {
      partitions_dropped: [] as DroppedPartition[],
      email_sends_dropped: 0,
      email_sends_moved_from_default: 0,
      partitions_waiting: [] as WaitingPartition[],
    };
    if (sealed === "-infinity") return out;
    const sealedDay = sealed.slice(0, 10);
    const monthOfSeal = `${sealedDay.slice(0, 7)}-01`;

    const stray = await this.primary.query<{ n: number; first: string | null }>(
      `SELECT count(*)::int AS n, min(created_at)::date::text AS first
         FROM email_sends_default WHERE created_at < $1::date`,
      [monthOfSeal],
    );
    const strays = stray.rows[0];
    if (strays?.first) {
      out.email_sends_moved_from_default = strays.n;
      if (!this.dryRun) {
        const lastMonth = new Date(Date.parse(`${monthOfSeal}T00:00:00Z`) - 86_400_000);
        await this.inTransaction(async (uow, tx) => {
          const created = await tx.query<{ created: number }>(
            "SELECT reachgraph_ensure_monthly_partitions('email_sends'::regclass, $1::date, $2::date) AS created",
            [strays.first, utcDay(lastMonth)],
          );
          uow.audit({
            action: "email_sends.partitions_created",
            resourceType: "partition",
            resourceId: "email_sends",
            details: {
              reason: "retention",
              rows_moved_from_default: strays.n,
              created: created.rows[0]?.created,
            },
          });
        });
      }
    }

    const { rows: children } = await this.primary.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'email_sends'::regclass`,
    );
    const monthly = children
      .flatMap(({ name }) => {
        const m = MONTHLY_PARTITION.exec(name);
        if (!m) return [];
        const from = `${m[1]}-${m[2]}-01`;
        const next = new Date(Date.UTC(Number(m[1]), Number(m[2]), 1));
        return [{ name, from, to: utcDay(next) }];
      })
      .filter((p) => p.to <= sealedDay)
      .sort((a, b) => a.from.localeCompare(b.from));
    // A dry run counts the months the DEFAULT partition still holds as if they had been moved out.
    if (this.dryRun && strays?.first) {
      for (let m = `${strays.first.slice(0, 7)}-01`; m < monthOfSeal; ) {
        const next = new Date(Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)), 1));
        const name = `email_sends_p${m.slice(0, 4)}_${m.slice(5, 7)}`;
        if (!monthly.some((p) => p.name === name)) monthly.push({ name, from: m, to: utcDay(next) });
        m = utcDay(next);
      }
      monthly.sort((a, b) => a.from.localeCompare(b.from));
    }

    let blocked: string | null = null;
    for (const p of monthly) {
      if (blocked) {
        out.partitions_waiting.push({ ...p, reason: `an older partition waits (${blocked})` });
        continue;
      }
      // Through the parent: the range prunes to this one partition (and to the default one in a dry run).
      const { rows } = await this.primary.query<{ n: number; last_sent: string | null }>(
        `SELECT count(*)::int AS n, max(sent_at)::text AS last_sent FROM email_sends
          WHERE created_at >= $1::date AND created_at < $2::date`,
        [p.from, p.to],
      );
      const stats = rows[0] ?? { n: 0, last_sent: null };
      if (stats.last_sent !== null && stats.last_sent.slice(0, 10) >= sealedDay) {
        blocked = p.name;
        out.partitions_waiting.push({
          ...p,
          reason: `emails sent on ${stats.last_sent.slice(0, 10)}, a day not sealed yet`,
        });
        continue;
      }
      if (!this.dryRun) {
        try {
          await this.inTransaction(async (uow, tx) => {
            await tx.query(`SET LOCAL lock_timeout = '${DROP_LOCK_TIMEOUT}'`);
            const dropped = await tx.query<{ n: number }>(
              "SELECT reachgraph_drop_partitions_before('email_sends'::regclass, $1::date) AS n",
              [p.to],
            );
            uow.audit({
              action: "email_sends.partition_dropped",
              resourceType: "partition",
              resourceId: p.name,
              details: {
                reason: "retention",
                from: p.from,
                to: p.to,
                rows: stats.n,
                dropped: dropped.rows[0]?.n,
              },
            });
          });
        } catch (err) {
          if ((err as { code?: string }).code !== LOCK_NOT_AVAILABLE) throw err;
          blocked = p.name;
          out.partitions_waiting.push({
            ...p,
            reason: `email_sends was busy for ${DROP_LOCK_TIMEOUT}: the next run drops it`,
          });
          continue;
        }
      }
      out.partitions_dropped.push({ ...p, rows: stats.n });
      out.email_sends_dropped += stats.n;
    }
    return out;
  }

  /** Messages older than the email-log cutoff lose their addresses, subject, body and mailbox id, a batch at a time. */
  private async stripMessages(): Promise<number> {
    const cutoff = this.cutoffs.email_logs.toISOString();
    if (this.dryRun)
      return this.count(
        `SELECT count(*)::int AS n FROM conversation_messages m WHERE ${MESSAGE_UNSTRIPPED}`,
        [cutoff],
      );
    return this.inBatches(async (uow, tx) => {
      const r = await tx.query(
        `WITH due AS (SELECT m.id FROM conversation_messages m WHERE ${MESSAGE_UNSTRIPPED}
                       ORDER BY m.sent_at LIMIT $2 FOR UPDATE OF m SKIP LOCKED)
         UPDATE conversation_messages m
            SET from_email = NULL, to_email = NULL, subject = NULL, body = NULL, gmail_message_id = NULL
           FROM due WHERE m.id = due.id`,
        [cutoff, this.batchSize],
      );
      const n = r.rowCount ?? 0;
      if (n > 0)
        uow.audit({
          action: "conversation_messages.stripped",
          resourceType: "conversation_message",
          resourceId: null,
          details: { reason: "retention", sent_before: cutoff, rows: n },
        });
      else uow.wroteNothing();
      return n;
    });
  }

  /** AI-GYM rows older than the hash cutoff lose their prompt and response hashes, a batch at a time. */
  private async clearHashes(): Promise<number> {
    const cutoff = this.cutoffs.ai_hashes.toISOString();
    if (this.dryRun)
      return this.count(`SELECT count(*)::int AS n FROM ai_gym_performance a WHERE ${HASHED}`, [cutoff]);
    return this.inBatches(async (uow, tx) => {
      const r = await tx.query(
        `WITH due AS (SELECT a.id, a.created_at FROM ai_gym_performance a WHERE ${HASHED}
                       ORDER BY a.created_at LIMIT $2 FOR UPDATE OF a SKIP LOCKED)
         UPDATE ai_gym_performance a SET prompt_hash = NULL, response_hash = NULL
           FROM due WHERE a.id = due.id AND a.created_at = due.created_at`,
        [cutoff, this.batchSize],
      );
      const n = r.rowCount ?? 0;
      if (n > 0)
        uow.audit({
          action: "ai_gym_performance.hashes_cleared",
          resourceType: "ai_gym_performance",
          resourceId: null,
          details: { reason: "retention", created_before: cutoff, rows: n },
        });
      else uow.wroteNothing();
      return n;
    });
  }

  /**
   * Demo sites and videos older than the asset cutoff are archived — `archived_at` set, status `archived` (which the
   * KPI views count as deployed / ready) — with an `asset.archived` event and an audit row each, a batch at a time.
   * Case studies stay as they are.
   */
  private async archiveAssets(): Promise<RetentionReport["assets"]> {
    const cutoff = this.cutoffs.assets.toISOString();
    const kept = async (kind: AssetKind) =>
      this.count(`SELECT count(*)::int AS n FROM ${ASSETS[kind].table} x WHERE ${ASSETS[kind].due(true)}`, [
        cutoff,
      ]);
    const archive = async (kind: AssetKind) => {
      const { table, due } = ASSETS[kind];
      if (this.dryRun)
        return this.count(`SELECT count(*)::int AS n FROM ${table} x WHERE ${due(false)}`, [cutoff]);
      return this.inBatches(async (uow, tx) => {
        const { rows } = await tx.query<{ id: string; lead_id: string | null }>(
          `WITH picked AS (SELECT x.id FROM ${table} x WHERE ${due(false)} ORDER BY x.id LIMIT $2 FOR UPDATE SKIP LOCKED)
           UPDATE ${table} x SET archived_at = $3::timestamp, status = 'archived'
             FROM picked WHERE x.id = picked.id
           RETURNING x.id, x.lead_id`,
          [cutoff, this.batchSize, this.now.toISOString()],
        );
        for (const r of rows) {
          uow.audit({
            action: `${kind}.archived`,
            resourceType: kind,
            resourceId: r.id,
            details: { reason: "retention" },
          });
          uow.emit("asset.archived", {
            asset_kind: kind,
            asset_id: r.id,
            lead_id: r.lead_id,
            archived_at: this.now.toISOString(),
          });
        }
        if (rows.length === 0) uow.wroteNothing();
        return rows.length;
      });
    };
    return {
      demo_sites_archived: await archive("demo_site"),
      videos_archived: await archive("video"),
      case_studies_kept: (await kept("demo_site")) + (await kept("video")),
    };
  }

  /**
   * Leads idle since the lead cutoff, not extended, are erased as by DELETE /api/v2/leads/{id} — one transaction
   * each: the lead is locked, checked again (an email or an extension may have come in since the scan), erased.
   * Retention does not suppress: an idle lead has not objected to being found again.
   */
  private async expireLeads(): Promise<RetentionReport["leads"]> {
    const params = [this.cutoffs.leads.toISOString(), this.now.toISOString()];
    const keptByExtension = await this.count(
      `SELECT count(*)::int AS n FROM leads l WHERE ${LEAD_IDLE} AND NOT ${NOT_EXTENDED}`,
      params,
    );
    if (this.dryRun)
      return {
        erased: await this.count(
          `SELECT count(*)::int AS n FROM leads l WHERE ${LEAD_IDLE} AND ${NOT_EXTENDED}`,
          params,
        ),
        kept_by_extension: keptByExtension,
      };
    let erased = 0;
    let after = "00000000-0000-0000-0000-000000000000";
    for (;;) {
      const { rows } = await this.primary.query<{ id: string }>(
        `SELECT l.id FROM leads l WHERE ${LEAD_IDLE} AND ${NOT_EXTENDED} AND l.id > $3::uuid ORDER BY l.id LIMIT $4`,
        [...params, after, this.batchSize],
      );
      for (const { id } of rows) {
        const done = await this.inTransaction(async (uow, tx) => {
          await tx.query("SELECT 1 FROM leads WHERE id = $1 FOR UPDATE", [id]);
          // Read after the lock (a new snapshot): what committed meanwhile counts.
          const still = await tx.query(
            `SELECT 1 FROM leads l WHERE l.id = $3::uuid AND ${LEAD_IDLE} AND ${NOT_EXTENDED}`,
            [...params, id],
          );
          if (!still.rowCount) {
            uow.wroteNothing();
            return false;
          }
          await eraseLead(uow, id, { suppress: false, reason: "retention" });
          return true;
        });
        if (done) erased += 1;
      }
      const last = rows.at(-1);
      if (!last || rows.length < this.batchSize) break;
      after = last.id;
    }
    return { erased, kept_by_extension: keptByExtension };
  }

  /** Runs `batch` in transactions until one changes nothing; the total it changed. */
  private async inBatches(batch: (uow: UnitOfWork, tx: pg.PoolClient) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.inTransaction(batch);
      total += n;
      if (n < this.batchSize) return total;
    }
  }

  private async count(sql: string, params: unknown[]): Promise<number> {
    const { rows } = await this.primary.query<{ n: number }>(sql, params);
    return rows[0]?.n ?? 0;
  }
}

/** The run's audit details: counts and partition names only (no PII). */
function auditSummary(r: RetentionReport): Record<string, unknown> {
  return {
    now: r.now,
    cutoffs: r.cutoffs,
    seal: r.seal,
    leads_erased: r.leads.erased,
    leads_kept_by_extension: r.leads.kept_by_extension,
    email_partitions_dropped: r.email_logs.partitions_dropped.map((p) => p.name),
    email_sends_dropped: r.email_logs.email_sends_dropped,
    email_sends_moved_from_default: r.email_logs.email_sends_moved_from_default,
    email_partitions_waiting: r.email_logs.partitions_waiting.map((p) => p.name),
    conversation_messages_stripped: r.email_logs.conversation_messages_stripped,
    ai_gym_records_cleared: r.ai_hashes.ai_gym_records_cleared,
    demo_sites_archived: r.assets.demo_sites_archived,
    videos_archived: r.assets.videos_archived,
    case_studies_kept: r.assets.case_studies_kept,
  };
}

/** One line per class, for the CLI and the job's log. */
export function describeRetention(r: RetentionReport): string[] {
  const would = r.dry_run ? "would be " : "";
  const e = r.email_logs;
  return [
    `retention ${r.dry_run ? "dry run" : "run"} ${r.run_id} at ${r.now}`,
    `  seal           closed rollup days before ${r.seal.after} are final (was ${r.seal.before})`,
    `  leads          ${r.leads.erased} ${would}erased (idle before ${r.cutoffs.leads}); ${r.leads.kept_by_extension} kept by retention_extended_until`,
    `  email logs     ${e.partitions_dropped.length} email_sends partitions ${would}dropped (${e.email_sends_dropped} emails${e.partitions_dropped.length ? `: ${e.partitions_dropped.map((p) => p.name).join(", ")}` : ""}); ${e.email_sends_moved_from_default} ${would}moved out of the default partition first`,
    ...e.partitions_waiting.map((p) => `                 ${p.name} waits: ${p.reason}`),
    `                 ${e.conversation_messages_stripped} conversation messages ${would}stripped (sent before ${r.cutoffs.email_logs})`,
    `  AI hashes      ${r.ai_hashes.ai_gym_records_cleared} AI-GYM records' prompt/response hashes ${would}cleared (before ${r.cutoffs.ai_hashes})`,
    `  assets         ${r.assets.demo_sites_archived} demo sites and ${r.assets.videos_archived} videos ${would}archived (before ${r.cutoffs.assets}); ${r.assets.case_studies_kept} case studies kept`,
  ];
}
