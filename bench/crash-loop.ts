/**
 * The crash loop: a real `src/main.ts` server on its own embedded PostgreSQL is killed with SIGKILL (its whole
 * process group) at random moments while concurrent writers ingest leads, AI-GYM records and inbound replies with
 * Idempotency-Keys; on some iterations PostgreSQL is also stopped with `immediate` (SIGQUIT: no checkpoint, crash
 * recovery at the next start). After each restart every request whose outcome the writer did not learn (a reset
 * connection, a 503, a 409) is replayed with the same key until it is acknowledged. At the end every acknowledged
 * write must exist exactly once, with its audit row and (for leads and replies) its outbox event, and the AI-GYM
 * leaderboard after a refresh must count exactly the rows in the base table.
 *
 * Used by test/faults/crash-loop.test.ts (20 iterations) and `npm run bench -- --crash` (200 by default).
 *
 * What it proves and what it does not: killing processes keeps the operating system's page cache, so a write
 * PostgreSQL reported durable survives here even if it never reached the disk. Power loss with a disk that lies
 * about flushes is out of scope.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { Rng } from "../src/seed/rng.js";
import { freePort } from "../test/support/urls.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const START_TIMEOUT_MS = 90_000;
const TASK_TYPE = "crash_loop";

export type CrashLoopOptions = {
  iterations: number;
  /** Where the embedded cluster lives (created on the first start, removed by the caller). */
  dataDir: string;
  /** Concurrent writers. */
  writers?: number;
  /** Every how many iterations PostgreSQL is also stopped with `immediate` (0: never). */
  postgresImmediateEvery?: number;
  log?: (line: string) => void;
  /** Deterministic kill moments. */
  seed?: number;
};

export type CrashLoopReport = {
  iterations: number;
  postgresImmediateStops: number;
  requests: number;
  acknowledged: number;
  /** Acknowledged writes that are not in the database. */
  lost: number;
  /** Writes stored more than once. */
  duplicated: number;
  missingAudit: number;
  missingEvent: number;
  /** Requests whose outcome the writer did not learn (connection reset, 503) and that were replayed. */
  unknownOutcomes: number;
  /** Replays answered from the stored response (the write had committed before the kill). */
  replayedFromStore: number;
  /** 409 answers to replays (a key still held by a transaction). */
  blockedReplays: number;
  restartMs: { p50: number; max: number };
  /** From the restarted server's first answer until an unknown outcome was acknowledged. */
  resolveMs: { p50: number; max: number };
  leaderboardUsage: number;
  aiGymRows: number;
};

type Write = {
  marker: string;
  kind: "lead" | "ai_gym" | "reply";
  path: string;
  body: unknown;
  key: string;
  acknowledgedId?: string;
  replayed?: boolean;
};

const percentile = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const sorted = [...xs].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0);
};

