import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectDocumented, startApi } from "../support/api.js";

/** The decision rule a test declares over REST (migration 0022), and the decision state it reports. */

const api = await startApi({ now: new Date("2026-11-25T10:00:00.000Z") });
const db = api.db.primary;

const design = {
  element_type: "subject_line",
  variants: [
    { id: "A", subject: "One" },
    { id: "B", subject: "Two" },
  ],
  split_ratio: { A: 0.5, B: 0.5 },
};
const named = () => ({ name: `Rule ${randomBytes(4).toString("hex")}`, ...design });

describe("the decision rule of an A/B test", () => {
  it("defaults to reply rate, α 0.05, 200 per variant, τ² 0.0025, collecting", async () => {
    const res = await api.request("POST", "/api/v2/ab-tests", { body: named() });
    expect(res.status, res.text).toBe(201);
    expectDocumented(res, "POST", "/api/v2/ab-tests");
    expect(res.body).toMatchObject({
      metric: "reply_rate",
      alpha: 0.05,
      min_sample_per_variant: 200,
      mixing_variance: 0.0025,
      decision_state: "collecting",
      decided_by: null,
      stopped_variants: [],
      evaluated_at: null,
      evidence: null,
    });
  });

  it("is declared at creation, changes while draft and is fixed once active (409)", async () => {
    const created = await api.request("POST", "/api/v2/ab-tests", {
      body: { ...named(), status: "draft", metric: "meeting_rate", alpha: 0.01, min_sample_per_variant: 500 },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({ metric: "meeting_rate", alpha: 0.01, min_sample_per_variant: 500 });
    const id = created.body.id;
    const patched = await api.request("PATCH", `/api/v2/ab-tests/${id}`, {
      body: { metric: "positive_reply_rate", mixing_variance: 0.01 },
    });
    expect(patched.status, patched.text).toBe(200);
    expect(patched.body).toMatchObject({ metric: "positive_reply_rate", alpha: 0.01, mixing_variance: 0.01 });
    expect(
      (await api.request("PATCH", `/api/v2/ab-tests/${id}`, { body: { status: "active" } })).status,
    ).toBe(200);
    const refused = await api.request("PATCH", `/api/v2/ab-tests/${id}`, { body: { alpha: 0.05 } });
    expect(refused.status).toBe(409);
  });

  it.each([
    ["an α of 0.5", { alpha: 0.5 }, "/alpha"],
    ["an α of 0", { alpha: 0 }, "/alpha"],
    ["a minimum sample below 10", { min_sample_per_variant: 5 }, "/min_sample_per_variant"],
    ["an unknown metric", { metric: "open_rate" }, "/metric"],
    ["a mixing variance of 0", { mixing_variance: 0 }, "/mixing_variance"],
  ])("refuses %s (422)", async (_name, rule, path) => {
    const res = await api.request("POST", "/api/v2/ab-tests", { body: { ...named(), ...rule } });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it("reports a test written with a winner but without the decision columns as decided", async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO ab_tests (name, element_type, variants, split_ratio, status, winning_variant, decided_at)
       VALUES ('hand-written', 'subject_line', $1, $2, 'completed', 'B', now()) RETURNING id`,
      [JSON.stringify(design.variants), JSON.stringify(design.split_ratio)],
    );
    const res = await api.request("GET", `/api/v2/ab-tests/${rows[0]?.id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "completed", winning_variant: "B", decision_state: "decided" });
  });
});
