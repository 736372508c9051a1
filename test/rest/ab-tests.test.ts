import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectDocumented, expectIdempotentReplay, startApi } from "../support/api.js";
import {
  correlated,
  countRows,
  eventsFor,
  insertCampaign,
  insertEmailSend,
  insertLead,
} from "../support/factories-engagement.js";

const NOW = new Date("2026-11-25T10:00:00.000Z");
const api = await startApi({ now: NOW });
const db = api.db.primary;
const hoursAgo = (h: number) => new Date(NOW.getTime() - h * 3_600_000);

function abTestInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `Subject test ${randomBytes(4).toString("hex")}`,
    element_type: "subject_line",
    variants: [
      { id: "A", subject: "Quick question about your website" },
      { id: "B", subject: "I rebuilt your homepage" },
    ],
    split_ratio: { A: 0.5, B: 0.5 },
    ...overrides,
  };
}

async function createTest(
  overrides: Record<string, unknown> = {},
): Promise<Record<string, unknown> & { id: string }> {
  const res = await api.request("POST", "/api/v2/ab-tests", { body: abTestInput(overrides) });
  expect(res.status).toBe(201);
  return res.body;
}

async function statusOf(id: string): Promise<string | undefined> {
  const { rows } = await db.query<{ status: string }>("SELECT status FROM ab_tests WHERE id = $1", [id]);
  return rows[0]?.status;
}

describe("POST /api/v2/ab-tests", () => {
  it("creates an active test in a campaign", async () => {
    const campaign = await insertCampaign(db);
    const input = abTestInput({ campaign_id: campaign });
    const res = await api.request("POST", "/api/v2/ab-tests", { body: input });
    expect(res.status).toBe(201);
    expectDocumented(res, "POST", "/api/v2/ab-tests");
    expect(res.body).toMatchObject({
      name: input.name,
      campaign_id: campaign,
      element_type: "subject_line",
      variants: input.variants,
      split_ratio: { A: 0.5, B: 0.5 },
      status: "active",
      winning_variant: null,
      decided_at: null,
      created_at: NOW.toISOString(),
    });
  });

  it.each([
    ["a split_ratio not summing to 1", { split_ratio: { A: 0.5, B: 0.6 } }, "/split_ratio"],
    ["a split_ratio for other variants", { split_ratio: { A: 0.5, C: 0.5 } }, "/split_ratio"],
    ["a single variant", { variants: [{ id: "A" }], split_ratio: { A: 1 } }, "/variants"],
    ["duplicate variant ids", { variants: [{ id: "A" }, { id: "A" }], split_ratio: { A: 1 } }, "/variants"],
    ["a wrong type", { variants: "A,B" }, "/variants"],
    ["a missing field", { element_type: undefined }, "/element_type"],
    ["an unknown element type", { element_type: "font" }, "/element_type"],
    ["an unknown field", { owner: "growth" }, "/"],
    ["a status other than draft/active", { status: "completed" }, "/status"],
  ])("refuses %s with 422 and writes nothing", async (_case, overrides, path) => {
    const input = abTestInput(overrides);
    const res = await api.request("POST", "/api/v2/ab-tests", { body: input });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expectDocumented(res, "POST", "/api/v2/ab-tests");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await countRows(db, "ab_tests", "name = $1", [input.name])).toBe(0);
  });

  it("refuses an unknown campaign", async () => {
    const input = abTestInput({ campaign_id: "7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b21" });
    const res = await api.request("POST", "/api/v2/ab-tests", { body: input });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].path).toBe("/campaign_id");
    expect(await countRows(db, "ab_tests", "name = $1", [input.name])).toBe(0);
  });

  it("replays the first response for the same Idempotency-Key and body", async () => {
    const input = abTestInput();
    await expectIdempotentReplay(api, "/api/v2/ab-tests", input, 201);
    expect(await countRows(db, "ab_tests", "name = $1", [input.name])).toBe(1);
  });
});

