/**
 * Bulk ingest (issue 14 target 4): `POST /api/v2/ai-gym/records:bulk` with a streamed NDJSON body next to a raw
 * `COPY ai_gym_performance FROM STDIN` of the same rows in the same run, and `POST /api/v2/leads:bulk`.
 *
 * The raw COPY is the floor the endpoint is measured against: the same records, already encoded as COPY text
 * (encoding is not timed), streamed by pg-copy-streams into the same partitioned table. The endpoint's time is the
 * whole request: upload, gunzip when gzip, JSON.parse and zod per line, lead checks, COPY, audit, event, COMMIT.
 * Rounds alternate (COPY, bulk, COPY, bulk…) so drift in the machine's load hits both sides alike.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import type pg from "pg";
import { copyLine, copyText } from "../src/domain/bulk/copy-text.js";

export type BulkResult = { name: string; rows: number; seconds: number; rowsPerSecond: number };

const TASKS = ["email_copy", "reply_drafting", "website_analysis", "demo_build", "video_script"];
const MODELS = ["claude-4.5-sonnet", "gpt-5", "gemini-2.5-pro", "llama-4-70b"];

/** `n` AI-GYM records as the API takes them: created in the last 30 days, some with metadata and hashes. */
function aiGymRecords(n: number, now: number): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => ({
    task_type: TASKS[i % TASKS.length],
    model_name: MODELS[i % MODELS.length],
    cost: Math.round(((i * 7919) % 100_000) / 10) / 10_000,
    duration_seconds: 1 + (i % 120),
    quality_score: i % 101,
    ...(i % 3 === 0 ? { conversion_metric: 0.05 } : {}),
    ...(i % 2 === 0 ? { prompt_hash: randomBytes(32).toString("hex") } : {}),
    ...(i % 4 === 0 ? { metadata: { prompt_version: `v${i % 7}`, input_tokens: 1000 + (i % 5000) } } : {}),
    created_at: new Date(now - (i % (30 * 24 * 60)) * 60_000).toISOString(),
  }));
}

