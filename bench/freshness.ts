import type pg from "pg";
import type { Result } from "./run.js";
import { aiGymRecord, campaignWithLeads, lead } from "./workloads.js";

/** Issue 14 target 3: every analytics answer at most this stale at p99, under FRESHNESS_WRITES_PER_SECOND. */
export const FRESHNESS_TARGET_MS = 5_000;

export type FreshnessResult = Result & {
  probes: number;
  maxMs: number;
  /** Writes acknowledged per second by the steady ingest (besides the probes). */
  ingestPerSecond: number;
};

/** `n` sent emails of a new campaign, an hour old (inside the open window): their tracking tokens in order. */
async function sentEmails(db: pg.Pool, n: number): Promise<{ campaignId: string; tokens: string[] }> {
  const { campaignId, leadIds } = await campaignWithLeads(db, n);
  const { rows } = await db.query<{ tracking_token: string }>(
    `INSERT INTO email_sends (campaign_id, lead_id, subject_variant, body, tracking_token, status, sent_at, created_at)
     SELECT $1, l, 'Hi', 'Hello', gen_random_uuid(), 'sent', now() - interval '1 hour', now() - interval '1 hour'
       FROM unnest($2::uuid[]) AS l
     RETURNING tracking_token`,
    [campaignId, leadIds],
  );
  return { campaignId, tokens: rows.map((r) => r.tracking_token) };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/**
 * Freshness under a steady ingest: `writesPerSecond` single-row writes (leads, AI-GYM records and open pixels,
 * round robin, sent on a fixed schedule whatever the latency: an open loop) for `durationS` seconds, against an API
 * whose process folds the open window every ROLLUP_FOLD_INTERVAL_MS. Alongside, one probe at a time: one email
 * queued for a probe campaign (POST /api/v2/email/send: its 202 means committed, unlike the pixel's, which answers
 * its image whatever happened), then the GraphQL campaign performance polled every 50 ms until its `queued` counts
 * it. A probe's figure is the time from the 202 to the first answer that counts it (through campaign_kpis_15m, the
 * rollup's open table).
 */
export async function freshnessBench(ctx: {
  base: string;
  key: string;
  db: pg.Pool;
  durationS: number;
  writesPerSecond: number;
}): Promise<FreshnessResult> {
  const probeCampaign = await campaignWithLeads(ctx.db, Math.ceil(ctx.durationS * 10) + 10);
  const background = await sentEmails(ctx.db, Math.ceil((ctx.durationS * ctx.writesPerSecond) / 3) + 10);
  const auth = { authorization: `Bearer ${ctx.key}`, "content-type": "application/json" };
  const query = `query($id: ID!) { campaign(id: $id) { performance(period: "1d") { asOf totals { funnel { queued } } } } }`;
  let readErrors = 0;
  let firstReadError: string | undefined;
  /** The probe campaign's queued emails as the API answers them; -1 for an error answer (counted, polled again). */
  const queued = async (): Promise<number> => {
    try {
      const res = await fetch(`${ctx.base}/graphql`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ query, variables: { id: probeCampaign.campaignId } }),
      });
      const body = (await res.json()) as {
        data?: { campaign: { performance: { totals: { funnel: { queued: number } } } } | null };
      };
      const n = body.data?.campaign?.performance.totals.funnel.queued;
      if (n !== undefined) return n;
      firstReadError ??= `${res.status} ${JSON.stringify(body).slice(0, 300)}`;
    } catch (err) {
      // An overloaded server: connect timeouts and resets are errors of the run, not of the bench.
      firstReadError ??= (err as Error).message;
    }
    readErrors++;
    return -1;
  };
  // The backlog (these emails, the seed) is folded before the clock starts.
  const drained = async () =>
    (await ctx.db.query<{ empty: boolean }>("SELECT NOT EXISTS (SELECT 1 FROM rollup_open_changes) AS empty"))
      .rows[0]?.empty === true;
  for (let i = 0; i < 1200 && !(await drained()); i++) await new Promise((r) => setTimeout(r, 100));
  if ((await queued()) > 0) throw new Error("freshness probe: the probe campaign has emails already");

  let acknowledged = 0;
  let errors = 0;
  let next = 0;
  const writes: (() => Promise<Response>)[] = [
    () =>
      fetch(`${ctx.base}/api/v2/leads`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ leads: [lead()] }),
      }),
    () =>
      fetch(`${ctx.base}/api/v2/ai-gym/records`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({ records: [aiGymRecord()] }),
      }),
    () => fetch(`${ctx.base}/t/${background.tokens[next++ % background.tokens.length]}/o.gif`),
  ];
  const started = performance.now();
  const end = started + ctx.durationS * 1000;
  const inFlight = new Set<Promise<void>>();
  const ingest = (async () => {
    // A fixed schedule of 10 ms ticks: the writes due by now are sent, whatever the previous ones are doing.
    let sent = 0;
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - started) / 1000) * ctx.writesPerSecond);
      for (; sent < due; sent++) {
        const write = writes[sent % writes.length] as () => Promise<Response>;
        const p = write()
          .then(async (res) => {
            await res.arrayBuffer();
            if (res.ok) acknowledged++;
            else errors++;
          })
          .catch(() => {
            errors++;
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(inFlight);
  })();

  const latencies: number[] = [];
  const probing = (async () => {
    let k = 0;
    for (const leadId of probeCampaign.leadIds) {
      if (performance.now() >= end) break;
      const res = await fetch(`${ctx.base}/api/v2/email/send`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({
          campaign_id: probeCampaign.campaignId,
          emails: [
            {
              lead_id: leadId,
              subject: "Probe",
              body: "A freshness probe.",
              demo_url: "https://demos.example/p",
            },
          ],
        }),
      }).catch(() => undefined);
      await res?.arrayBuffer();
      if (!res?.ok) {
        errors++;
        continue;
      }
      k++;
      const acked = performance.now();
      for (;;) {
        if ((await queued()) >= k) break;
        if (performance.now() - acked > 60_000) throw new Error(`freshness probe ${k}: not counted in 60 s`);
        await new Promise((r) => setTimeout(r, 50));
      }
      latencies.push(performance.now() - acked);
      // A random pause, so that probes land at every phase of the fold loop.
      await new Promise((r) => setTimeout(r, Math.random() * 500));
    }
  })();
  await Promise.all([ingest, probing]);
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  if (firstReadError)
    console.log(`  freshness: ${readErrors} analytics answers were errors, the first: ${firstReadError}`);
  return {
    name: `freshness: ${ctx.writesPerSecond} writes/s, 2xx → counted (target p99 ≤ ${FRESHNESS_TARGET_MS} ms)`,
    requestsPerSecond: acknowledged / seconds,
    rowsPerSecond: acknowledged / seconds,
    ingestPerSecond: acknowledged / seconds,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? 0,
    probes: latencies.length,
    errors: errors + readErrors,
  };
}