describe("GET /api/v2/ab-tests and /api/v2/ab-tests/{id}", () => {
  it("pages through tests filtered by campaign", async () => {
    const campaign = await insertCampaign(db);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createTest({ campaign_id: campaign })).id);
    const first = await api.request("GET", `/api/v2/ab-tests?campaign_id=${campaign}&limit=2`);
    expect(first.status).toBe(200);
    expectDocumented(first, "GET", "/api/v2/ab-tests");
    expect(first.body.data).toHaveLength(2);
    expect(first.body.page.next_cursor).toEqual(expect.any(String));
    const second = await api.request(
      "GET",
      `/api/v2/ab-tests?campaign_id=${campaign}&limit=2&cursor=${first.body.page.next_cursor}`,
    );
    expect(second.body.page.next_cursor).toBeNull();
    const seen = [...first.body.data, ...second.body.data].map((t: { id: string }) => t.id);
    expect(seen.sort()).toEqual([...ids].sort());
  });

  it("refuses an unknown query parameter and a bad filter", async () => {
    const res = await api.request("GET", "/api/v2/ab-tests?colour=red");
    expect(res.status).toBe(422);
    expectDocumented(res, "GET", "/api/v2/ab-tests");
    const bad = await api.request("GET", "/api/v2/ab-tests?status=finished");
    expect(bad.status).toBe(422);
  });

  it("shows per-variant counts of the test's email sends", async () => {
    const test = await createTest({
      variants: [{ id: "A" }, { id: "B" }, { id: "C" }],
      split_ratio: { A: 0.4, B: 0.4, C: 0.2 },
    });
    const lead = await insertLead(db);
    const t = hoursAgo(1);
    const send = (variant: string, o: Record<string, Date | null> = {}) =>
      insertEmailSend(db, {
        lead_id: lead,
        ab_test_id: test.id,
        ab_variant: variant,
        sent_at: hoursAgo(2),
        ...o,
      });
    await send("A", { opened_at: t, clicked_at: t, replied_at: t });
    await send("A", { opened_at: t });
    await send("A", { sent_at: null });
    await send("B", { opened_at: t, replied_at: t });
    const res = await api.request("GET", `/api/v2/ab-tests/${test.id}`);
    expect(res.status).toBe(200);
    expectDocumented(res, "GET", "/api/v2/ab-tests/{id}");
    expect(res.body.stats).toEqual([
      { variant: "A", assigned: 3, sent: 2, opened: 2, clicked: 1, replied: 1 },
      { variant: "B", assigned: 1, sent: 1, opened: 1, clicked: 0, replied: 1 },
      { variant: "C", assigned: 0, sent: 0, opened: 0, clicked: 0, replied: 0 },
    ]);
  });

  it("answers 404 for an unknown test", async () => {
    const res = await api.request("GET", "/api/v2/ab-tests/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b22");
    expect(res.status).toBe(404);
    expectDocumented(res, "GET", "/api/v2/ab-tests/{id}");
  });
});

describe("PATCH /api/v2/ab-tests/{id}", () => {
  it("redesigns a draft, activates, pauses and resumes it", async () => {
    const test = await createTest({ status: "draft" });
    const redesign = await api.request("PATCH", `/api/v2/ab-tests/${test.id}`, {
      body: { name: "Renamed", variants: [{ id: "X" }, { id: "Y" }], split_ratio: { X: 0.7, Y: 0.3 } },
    });
    expect(redesign.status).toBe(200);
    expectDocumented(redesign, "PATCH", "/api/v2/ab-tests/{id}");
    expect(redesign.body).toMatchObject({
      name: "Renamed",
      status: "draft",
      split_ratio: { X: 0.7, Y: 0.3 },
    });
    for (const status of ["active", "paused", "active"]) {
      const res = await api.request("PATCH", `/api/v2/ab-tests/${test.id}`, { body: { status } });
      expect(res.status).toBe(200);
      expect(res.body.status).toBe(status);
    }
  });

  it.each([
    ["active", { variants: [{ id: "A" }, { id: "B" }], split_ratio: { A: 0.9, B: 0.1 } }],
    ["active", { split_ratio: { A: 0.9, B: 0.1 } }],
    ["active", { status: "draft" }],
    ["active", { status: "completed" }],
    ["paused", { status: "draft" }],
  ])("refuses to change a %s test with %j (409) and changes nothing", async (status, body) => {
    const test = await createTest();
    if (status === "paused") await api.request("PATCH", `/api/v2/ab-tests/${test.id}`, { body: { status } });
    const res = await api.request("PATCH", `/api/v2/ab-tests/${test.id}`, { body });
    expect(res.status).toBe(409);
    expectDocumented(res, "PATCH", "/api/v2/ab-tests/{id}");
    const got = await api.request("GET", `/api/v2/ab-tests/${test.id}`);
    expect(got.body).toMatchObject({ status, split_ratio: { A: 0.5, B: 0.5 } });
  });

  it("refuses to change a completed test (409)", async () => {
    const test = await createTest();
    await api.request("POST", `/api/v2/ab-tests/${test.id}/decide`, { body: { winning_variant: "A" } });
    const res = await api.request("PATCH", `/api/v2/ab-tests/${test.id}`, { body: { status: "active" } });
    expect(res.status).toBe(409);
    expect(await statusOf(test.id)).toBe("completed");
  });

  it.each([
    ["a wrong type", { name: 7 }, "/name"],
    ["an unknown status", { status: "archived" }, "/status"],
    ["an unknown field", { element_type: "email_body" }, "/"],
    ["an empty body", {}, "/"],
    ["a split_ratio not matching the new variants", { variants: [{ id: "A" }, { id: "Z" }] }, "/split_ratio"],
  ])("refuses %s with 422 and changes nothing", async (_case, body, path) => {
    const test = await createTest({ status: "draft" });
    const res = await api.request("PATCH", `/api/v2/ab-tests/${test.id}`, { body });
    expect(res.status).toBe(422);
    expectDocumented(res, "PATCH", "/api/v2/ab-tests/{id}");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    const { rows } = await db.query("SELECT name, status, variants FROM ab_tests WHERE id = $1", [test.id]);
    expect(rows[0]).toEqual({ name: test.name, status: "draft", variants: test.variants });
  });

  it("answers 404 for an unknown test", async () => {
    const res = await api.request("PATCH", "/api/v2/ab-tests/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b23", {
      body: { status: "paused" },
    });
    expect(res.status).toBe(404);
    expectDocumented(res, "PATCH", "/api/v2/ab-tests/{id}");
  });
});

