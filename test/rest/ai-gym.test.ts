import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectDocumented, expectIdempotentReplay, startApi } from "../support/api.js";
import { createLead } from "../support/factories.js";
import { aiGymRecord } from "../support/factories-work.js";

const api = await startApi();
const key = await api.keyWith("ingest");
const PATH = "/api/v2/ai-gym/records";

async function rowsOf(modelName: string) {
  const { rows } = await api.db.primary.query(
    `SELECT id, task_type, lead_id, cost::text AS cost, duration_seconds, quality_score,
            conversion_metric::text AS conversion_metric, prompt_hash, response_hash, metadata, created_at
       FROM ai_gym_performance WHERE model_name = $1 ORDER BY created_at`,
    [modelName],
  );
  return rows;
}

describe("POST /api/v2/ai-gym/records", () => {
  it("stores a batch in input order, with audit rows, and defaults created_at to now", async () => {
    const leadId = await createLead(api);
    const model = `gym-${randomBytes(4).toString("hex")}`;
    const records = [
      aiGymRecord({
        model_name: model,
        lead_id: leadId,
        cost: 0.1234,
        conversion_metric: 0.085,
        created_at: "2026-01-10T08:00:00Z",
        prompt_hash: "AB".repeat(32),
      }),
      aiGymRecord({ model_name: model, task_type: "reply_drafting", quality_score: 0, duration_seconds: 3 }),
    ];
    const before = Date.now();
    const res = await api.request("POST", PATH, { key, body: { records } });
    expect(res.status, res.text).toBe(200);
    expectDocumented(res, "POST", PATH);
    expect(res.body.meta).toEqual({ inserted: 2 });

    const rows = await rowsOf(model);
    expect(rows.map((r) => r.id)).toEqual(res.body.data.map((d: { id: string }) => d.id));
    expect(rows[0]).toMatchObject({
      task_type: "email_copy",
      lead_id: leadId,
      cost: "0.1234",
      conversion_metric: "0.0850",
      prompt_hash: "ab".repeat(32),
      metadata: { temperature: 0.2 },
      created_at: new Date("2026-01-10T08:00:00Z"),
    });
    expect(rows[1]).toMatchObject({ task_type: "reply_drafting", lead_id: null, quality_score: 0 });
    expect(rows[1].created_at.getTime()).toBeGreaterThanOrEqual(before - 1000);

    const audited = await api.db.primary.query<{ resource_id: string }>(
      `SELECT resource_id FROM audit_log WHERE action = 'ai_gym.recorded' AND resource_id = ANY($1::text[])`,
      [res.body.data.map((d: { id: string }) => d.id)],
    );
    expect(audited.rows).toHaveLength(2);
  });

  it("refuses bad records with 422 naming each failing field, and stores none of the batch", async () => {
    const model = `gym-bad-${randomBytes(4).toString("hex")}`;
    const good = aiGymRecord({ model_name: model });
    const cases: [unknown, string][] = [
      [{ records: [] }, "/records"],
      [{ records: [good, { ...good, quality_score: 101 }] }, "/records/1/quality_score"],
      [{ records: [good, { ...good, cost: "cheap" }] }, "/records/1/cost"],
      [{ records: [{ ...good, cost: 0.00005 }] }, "/records/0/cost"],
      [{ records: [{ ...good, prompt_hash: "xyz" }] }, "/records/0/prompt_hash"],
      [{ records: [{ ...good, task_type: undefined }] }, "/records/0/task_type"],
      [{ records: [{ ...good, tokens: 12 }] }, "/records/0"],
      [{ records: [good, { ...good, lead_id: randomUUID() }] }, "/records/1/lead_id"],
      [{ records: [{ ...good, created_at: "2999-01-01T00:00:00Z" }] }, "/records/0/created_at"],
    ];
    for (const [body, path] of cases) {
      const res = await api.request("POST", PATH, { key, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expectDocumented(res, "POST", PATH);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect(await rowsOf(model)).toEqual([]);
  });

  it("replays the first response for the same Idempotency-Key and body, storing the batch once", async () => {
    const model = `gym-replay-${randomBytes(4).toString("hex")}`;
    const body = { records: [aiGymRecord({ model_name: model })] };
    await expectIdempotentReplay(api, PATH, body, 200, { key, documentedAs: PATH });
    expect(await rowsOf(model)).toHaveLength(1);
  });
});
