import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectDocumented, expectIdempotentReplay, startApi } from "../support/api.js";
import { leadInput } from "../support/factories.js";
import { countRows } from "../support/factories-engagement.js";

const NOW = new Date("2026-11-25T10:00:00.000Z");
const api = await startApi({ now: NOW });
const db = api.db.primary;
const later = (minutes: number) => new Date(NOW.getTime() + minutes * 60_000);

/** A source type of its own, so a test can find its jobs among the other files' rows. */
const sourceType = () => `src_${randomBytes(4).toString("hex")}`;

async function createJob(body: Record<string, unknown> = {}): Promise<{ id: string; source_type: string }> {
  const res = await api.request("POST", "/api/v2/scraping/jobs", {
    body: { source_type: sourceType(), query: { keyword: "dentist", location: "Berlin" }, ...body },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function patchStatus(id: string, body: Record<string, unknown>) {
  return api.request("PATCH", `/api/v2/scraping/jobs/${id}`, { body });
}

describe("POST /api/v2/scraping/jobs", () => {
  it("registers a queued job", async () => {
    const source = sourceType();
    const res = await api.request("POST", "/api/v2/scraping/jobs", {
      body: { source_type: source, query: { keyword: "roofer", radius_km: 25 }, filters: { min_rating: 4 } },
    });
    expect(res.status).toBe(201);
    expectDocumented(res, "POST", "/api/v2/scraping/jobs");
    expect(res.body).toMatchObject({
      source_type: source,
      query: { keyword: "roofer", radius_km: 25 },
      filters: { min_rating: 4 },
      status: "queued",
      leads_found: 0,
      leads_created: 0,
      leads_updated: 0,
      error: null,
      created_at: NOW.toISOString(),
      started_at: null,
      finished_at: null,
    });
  });

  it.each([
    ["a wrong type", { query: "dentist berlin" }, "/query"],
    ["a missing field", { query: undefined }, "/query"],
    ["an unknown field", { priority: "high" }, "/"],
    ["a bad source type", { source_type: "Google Maps!" }, "/source_type"],
  ])("refuses %s with 422 and writes nothing", async (_case, overrides, path) => {
    const source = sourceType();
    const res = await api.request("POST", "/api/v2/scraping/jobs", {
      body: { source_type: source, query: { keyword: "dentist" }, ...overrides },
    });
    expect(res.status).toBe(422);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expectDocumented(res, "POST", "/api/v2/scraping/jobs");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await countRows(db, "scraping_jobs", "source_type = $1", [source])).toBe(0);
  });

  it("replays the first response for the same Idempotency-Key and body", async () => {
    const body = { source_type: sourceType(), query: { keyword: "bakery" } };
    await expectIdempotentReplay(api, "/api/v2/scraping/jobs", body, 201);
    expect(await countRows(db, "scraping_jobs", "source_type = $1", [body.source_type])).toBe(1);
  });
});

describe("GET /api/v2/scraping/jobs and /api/v2/scraping/jobs/{id}", () => {
  it("pages through jobs filtered by source type and status", async () => {
    const source = sourceType();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createJob({ source_type: source })).id);
    await patchStatus(ids[0] as string, { status: "running" });

    const first = await api.request("GET", `/api/v2/scraping/jobs?source_type=${source}&limit=2`);
    expect(first.status).toBe(200);
    expectDocumented(first, "GET", "/api/v2/scraping/jobs");
    const second = await api.request(
      "GET",
      `/api/v2/scraping/jobs?source_type=${source}&limit=2&cursor=${first.body.page.next_cursor}`,
    );
    expect(second.body.page.next_cursor).toBeNull();
    const seen = [...first.body.data, ...second.body.data].map((j: { id: string }) => j.id);
    expect(seen.sort()).toEqual([...ids].sort());

    const running = await api.request("GET", `/api/v2/scraping/jobs?source_type=${source}&status=running`);
    expect(running.body.data.map((j: { id: string }) => j.id)).toEqual([ids[0]]);
  });

  it("refuses a bad filter and an unknown parameter", async () => {
    const res = await api.request("GET", "/api/v2/scraping/jobs?status=done");
    expect(res.status).toBe(422);
    expectDocumented(res, "GET", "/api/v2/scraping/jobs");
    expect((await api.request("GET", "/api/v2/scraping/jobs?colour=red")).status).toBe(422);
    expect((await api.request("GET", "/api/v2/scraping/jobs?cursor=bogus")).status).toBe(422);
  });

  it("shows the counts lead ingest keeps on the job", async () => {
    const job = await createJob();
    const existing = leadInput();
    await api.request("POST", "/api/v2/leads", { body: { leads: [existing] } });
    const ingest = await api.request("POST", "/api/v2/leads", {
      body: { scraping_job_id: job.id, leads: [existing, leadInput(), leadInput()] },
    });
    expect(ingest.status).toBe(200);
    const res = await api.request("GET", `/api/v2/scraping/jobs/${job.id}`);
    expect(res.status).toBe(200);
    expectDocumented(res, "GET", "/api/v2/scraping/jobs/{id}");
    expect(res.body).toMatchObject({ id: job.id, leads_found: 3, leads_created: 2, leads_updated: 1 });
  });

  it("answers 404 for an unknown job", async () => {
    const res = await api.request("GET", "/api/v2/scraping/jobs/7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b31");
    expect(res.status).toBe(404);
    expectDocumented(res, "GET", "/api/v2/scraping/jobs/{id}");
  });
});