describe("DELETE /api/v2/ab-tests/{id}", () => {
  it("deletes a test no send references", async () => {
    const test = await createTest();
    const res = await api.request("DELETE", `/api/v2/ab-tests/${test.id}`);
    expect(res.status).toBe(200);
    expectDocumented(res, "DELETE", "/api/v2/ab-tests/{id}");
    expect(res.body).toEqual({ id: test.id, deleted: true });
    expect(await countRows(db, "ab_tests", "id = $1", [test.id])).toBe(0);
  });

  it("refuses (409) to delete a test with sends and says what to do instead", async () => {
    const test = await createTest();
    await insertEmailSend(db, { lead_id: await insertLead(db), ab_test_id: test.id, ab_variant: "A" });
    const res = await api.request("DELETE", `/api/v2/ab-tests/${test.id}`);
    expect(res.status).toBe(409);
    expectDocumented(res, "DELETE", "/api/v2/ab-tests/{id}");
    expect(res.body.detail).toMatch(/decide/);
    expect(await countRows(db, "ab_tests", "id = $1", [test.id])).toBe(1);
  });

  it("answers 404 for an unknown test", async () => {
    const res = await api.request("DELETE", "/api/v2/ab-tests/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b24");
    expect(res.status).toBe(404);
    expectDocumented(res, "DELETE", "/api/v2/ab-tests/{id}");
  });
});

describe("POST /api/v2/ab-tests/{id}/decide", () => {
  it("records the winner, completes the test and emits abtest.decided", async () => {
    const campaign = await insertCampaign(db);
    const test = await createTest({ campaign_id: campaign });
    const c = correlated();
    const res = await api.request("POST", `/api/v2/ab-tests/${test.id}/decide`, {
      body: { winning_variant: "B" },
      headers: c.headers,
    });
    expect(res.status).toBe(200);
    expectDocumented(res, "POST", "/api/v2/ab-tests/{id}/decide");
    expect(res.body).toMatchObject({
      status: "completed",
      winning_variant: "B",
      decided_at: NOW.toISOString(),
    });
    expect(await eventsFor(db, c.id)).toEqual([
      {
        type: "abtest.decided",
        payload: {
          ab_test_id: test.id,
          campaign_id: campaign,
          winning_variant: "B",
          decided_at: NOW.toISOString(),
          decided_by: "manual",
          statistics: null,
        },
      },
    ]);
    expect(res.body).toMatchObject({
      decision_state: "decided",
      decided_by: "manual",
      stopped_variants: ["A"],
    });
  });

  it("decides a paused test but not a draft or a decided one (409)", async () => {
    const paused = await createTest();
    await api.request("PATCH", `/api/v2/ab-tests/${paused.id}`, { body: { status: "paused" } });
    const ok = await api.request("POST", `/api/v2/ab-tests/${paused.id}/decide`, {
      body: { winning_variant: "A" },
    });
    expect(ok.status).toBe(200);
    const again = await api.request("POST", `/api/v2/ab-tests/${paused.id}/decide`, {
      body: { winning_variant: "B" },
    });
    expect(again.status).toBe(409);
    expectDocumented(again, "POST", "/api/v2/ab-tests/{id}/decide");
    const { rows } = await db.query("SELECT winning_variant FROM ab_tests WHERE id = $1", [paused.id]);
    expect(rows[0].winning_variant).toBe("A");

    const draft = await createTest({ status: "draft" });
    const res = await api.request("POST", `/api/v2/ab-tests/${draft.id}/decide`, {
      body: { winning_variant: "A" },
    });
    expect(res.status).toBe(409);
    expect(await statusOf(draft.id)).toBe("draft");
  });

  it.each([
    ["a variant the test does not have", { winning_variant: "Z" }, "/winning_variant"],
    ["a wrong type", { winning_variant: 1 }, "/winning_variant"],
    ["a missing field", {}, "/winning_variant"],
    ["an unknown field", { winning_variant: "A", reason: "better" }, "/"],
  ])("refuses %s with 422 and changes nothing", async (_case, body, path) => {
    const test = await createTest();
    const c = correlated();
    const res = await api.request("POST", `/api/v2/ab-tests/${test.id}/decide`, { body, headers: c.headers });
    expect(res.status).toBe(422);
    expectDocumented(res, "POST", "/api/v2/ab-tests/{id}/decide");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await statusOf(test.id)).toBe("active");
    expect(await eventsFor(db, c.id)).toEqual([]);
  });

  it("replays the first response for the same Idempotency-Key and body", async () => {
    const test = await createTest();
    await expectIdempotentReplay(api, `/api/v2/ab-tests/${test.id}/decide`, { winning_variant: "A" }, 200);
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM audit_log WHERE action = $1 AND resource_id = $2",
      ["ab_test.decided", test.id],
    );
    expect(rows[0].n).toBe(1);
  });
});