function leadLines(n: number): string {
  let text = "";
  for (let i = 0; i < n; i++) {
    const id = randomUUID();
    text += `${JSON.stringify({
      company_name: `Bench Co ${i}`,
      website: `https://www.${id}.example`,
      source_platform: "bench-bulk",
      contact_name: "Jane Doe",
      contact_email: `owner@${id}.example`,
      contact_phone: "+49 30 123456",
      industry: "dentist",
      country_code: "DE",
      consent_source: "public_business_listing",
      consent_timestamp: "2026-11-25T09:00:00Z",
    })}\n`;
  }
  return text;
}

async function postNdjson(base: string, key: string, path: string, body: Buffer, gzip: boolean) {
  const t0 = performance.now();
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/x-ndjson",
      ...(gzip ? { "content-encoding": "gzip" } : {}),
    },
    body: new Uint8Array(gzip ? gzipSync(body) : body),
  });
  const answer = (await res.json()) as { accepted?: number; rejected?: number };
  const seconds = (performance.now() - t0) / 1000;
  if (res.status !== 200 || answer.rejected !== 0) {
    throw new Error(`${path} answered ${res.status}: ${JSON.stringify(answer).slice(0, 500)}`);
  }
  return { rows: answer.accepted ?? 0, seconds };
}

export async function bulkWorkloads(o: {
  base: string;
  key: string;
  db: pg.Pool;
  rows: number;
  leads: number;
  rounds: number;
}): Promise<BulkResult[]> {
  const records = aiGymRecords(o.rows, Date.now());
  const ndjson = Buffer.from(records.map((r) => JSON.stringify(r)).join("\n"));
  const copyTextOf = () =>
    records.map((r) =>
      copyLine([
        randomUUID(),
        String(r.task_type),
        String(r.model_name),
        null,
        r.cost as number,
        r.duration_seconds as number,
        r.quality_score as number,
        (r.conversion_metric as number | undefined) ?? null,
        (r.prompt_hash as string | undefined) ?? null,
        null,
        r.metadata ? JSON.stringify(r.metadata) : null,
        String(r.created_at),
      ]),
    );
  const totals = new Map<string, { rows: number; seconds: number }>();
  const add = (name: string, rows: number, seconds: number) => {
    const t = totals.get(name) ?? { rows: 0, seconds: 0 };
    totals.set(name, { rows: t.rows + rows, seconds: t.seconds + seconds });
  };
  const COPY_NAME = "raw COPY ai_gym_performance (baseline)";
  for (let round = 0; round < o.rounds; round++) {
    const text = copyTextOf();
    const client = await o.db.connect();
    try {
      const t0 = performance.now();
      await client.query("BEGIN");
      const n = await copyText(
        client,
        `COPY ai_gym_performance (id, task_type, model_name, lead_id, cost, duration_seconds, quality_score,
           conversion_metric, prompt_hash, response_hash, metadata, created_at) FROM STDIN`,
        text,
      );
      await client.query("COMMIT");
      add(COPY_NAME, n, (performance.now() - t0) / 1000);
    } finally {
      client.release();
    }
    const bulk = await postNdjson(o.base, o.key, "/api/v2/ai-gym/records:bulk", ndjson, false);
    add("POST /api/v2/ai-gym/records:bulk (NDJSON)", bulk.rows, bulk.seconds);
    const gz = await postNdjson(o.base, o.key, "/api/v2/ai-gym/records:bulk", ndjson, true);
    add("POST /api/v2/ai-gym/records:bulk (NDJSON, gzip)", gz.rows, gz.seconds);
    const leads = await postNdjson(
      o.base,
      o.key,
      "/api/v2/leads:bulk",
      Buffer.from(leadLines(o.leads)),
      false,
    );
    add("POST /api/v2/leads:bulk (NDJSON)", leads.rows, leads.seconds);
  }
  return [...totals].map(([name, t]) => ({ name, ...t, rowsPerSecond: t.rows / t.seconds }));
}

/** The table, each AI-GYM row next to the raw COPY of the same run; the misses of issue 14's targets. */
export function reportBulk(
  results: BulkResult[],
  o: { rows: number; leads: number; rounds: number },
): string[] {
  const copy = results[0]?.rowsPerSecond ?? 0;
  console.log(
    `\nreachgraph bench — bulk ingest: ${o.rows.toLocaleString()} AI-GYM rows and ${o.leads.toLocaleString()} leads per load, ${o.rounds} round(s), one request at a time\n`,
  );
  console.log(
    `${"workload".padEnd(50)} ${"rows".padStart(9)} ${"seconds".padStart(8)} ${"rows/s".padStart(9)} ${"vs COPY".padStart(8)}`,
  );
  for (const r of results) {
    console.log(
      `${r.name.padEnd(50)} ${String(r.rows).padStart(9)} ${r.seconds.toFixed(2).padStart(8)} ${r.rowsPerSecond.toFixed(0).padStart(9)} ${`${((r.rowsPerSecond / copy) * 100).toFixed(0)}%`.padStart(8)}`,
    );
  }
  const misses: string[] = [];
  const bulk = results.find((r) => r.name === "POST /api/v2/ai-gym/records:bulk (NDJSON)");
  if (bulk && bulk.rowsPerSecond < 200_000)
    misses.push(`AI-GYM bulk ${bulk.rowsPerSecond.toFixed(0)} rows/s < 200,000`);
  if (bulk && bulk.rowsPerSecond < 0.5 * copy)
    misses.push(`AI-GYM bulk ${((bulk.rowsPerSecond / copy) * 100).toFixed(0)}% of raw COPY < 50%`);
  for (const m of misses) console.log(`MISS: ${m}`);
  return misses;
}
