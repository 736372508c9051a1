import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import autocannon from "autocannon";
import type pg from "pg";
import { refreshViews, type ViewsRefresh } from "../src/analytics/refresh-views.js";
import { seedDemoData } from "../src/seed/seed-demo-data.js";
import type { Result } from "./run.js";

export type RefreshMeasure = {
  emailSends: number;
  kind: "first" | "catch-up" | "steady";
  refresh: ViewsRefresh;
};

/**
 * What one refresh interval brings in production, in SQL: 2,000 new emails sent today, 500 opens of this week's
 * emails, and 50 late opens of emails sent on random days before the rollup horizon (each a closed day to recount).
 */
export async function writeOneInterval(db: pg.Pool): Promise<void> {
  await db.query(
    `INSERT INTO email_sends (lead_id, campaign_id, subject_variant, body, tracking_token, sent_at, status, created_at)
     SELECT lead_id, campaign_id, subject_variant, body, gen_random_uuid(), now() - interval '1 minute', 'sent',
            now() - interval '2 minutes'
       FROM email_sends WHERE sent_at > now() - interval '7 days' LIMIT 2000`,
  );
  await db.query(
    `UPDATE email_sends SET opened_at = now()
      WHERE id IN (SELECT id FROM email_sends WHERE sent_at > now() - interval '7 days' AND status = 'sent'
                      AND opened_at IS NULL LIMIT 500)`,
  );
  await db.query(
    `UPDATE email_sends SET opened_at = sent_at + interval '1 day'
      WHERE id IN (SELECT id FROM email_sends TABLESAMPLE SYSTEM (1)
                    WHERE sent_at < (SELECT horizon FROM rollup_horizon) AND status = 'sent' AND opened_at IS NULL
                    ORDER BY random() LIMIT 50)`,
  );
}

/**
 * Seeds until email_sends holds at least `target` rows, in two halves: the first a year up to today, the second the
 * year before it (history only, outside the open window). After each half it refreshes (the first refresh closes
 * everything; after the second half, the old days it wrote are recounted once) and then measures a steady refresh
 * after one interval's writes: that is the number that must not grow with the history.
 */