describe("GET /api/v2/ab-tests/{id}/assignment", () => {
  it("assigns the same variant to the same lead on every call", async () => {
    const test = await createTest();
    const lead = await insertLead(db);
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await api.request("GET", `/api/v2/ab-tests/${test.id}/assignment?lead_id=${lead}`);
      expect(res.status).toBe(200);
      expectDocumented(res, "GET", "/api/v2/ab-tests/{id}/assignment");
      answers.push(res.text);
    }
    expect(new Set(answers).size).toBe(1);
    const body = JSON.parse(answers[0] as string);
    expect(body).toMatchObject({ ab_test_id: test.id, lead_id: lead, content: null });
    expect(["A", "B"]).toContain(body.variant);
    const variants = test.variants as { id: string; subject: string }[];
    expect(body.subject).toBe(variants.find((v) => v.id === body.variant)?.subject);
  });

  it("splits ~2000 random leads within a few percent of split_ratio", async () => {
    const split = { A: 0.5, B: 0.3, C: 0.2 };
    const test = await createTest({ variants: [{ id: "A" }, { id: "B" }, { id: "C" }], split_ratio: split });
    const tag = randomBytes(4).toString("hex");
    const { rows: leads } = await db.query<{ id: string }>(
      `INSERT INTO leads (company_name, domain, source_platform)
       SELECT 'Split ' || g, 'split-' || $1 || '-' || g || '.example', 'split_test' FROM generate_series(1, 2000) g
       RETURNING id`,
      [tag],
    );
    const counts: Record<string, number> = { A: 0, B: 0, C: 0 };
    for (let i = 0; i < leads.length; i += 50) {
      const batch = leads.slice(i, i + 50);
      const answers = await Promise.all(
        batch.map((l) => api.request("GET", `/api/v2/ab-tests/${test.id}/assignment?lead_id=${l.id}`)),
      );
      for (const a of answers) counts[a.body.variant] = (counts[a.body.variant] ?? 0) + 1;
    }
    // ±4 points is > 3.5 standard deviations of a 2000-lead sample for every ratio here.
    for (const [variant, ratio] of Object.entries(split)) {
      expect(Math.abs((counts[variant] ?? 0) / leads.length - ratio)).toBeLessThan(0.04);
    }
  });

  it("gives every lead the winner once the test is decided", async () => {
    const test = await createTest();
    await api.request("POST", `/api/v2/ab-tests/${test.id}/decide`, { body: { winning_variant: "B" } });
    for (let i = 0; i < 5; i++) {
      const lead = await insertLead(db);
      const res = await api.request("GET", `/api/v2/ab-tests/${test.id}/assignment?lead_id=${lead}`);
      expect(res.body.variant).toBe("B");
    }
  });

  it("answers 422 without a lead_id and 404 for an unknown test or lead", async () => {
    const test = await createTest();
    const missing = await api.request("GET", `/api/v2/ab-tests/${test.id}/assignment`);
    expect(missing.status).toBe(422);
    expectDocumented(missing, "GET", "/api/v2/ab-tests/{id}/assignment");
    expect(missing.body.errors[0].path).toBe("/lead_id");
    const bad = await api.request("GET", `/api/v2/ab-tests/${test.id}/assignment?lead_id=42`);
    expect(bad.status).toBe(422);
    const lead = await insertLead(db);
    const unknownTest = await api.request(
      "GET",
      `/api/v2/ab-tests/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b25/assignment?lead_id=${lead}`,
    );
    expect(unknownTest.status).toBe(404);
    expectDocumented(unknownTest, "GET", "/api/v2/ab-tests/{id}/assignment");
    const unknownLead = await api.request(
      "GET",
      `/api/v2/ab-tests/${test.id}/assignment?lead_id=7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b26`,
    );
    expect(unknownLead.status).toBe(404);
  });
});
