import { spawn } from "node:child_process";
import autocannon from "autocannon";
import type pg from "pg";
import { refreshViews, type ViewsRefresh } from "../src/analytics/refresh-views.js";
import { seedDemoData } from "../src/seed/seed-demo-data.js";
import type { Result } from "./run.js";

/** Seeds until email_sends holds at least `target` rows (in two halves), refreshing the views after each half. */
export async function seedForReads(
  db: pg.Pool,
  target: number,
): Promise<{ emailSends: number; refreshes: { emailSends: number; refresh: ViewsRefresh }[] }> {
  const refreshes: { emailSends: number; refresh: ViewsRefresh }[] = [];
  const count = async () =>
    (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM email_sends")).rows[0]?.n ?? 0;
  // About 3 emails per lead at 5 emails per enrolled lead; two halves, each refreshed, show how refresh time grows.
  const leadsPerHalf = Math.ceil(target / 2 / 2.9);
  for (const [i, seed] of [101, 202, 303, 404].entries()) {
    const before = await count();
    if (i >= 2 && before >= target) break;
    const started = performance.now();
    await seedDemoData(db, { leads: leadsPerHalf, seed, emailsPerLead: 5, spanDays: 365 });
    const n = await count();
    console.log(
      `  seeded to ${n.toLocaleString()} email_sends in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    await db.query("VACUUM ANALYZE");
    refreshes.push({ emailSends: n, refresh: await refreshViews(db, "test") });
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
    stop: () =>
      new Promise<void>((resolve) => {
        child.removeAllListeners("exit");
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

const LEADERBOARD = `{ modelLeaderboard(taskType: "website_analysis", period: "30d") { asOf entries { modelName usageCount avgQuality avgCostUsd conversionRate conversionRateInterval { low high } p50DurationSeconds p95DurationSeconds costPerConversionUsd belowMinSamples } } }`;
const OVERVIEW = `{ overview(period: "30d") { asOf platform { leadsScraped emailsSent aiSpendUsd } outreach { funnel { sent delivered opened replied meetingsBooked } rates { replyRate meetingBookingRate } revenue { currency amount } } outreachSeries { start kpis { funnel { sent replied } } } } }`;

async function load(
  name: string,
  opts: {
    url: string;
    method?: "GET" | "POST";
    body?: string;
    key?: string;
    connections: number;
    duration: number;
  },
): Promise<Result> {
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
  return {
    name,
    requestsPerSecond: r.requests.average,
    rowsPerSecond: 0,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    errors: r.errors + r.non2xx,
  };
}

/** The read workloads: the bare baseline and the API on the same queries, same pool size, same connections. */
export async function readWorkloads(o: {
  apiBase: string;
  /** The same API with ANALYTICS_CACHE_ENTRIES=0 and no response cache. */
  apiNoCacheBase: string;
  bareBase: string;
  key: string;
  connections: number;
  duration: number;
}): Promise<Result[]> {
  const c = { connections: o.connections, duration: o.duration, key: o.key };
  const graphql = (base: string, query: string) => ({
    ...c,
    url: `${base}/graphql`,
    method: "POST" as const,
    body: JSON.stringify({ query }),
  });
  // Warm the pools, plans and caches of all three servers first.
  await load("warm-up", { ...c, duration: 2, url: `${o.bareBase}/leaderboard` });
  for (const base of [o.apiBase, o.apiNoCacheBase])
    await load("warm-up", { ...graphql(base, LEADERBOARD), duration: 2 });
  const results: Result[] = [];
  results.push(
    await load("bare node:http + pg: leaderboard (baseline)", { ...c, url: `${o.bareBase}/leaderboard` }),
  );
  results.push(await load("GraphQL modelLeaderboard (no cache)", graphql(o.apiNoCacheBase, LEADERBOARD)));
  results.push(await load("GraphQL modelLeaderboard (asOf cache)", graphql(o.apiBase, LEADERBOARD)));
  results.push(
    await load("GET /api/v2/analytics/models", {
      ...c,
      url: `${o.apiBase}/api/v2/analytics/models?task_type=website_analysis&period=30d`,
    }),
  );
  results.push(await load("bare node:http + pg: overview", { ...c, url: `${o.bareBase}/overview` }));
  results.push(await load("GraphQL overview (no cache)", graphql(o.apiNoCacheBase, OVERVIEW)));
  results.push(await load("GraphQL overview (asOf cache)", graphql(o.apiBase, OVERVIEW)));
  results.push(
    await load("GET /api/v2/analytics/overview", {
      ...c,
      url: `${o.apiBase}/api/v2/analytics/overview?period=30d`,
    }),
  );
  return results;
}