export async function seedForReads(
  db: pg.Pool,
  target: number,
): Promise<{ emailSends: number; refreshes: RefreshMeasure[] }> {
  const refreshes: RefreshMeasure[] = [];
  const count = async () =>
    (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM email_sends")).rows[0]?.n ?? 0;
  // About 3 emails per lead at 5 emails per enrolled lead.
  const leadsPerHalf = Math.ceil(target / 2 / 2.9);
  const today = new Date(new Date().toISOString().slice(0, 10));
  for (const [i, seed] of [101, 202].entries()) {
    const started = performance.now();
    const anchor = new Date(today.getTime() - i * 365 * 86_400_000);
    await seedDemoData(db, { leads: leadsPerHalf, seed, emailsPerLead: 5, spanDays: 365, anchor });
    const n = await count();
    console.log(
      `  seeded to ${n.toLocaleString()} email_sends in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    await db.query("VACUUM ANALYZE");
    refreshes.push({
      emailSends: n,
      kind: i === 0 ? "first" : "catch-up",
      refresh: await refreshViews(db, "test"),
    });
    await writeOneInterval(db);
    refreshes.push({ emailSends: await count(), kind: "steady", refresh: await refreshViews(db, "test") });
  }
  return { emailSends: await count(), refreshes };
}

/** A bench server in a process of its own (it prints `{"port": N}` once listening); `stop()` sends SIGTERM. */
export async function startChild(script: string, env: Record<string, string>, nodeArgs: string[] = []) {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", script], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout.once("data", (chunk: Buffer) =>
      resolve((JSON.parse(String(chunk)) as { port: number }).port),
    );
  });
  return {
    base: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners("exit");
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

const LEADERBOARD = `{ modelLeaderboard(taskType: "website_analysis", period: "30d") { asOf entries { modelName usageCount avgQuality avgCostUsd conversionRate conversionRateInterval { low high } p50DurationSeconds p95DurationSeconds p50CostUsd p95CostUsd costPerConversionUsd belowMinSamples } } }`;
/** The same leaderboard over a period that refreshes do not store (45 days): computed from the rollups. */
const LEADERBOARD_COMPUTED = LEADERBOARD.replace('period: "30d"', 'period: "45d"');
/** The fields a dashboard tile asks for (issue 14): no percentile, so none is computed. */
const LEADERBOARD_COMPUTED_PLAIN = `{ modelLeaderboard(taskType: "website_analysis", period: "45d") { entries { modelName usageCount avgCostUsd avgQuality conversionRate } } }`;
/** One campaign's KPIs over 30 days, per day (the busiest campaign's: `%ID%` is replaced). */
const CAMPAIGN = `{ campaign(id: "%ID%") { performance(period: "30d") { asOf totals { funnel { sent delivered opened replied meetingsBooked } revenue { currency amount } } series { start kpis { funnel { sent replied } } } } } }`;
const OVERVIEW = `{ overview(period: "30d") { asOf platform { leadsScraped emailsSent aiSpendUsd } outreach { funnel { sent delivered opened replied meetingsBooked } rates { replyRate meetingBookingRate } revenue { currency amount } } outreachSeries { start kpis { funnel { sent replied } } } } }`;

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ: 100 on Linux). */
const USER_HZ = 100;

/** CPU seconds (user + system) process `pid` has used so far; undefined off Linux. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the parenthesised command name: state is the 3rd field, utime the 14th, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
  } catch {
    return undefined;
  }
}

/**
 * Waits (at most 60 s) until no other statement runs on the database's server: a load that overran the server leaves
 * its queued requests running after the client stopped, and the next row would otherwise be measured against them
 * (the 45d rows once were, at 142 req/s for a 0.5 ms statement).
 */
async function quiet(db: pg.Pool): Promise<void> {
  const until = performance.now() + 60_000;
  while (performance.now() < until) {
    const { rows } = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    );
    if ((rows[0]?.n ?? 0) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function load(
  name: string,
  opts: {
    /** The server's process, whose CPU per request is reported. */
    serverPid?: number | undefined;
    url: string;
    method?: "GET" | "POST";
    body?: string;
    key?: string;
    connections: number;
    duration: number;
    /** Waited for before the load starts. */
    db: pg.Pool;
  },
): Promise<Result> {
  await quiet(opts.db);
  const cpuBefore = cpuSeconds(opts.serverPid);
  const r = await autocannon({
    url: opts.url,
    connections: opts.connections,
    duration: opts.duration,
    method: opts.method ?? "GET",
    headers: {
      ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
      ...(opts.body ? { "content-type": "application/json" } : {}),
    },
    ...(opts.body ? { body: opts.body } : {}),
  });
  const cpuAfter = cpuSeconds(opts.serverPid);
  return {
    name,
    requestsPerSecond: r.requests.average,
    rowsPerSecond: 0,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.non2xx,
    ...(cpuBefore !== undefined && cpuAfter !== undefined && r.requests.total > 0
      ? { serverCpuUsPerRequest: ((cpuAfter - cpuBefore) * 1e6) / r.requests.total }
      : {}),
  };
}

/** The read workloads: the bare baseline and the API on the same queries, same pool size, same connections. */
export async function readWorkloads(o: {
  apiBase: string;
  /** The same API with ANALYTICS_CACHE_ENTRIES=0 and no response cache. */
  apiNoCacheBase: string;
  bareBase: string;
  /** The three servers' processes, for their CPU per request. */
  pids: { api: number | undefined; apiNoCache: number | undefined; bare: number | undefined };
  key: string;
  connections: number;
  duration: number;
  /** The bench database, watched for idleness between loads. */
  db: pg.Pool;
  /** Only the rows whose name contains this (case-insensitive): `--only`. */
  only?: string | undefined;
}): Promise<Result[]> {
  const c = { connections: o.connections, duration: o.duration, key: o.key, db: o.db };
  const pidOf = (base: string) =>
    base === o.apiBase ? o.pids.api : base === o.apiNoCacheBase ? o.pids.apiNoCache : o.pids.bare;
  const graphql = (base: string, query: string) => ({
    ...c,
    serverPid: pidOf(base),
    url: `${base}/graphql`,
    method: "POST" as const,
    body: JSON.stringify({ query }),
  });
  // Warm the pools, plans and caches of all three servers first.
  await load("warm-up", { ...c, duration: 2, serverPid: o.pids.bare, url: `${o.bareBase}/leaderboard` });
  for (const base of [o.apiBase, o.apiNoCacheBase])
    await load("warm-up", { ...graphql(base, LEADERBOARD), duration: 2 });
  const rows: [string, Parameters<typeof load>[1]][] = [];
  rows.push([
    "bare node:http + pg: leaderboard (baseline)",
    {
      ...c,
      serverPid: o.pids.bare,
      url: `${o.bareBase}/leaderboard`,
    },
  ]);
  rows.push(["GraphQL modelLeaderboard (no cache)", graphql(o.apiNoCacheBase, LEADERBOARD)]);
  rows.push(["GraphQL modelLeaderboard (asOf cache)", graphql(o.apiBase, LEADERBOARD)]);
  rows.push([
    "bare node:http + pg: leaderboard 45d (computed)",
    {
      ...c,
      serverPid: o.pids.bare,
      url: `${o.bareBase}/leaderboard?days=45`,
    },
  ]);
  rows.push([
    "GraphQL modelLeaderboard 45d (computed, no cache)",
    graphql(o.apiNoCacheBase, LEADERBOARD_COMPUTED),
  ]);
  rows.push([
    "bare node:http + pg: leaderboard 45d, no percentiles",
    {
      ...c,
      serverPid: o.pids.bare,
      url: `${o.bareBase}/leaderboard?days=45&percentiles=0`,
    },
  ]);
  rows.push([
    "GraphQL modelLeaderboard 45d, no percentile selected (no cache)",
    graphql(o.apiNoCacheBase, LEADERBOARD_COMPUTED_PLAIN),
  ]);
  rows.push([
    "GET /api/v2/analytics/models",
    {
      ...c,
      serverPid: o.pids.api,
      url: `${o.apiBase}/api/v2/analytics/models?task_type=website_analysis&period=30d`,
    },
  ]);
  rows.push([
    "bare node:http + pg: overview",
    {
      ...c,
      serverPid: o.pids.bare,
      url: `${o.bareBase}/overview`,
    },
  ]);
  rows.push(["GraphQL overview (no cache)", graphql(o.apiNoCacheBase, OVERVIEW)]);
  rows.push(["GraphQL overview (asOf cache)", graphql(o.apiBase, OVERVIEW)]);
  const busiest = await o.db.query<{ id: string }>(
    "SELECT campaign_id AS id FROM email_sends WHERE campaign_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1",
  );
  const campaignId = busiest.rows[0]?.id ?? "00000000-0000-0000-0000-000000000000";
  rows.push([
    "bare node:http + pg: campaign KPIs",
    { ...c, serverPid: o.pids.bare, url: `${o.bareBase}/campaign?id=${campaignId}` },
  ]);
  rows.push([
    "GraphQL campaign KPIs (no cache)",
    graphql(o.apiNoCacheBase, CAMPAIGN.replace("%ID%", campaignId)),
  ]);
  rows.push([
    "GET /api/v2/analytics/overview",
    {
      ...c,
      serverPid: o.pids.api,
      url: `${o.apiBase}/api/v2/analytics/overview?period=30d`,
    },
  ]);
  const only = o.only?.toLowerCase();
  const results: Result[] = [];
  for (const [name, opts] of rows)
    if (!only || name.toLowerCase().includes(only)) results.push(await load(name, opts));
  return results;
}

/** Issue 14 targets 1 and 2 on the read rows: what each must reach, next to which same-run row. */
const READ_TARGETS: {
  name: string;
  /** The least share of this same-run baseline row's requests/s. */
  vs?: { baseline: string; share: number };
  minRequestsPerSecond?: number;
  maxP99Ms: number;
  maxCpuUsPerRequest?: number;
}[] = [
  {
    name: "GraphQL modelLeaderboard (no cache)",
    vs: { baseline: "bare node:http + pg: leaderboard (baseline)", share: 0.75 },
    maxP99Ms: 25,
    maxCpuUsPerRequest: 400,
  },
  { name: "GraphQL modelLeaderboard 45d (computed, no cache)", minRequestsPerSecond: 1000, maxP99Ms: 50 },
  {
    name: "GraphQL modelLeaderboard 45d, no percentile selected (no cache)",
    minRequestsPerSecond: 1000,
    maxP99Ms: 50,
  },
  { name: "GraphQL overview (no cache)", minRequestsPerSecond: 1000, maxP99Ms: 50 },
  { name: "GraphQL campaign KPIs (no cache)", minRequestsPerSecond: 1000, maxP99Ms: 50 },
];

/** Prints the read targets each row missed (issue 14 targets 1 and 2) and returns them. */
export function missedReadTargets(results: readonly Result[]): string[] {
  const byName = new Map(results.map((r) => [r.name, r]));
  const missed = READ_TARGETS.flatMap((t) => {
    const r = byName.get(t.name);
    if (!r) return [];
    const misses: string[] = [];
    const base = t.vs ? byName.get(t.vs.baseline) : undefined;
    if (t.vs && base && r.requestsPerSecond < t.vs.share * base.requestsPerSecond)
      misses.push(
        `${(r.requestsPerSecond / base.requestsPerSecond).toFixed(2)}× the bare server's req/s < ${t.vs.share}×`,
      );
    if (t.minRequestsPerSecond !== undefined && r.requestsPerSecond < t.minRequestsPerSecond)
      misses.push(`${r.requestsPerSecond.toFixed(0)} req/s < ${t.minRequestsPerSecond}`);
    if (r.p99Ms >= t.maxP99Ms) misses.push(`p99 ${r.p99Ms.toFixed(0)} ms ≥ ${t.maxP99Ms} ms`);
    if (
      t.maxCpuUsPerRequest !== undefined &&
      r.serverCpuUsPerRequest !== undefined &&
      r.serverCpuUsPerRequest > t.maxCpuUsPerRequest
    )
      misses.push(`${r.serverCpuUsPerRequest.toFixed(0)} µs CPU per request > ${t.maxCpuUsPerRequest} µs`);
    return misses.length ? [`${t.name}: ${misses.join(", ")}`] : [];
  });
  if (missed.length)
    console.log(`\nREAD TARGETS missed (issue 14 targets 1 and 2):\n  ${missed.join("\n  ")}`);
  else console.log("\nread targets met (issue 14 targets 1 and 2)");
  return missed;
}