export async function runCrashLoop(options: CrashLoopOptions): Promise<CrashLoopReport> {
  const log = options.log ?? (() => {});
  const rng = new Rng(options.seed ?? 42);
  const writers = options.writers ?? 6;
  const immediateEvery = options.postgresImmediateEvery ?? 3;
  const ports = { http: await freePort(), primary: await freePort(), replica: await freePort() };
  const base = `http://127.0.0.1:${ports.http}`;
  let child: ChildProcess | undefined;
  let adminKey = "";

  async function start(): Promise<number> {
    const started = performance.now();
    const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        NODE_ENV: "production",
        DATABASE_URL: "",
        REACHGRAPH_DATA_DIR: options.dataDir,
        PORT: String(ports.http),
        EMBEDDED_PG_PORT: String(ports.primary),
        EMBEDDED_PG_REPLICA_PORT: String(ports.replica),
        SEED_ON_FIRST_START: "false",
        LOG_LEVEL: "warn",
        VIEW_REFRESH_INTERVAL_MINUTES: "60",
      },
    });
    child = proc;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), START_TIMEOUT_MS);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const key = /(rg_[A-Za-z0-9]+_[A-Za-z0-9_-]+)/.exec(output)?.[1];
        if (key && !adminKey) adminKey = key;
        if (output.includes("Ctrl-C stops everything")) {
          clearTimeout(timer);
          resolve();
        }
      };
      proc.stdout?.on("data", onData);
      proc.stderr?.on("data", onData);
      proc.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server exited (${code}) during start-up:\n${output.slice(-4000)}`));
      });
    });
    proc.removeAllListeners("exit");
    proc.stdout?.resume();
    proc.stderr?.resume();
    return performance.now() - started;
  }

  async function kill(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    if (!proc?.pid || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    try {
      process.kill(-proc.pid, signal);
    } catch {
      // already gone
    }
    await exited;
  }

  async function postgresImmediate(): Promise<void> {
    const pidFile = await readFile(path.join(options.dataDir, "primary", "postmaster.pid"), "utf8").catch(
      () => "",
    );
    const pid = Number(pidFile.split("\n")[0]);
    if (!pid) return;
    try {
      process.kill(pid, "SIGQUIT");
    } catch {
      return;
    }
    while (existsPid(pid)) await sleep(20);
  }

  type Sent = { status: number | "network"; body?: { data?: { id: string }[] } | { id: string } };
  async function send(w: Write): Promise<Sent> {
    try {
      const res = await fetch(base + w.path, {
        method: "POST",
        headers: {
          authorization: `Bearer ${adminKey}`,
          "content-type": "application/json",
          "idempotency-key": w.key,
        },
        body: JSON.stringify(w.body),
        signal: AbortSignal.timeout(30_000),
      });
      const replayed = res.headers.get("idempotent-replayed") === "true";
      const text = await res.text();
      if (replayed) w.replayed = true;
      return { status: res.status, body: res.ok ? JSON.parse(text) : undefined };
    } catch {
      return { status: "network" };
    }
  }
  const idOf = (w: Write, sent: Sent): string | undefined => {
    const body = sent.body as { data?: { id: string }[]; id?: string } | undefined;
    return w.kind === "reply" ? body?.id : body?.data?.[0]?.id;
  };

  // ---- first start and set-up: a lead and a conversation for the replies ----
  await start();
  const setup = async (pathname: string, body: unknown) => {
    const res = await fetch(base + pathname, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`set-up ${pathname}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { data?: { id: string }[]; id?: string };
  };
  const lead = await setup("/api/v2/leads", {
    leads: [
      {
        company_name: "Crash Loop GmbH",
        website: "https://crash-loop.example",
        source_platform: "google_maps",
        consent_source: "public_business_listing",
        consent_timestamp: "2026-11-20T10:00:00Z",
      },
    ],
  });
  const conversation = await setup("/api/v2/conversations", { lead_id: lead.data?.[0]?.id });

  const writes: Write[] = [];
  const newWrite = (): Write => {
    const marker = randomUUID();
    const r = rng.next();
    if (r < 0.4) {
      return {
        marker,
        kind: "lead",
        key: randomUUID(),
        path: "/api/v2/leads",
        body: {
          leads: [
            {
              company_name: `crash ${marker}`,
              website: `https://${marker}.crash.example`,
              source_platform: "google_maps",
              consent_source: "public_business_listing",
              consent_timestamp: "2026-11-20T10:00:00Z",
            },
          ],
        },
      };
    }
    if (r < 0.75) {
      return {
        marker,
        kind: "ai_gym",
        key: randomUUID(),
        path: "/api/v2/ai-gym/records",
        body: {
          records: [
            {
              task_type: TASK_TYPE,
              model_name: rng.next() < 0.5 ? "model-a" : "model-b",
              cost: 0.01,
              duration_seconds: 3,
              quality_score: 80,
              metadata: { marker },
            },
          ],
        },
      };
    }
    return {
      marker,
      kind: "reply",
      key: randomUUID(),
      path: `/api/v2/conversations/${conversation.id}`,
      body: {
        direction: "inbound",
        from_email: "owner@crash-loop.example",
        to_email: "sales@reachgraph.example",
        body: "Sounds good, tell me more.",
        gmail_message_id: marker,
      },
    };
  };

  let requests = 0;
  let unknownOutcomes = 0;
  let blockedReplays = 0;
  let immediateStops = 0;
  const restartMs: number[] = [];
  const resolveMs: number[] = [];
  let pending: Write[] = [];

  for (let iteration = 1; iteration <= options.iterations; iteration++) {
    let writing = true;
    const loops = Array.from({ length: writers }, async () => {
      while (writing) {
        const w = newWrite();
        writes.push(w);
        requests++;
        const sent = await send(w);
        if (sent.status === 200 || sent.status === 201) w.acknowledgedId = idOf(w, sent);
        else {
          pending.push(w);
          if (sent.status === "network") break;
        }
      }
    });
    await sleep(150 + rng.next() * 900);
    const immediate = immediateEvery > 0 && iteration % immediateEvery === 0;
    await kill("SIGKILL");
    if (immediate) {
      await postgresImmediate();
      immediateStops++;
    }
    writing = false;
    await Promise.all(loops);

    const ms = await start();
    restartMs.push(ms);
    const ready = performance.now();
    unknownOutcomes += pending.length;
    // Replays, each until acknowledged; a replay that is refused (409 in flight, 503) is retried.
    await Promise.all(
      pending.map(async (w) => {
        for (let attempt = 0; attempt < 200; attempt++) {
          requests++;
          const sent = await send(w);
          if (sent.status === 200 || sent.status === 201) {
            w.acknowledgedId = idOf(w, sent);
            resolveMs.push(performance.now() - ready);
            return;
          }
          if (sent.status === 409) blockedReplays++;
          await sleep(50);
        }
        throw new Error(`a replay of ${w.kind} ${w.marker} was never acknowledged`);
      }),
    );
    pending = [];
    log(
      `iteration ${iteration}/${options.iterations}: restart ${Math.round(ms)} ms${immediate ? " (after a PostgreSQL immediate stop)" : ""}, ${writes.length} writes so far`,
    );
  }

  // ---- verification, on the primary directly ----
  const state = JSON.parse(readFileSync(path.join(options.dataDir, "cluster.json"), "utf8")) as {
    password: string;
  };
  const db = new pg.Client({
    connectionString: `postgres://postgres:${encodeURIComponent(state.password)}@127.0.0.1:${ports.primary}/reachgraph`,
  });
  db.on("error", () => {});
  await db.connect();
  let report: CrashLoopReport;
  try {
    const counts = new Map<string, { n: number; audits: number; events: number }>();
    const collect = async (sql: string) => {
      for (const row of (await db.query<{ marker: string; n: number; audits: number; events: number }>(sql))
        .rows) {
        counts.set(row.marker, row);
      }
    };
    await collect(
      `SELECT substr(l.company_name, 7) AS marker, count(*)::int AS n,
              sum((SELECT count(*) FROM audit_log a WHERE a.resource_type = 'lead' AND a.resource_id = l.id::text))::int AS audits,
              sum((SELECT count(*) FROM event_outbox e WHERE e.type = 'lead.scraped' AND e.payload->>'lead_id' = l.id::text))::int AS events
         FROM leads l WHERE l.company_name LIKE 'crash %' GROUP BY 1`,
    );
    await collect(
      `SELECT g.metadata->>'marker' AS marker, count(*)::int AS n,
              sum((SELECT count(*) FROM audit_log a WHERE a.resource_type = 'ai_gym_performance' AND a.resource_id = g.id::text))::int AS audits,
              count(*)::int AS events
         FROM ai_gym_performance g WHERE g.task_type = '${TASK_TYPE}' GROUP BY 1`,
    );
    await collect(
      `SELECT m.gmail_message_id AS marker, count(*)::int AS n,
              sum((SELECT count(*) FROM audit_log a WHERE a.resource_type = 'conversation_message' AND a.resource_id = m.id::text))::int AS audits,
              sum((SELECT count(*) FROM event_outbox e WHERE e.type = 'reply.received' AND e.payload->>'message_id' = m.id::text))::int AS events
         FROM conversation_messages m WHERE m.gmail_message_id IS NOT NULL GROUP BY 1`,
    );
    let lost = 0;
    let duplicated = 0;
    let missingAudit = 0;
    let missingEvent = 0;
    for (const w of writes) {
      const c = counts.get(w.marker);
      if (w.acknowledgedId && !c) lost++;
      if (c && c.n > 1) duplicated++;
      if (c && c.audits !== c.n) missingAudit++;
      if (c && c.events !== c.n) missingEvent++;
    }
    // Writes that were never acknowledged must not exist either (every unknown outcome was replayed to an answer).
    const acknowledged = writes.filter((w) => w.acknowledgedId).length;
    const aiGymRows = Number(
      (await db.query(`SELECT count(*)::int AS n FROM ai_gym_performance WHERE task_type = '${TASK_TYPE}'`))
        .rows[0]?.n,
    );
    const refresh = await fetch(`${base}/api/v2/analytics/refreshes`, {
      method: "POST",
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: "{}",
    });
    if (!refresh.ok) throw new Error(`refresh failed: ${refresh.status} ${await refresh.text()}`);
    const board = (await (
      await fetch(`${base}/api/v2/analytics/models?task_type=${TASK_TYPE}&period=1d`, {
        headers: { authorization: `Bearer ${adminKey}` },
      })
    ).json()) as { data: { usage_count: number }[] };
    report = {
      iterations: options.iterations,
      postgresImmediateStops: immediateStops,
      requests,
      acknowledged,
      lost,
      duplicated,
      missingAudit,
      missingEvent,
      unknownOutcomes,
      replayedFromStore: writes.filter((w) => w.replayed).length,
      blockedReplays,
      restartMs: { p50: percentile(restartMs, 0.5), max: percentile(restartMs, 1) },
      resolveMs: { p50: percentile(resolveMs, 0.5), max: percentile(resolveMs, 1) },
      leaderboardUsage: board.data.reduce((sum, r) => sum + r.usage_count, 0),
      aiGymRows,
    };
  } finally {
    await db.end().catch(() => {});
    await kill("SIGINT");
  }
  return report;
}

function existsPid(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