describe("PATCH /api/v2/scraping/jobs/{id}", () => {
  it("runs a job to completion, stamping started_at and finished_at", async () => {
    const job = await createJob();
    api.setNow(later(1));
    const running = await patchStatus(job.id, { status: "running" });
    expect(running.status).toBe(200);
    expectDocumented(running, "PATCH", "/api/v2/scraping/jobs/{id}");
    expect(running.body).toMatchObject({
      status: "running",
      started_at: later(1).toISOString(),
      finished_at: null,
    });
    api.setNow(later(9));
    const done = await patchStatus(job.id, { status: "completed" });
    expect(done.body).toMatchObject({
      status: "completed",
      started_at: later(1).toISOString(),
      finished_at: later(9).toISOString(),
      updated_at: later(9).toISOString(),
    });
    api.setNow(NOW);
  });

  it("records why a job failed or was cancelled", async () => {
    const failed = await createJob();
    await patchStatus(failed.id, { status: "running" });
    const res = await patchStatus(failed.id, { status: "failed", error: "source answered 429" });
    expect(res.body).toMatchObject({
      status: "failed",
      error: "source answered 429",
      finished_at: NOW.toISOString(),
    });

    const cancelled = await createJob();
    const c = await patchStatus(cancelled.id, { status: "cancelled" });
    expect(c.body).toMatchObject({ status: "cancelled", started_at: null, finished_at: NOW.toISOString() });
  });

  it.each([
    [[], "completed"],
    [[], "failed"],
    [[], "queued"],
    [["running"], "running"],
    [["running"], "queued"],
    [["running", "completed"], "cancelled"],
    [["running", "failed"], "running"],
    [["cancelled"], "running"],
  ])("after %j refuses %s with 409 and changes nothing", async (path, to) => {
    const job = await createJob();
    for (const status of path) expect((await patchStatus(job.id, { status })).status).toBe(200);
    const before = await api.request("GET", `/api/v2/scraping/jobs/${job.id}`);
    const res = await patchStatus(job.id, { status: to });
    expect(res.status).toBe(409);
    expectDocumented(res, "PATCH", "/api/v2/scraping/jobs/{id}");
    expect(res.body.type).toMatch(/invalid-state-transition$/);
    const after = await api.request("GET", `/api/v2/scraping/jobs/${job.id}`);
    expect(after.text).toBe(before.text);
  });

  it.each([
    ["a wrong type", { status: 3 }, "/status"],
    ["an unknown status", { status: "done" }, "/status"],
    ["a missing status", { error: "boom" }, "/status"],
    ["an unknown field", { status: "running", leads_found: 10 }, "/"],
    ["an error on a running job", { status: "running", error: "boom" }, "/error"],
  ])("refuses %s with 422 and changes nothing", async (_case, body, path) => {
    const job = await createJob();
    const res = await patchStatus(job.id, body);
    expect(res.status).toBe(422);
    expectDocumented(res, "PATCH", "/api/v2/scraping/jobs/{id}");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    const { rows } = await db.query("SELECT status, error, leads_found FROM scraping_jobs WHERE id = $1", [
      job.id,
    ]);
    expect(rows[0]).toEqual({ status: "queued", error: null, leads_found: 0 });
  });

  it("answers 404 for an unknown job", async () => {
    const res = await patchStatus("7d0c9a7e-59c1-4d7e-8a8e-1b9f5f0d6b32", { status: "running" });
    expect(res.status).toBe(404);
    expectDocumented(res, "PATCH", "/api/v2/scraping/jobs/{id}");
  });
});
