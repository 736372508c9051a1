import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { getMedianTaskDuration } from "../../src/domain/get-median-task-duration.js";
import { type ApiResponse, expectDocumented, expectIdempotentReplay, startApi } from "../support/api.js";
import { createLead } from "../support/factories.js";
import { aiGymMetrics, epochs, plusSeconds, sampleDemoBody } from "../support/factories-work.js";

const api = await startApi({ now: new Date("2000-01-01T00:00:00Z") });
const workerKey = await api.keyWith("worker");
const ingestKey = await api.keyWith("ingest");
const nextEpoch = epochs(1999);

/** Sets the app clock to this test's own epoch (see `epochs`) and returns it. */
function startClock(): Date {
  const now = nextEpoch();
  api.setNow(now);
  return now;
}

const isWorkerPath = (path: string) => path.startsWith("/api/v2/work/");

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
  return api.request("POST", path, { key: isWorkerPath(path) ? workerKey : ingestKey, body, headers });
}

async function claim(kind: string, body: Record<string, unknown>): Promise<ApiResponse> {
  const res = await post(`/api/v2/work/${kind}/claim`, body);
  expect(res.status, res.text).toBe(200);
  expectDocumented(res, "POST", `/api/v2/work/${kind}/claim`);
  return res;
}

async function queueAnalysisFor(leadId: string): Promise<string> {
  const res = await post(`/api/v2/analysis/${leadId}`, { preferences: { depth: "full" } });
  expect(res.status, res.text).toBe(202);
  expectDocumented(res, "POST", "/api/v2/analysis/{lead_id}");
  return res.body.analysis_id;
}

async function countRows(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await api.db.primary.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return rows[0]?.n ?? -1;
}

describe("worker round trip (issue 3 acceptance)", () => {
  it("queues a demo with the spec sample, a worker claims and completes it, the lead's demos show it deployed, demo.deployed carries the correlation id and an AI-GYM row exists", async () => {
    const now = startClock();
    const leadId = await createLead(api);
    const analysisId = await queueAnalysisFor(leadId);
    const correlationId = `corr-${randomUUID()}`;

    const queued = await post("/api/v2/demos", sampleDemoBody(leadId, analysisId), {
      "X-Correlation-Id": correlationId,
    });
    expect(queued.status, queued.text).toBe(202);
    expectDocumented(queued, "POST", "/api/v2/demos");
    expect(Object.keys(queued.body).sort()).toEqual(["demo_id", "expected_ready_at", "status"]);
    expect(queued.body.status).toBe("queued");
    expect(new Date(queued.body.expected_ready_at).getTime()).toBeGreaterThan(now.getTime());
    expect(queued.headers.get("x-correlation-id")).toBe(correlationId);
    const demoId = queued.body.demo_id;

    const claimed = await claim("demo", { worker_id: "builder-1", lease_seconds: 120 });
    expect(claimed.body.data).toHaveLength(1);
    const item = claimed.body.data[0];
    expect(item).toMatchObject({
      id: demoId,
      kind: "demo",
      lead_id: leadId,
      status: "running",
      resource_status: "building",
      attempts: 1,
      lease_owner: "builder-1",
      lease_expires_at: plusSeconds(now, 120).toISOString(),
      analysis_id: analysisId,
      preferences: { framework: "react", fallback: "mockup" },
      correlation_id: correlationId,
    });

    const metrics = aiGymMetrics({ duration_seconds: 431, quality_score: 91 });
    const completed = await post(
      `/api/v2/work/demo/${demoId}/complete`,
      {
        worker_id: "builder-1",
        deployment_url: "https://demos.example/acme",
        qa_report: { lighthouse_performance: 94, broken_links: 0, passed: true },
        model_used: "claude-4.5-sonnet",
        ai_gym: metrics,
      },
      // The worker's own request has another correlation id; the event still carries the queuing request's.
      { "X-Correlation-Id": `worker-${randomUUID()}` },
    );
    expect(completed.status, completed.text).toBe(200);
    expectDocumented(completed, "POST", "/api/v2/work/demo/{id}/complete");
    expect(completed.body).toMatchObject({ status: "succeeded", resource_status: "deployed" });

    const demos = await api.request("GET", `/api/v2/demos/${leadId}`, { key: ingestKey });
    expect(demos.status).toBe(200);
    expectDocumented(demos, "GET", "/api/v2/demos/{lead_id}");
    expect(demos.body.data).toHaveLength(1);
    expect(demos.body.data[0]).toMatchObject({
      id: demoId,
      analysis_id: analysisId,
      status: "deployed",
      deployment_url: "https://demos.example/acme",
      model_used: "claude-4.5-sonnet",
      deployed_at: now.toISOString(),
      attempts: 1,
      last_error: null,
    });

    const outbox = await api.db.primary.query(
      `SELECT payload FROM event_outbox WHERE type = 'demo.deployed' AND correlation_id = $1`,
      [correlationId],
    );
    expect(outbox.rows).toEqual([
      {
        payload: {
          demo_id: demoId,
          lead_id: leadId,
          analysis_id: analysisId,
          deployment_url: "https://demos.example/acme",
          model_used: "claude-4.5-sonnet",
        },
      },
    ]);

    // The same event through the public feed.
    const eventsKey = await api.keyWith("events:read");
    let after = "";
    const ours = [];
    for (;;) {
      const page = await api.request(
        "GET",
        `/api/v2/events?type=demo.deployed&limit=1000${after ? `&after=${after}` : ""}`,
        { key: eventsKey },
      );
      expect(page.status).toBe(200);
      expectDocumented(page, "GET", "/api/v2/events");
      ours.push(
        ...page.body.data.filter((e: { correlation_id: string }) => e.correlation_id === correlationId),
      );
      if (page.body.data.length === 0) break;
      after = page.body.page.next_cursor;
    }
    expect(ours).toHaveLength(1);
    expect(ours[0].payload.demo_id).toBe(demoId);

    const audit = await api.db.primary.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE resource_type = 'demo_site' AND resource_id = $1 ORDER BY id`,
      [demoId],
    );
    expect(audit.rows.map((r) => r.action)).toEqual(["demo.queued", "demo.claimed", "demo.completed"]);

    const gym = await api.db.primary.query(
      `SELECT task_type, lead_id, cost::float8 AS cost, duration_seconds, quality_score, prompt_hash
         FROM ai_gym_performance WHERE model_name = $1`,
      [metrics.model_name],
    );
    expect(gym.rows).toEqual([
      {
        task_type: "demo_generation",
        lead_id: leadId,
        cost: 0.0825,
        duration_seconds: 431,
        quality_score: 91,
        prompt_hash: "a".repeat(64),
      },
    ]);
  });
});

describe("POST /api/v2/demos", () => {
  it("replays the first response for the same Idempotency-Key and body, and queues one demo", async () => {
    startClock();
    const leadId = await createLead(api);
    const analysisId = await queueAnalysisFor(leadId);
    await expectIdempotentReplay(api, "/api/v2/demos", sampleDemoBody(leadId, analysisId), 202, {
      key: ingestKey,
      documentedAs: "/api/v2/demos",
    });
    expect(await countRows("demo_sites WHERE lead_id = $1", [leadId])).toBe(1);
    expect(await countRows("work_items WHERE lead_id = $1 AND kind = 'demo'", [leadId])).toBe(1);
  });

  it("refuses bad input with 422 and writes nothing", async () => {
    startClock();
    const leadId = await createLead(api);
    const otherLead = await createLead(api);
    const foreignAnalysis = await queueAnalysisFor(otherLead);
    const cases: [unknown, string][] = [
      [{ analysis_id: foreignAnalysis }, "/lead_id"],
      [{ lead_id: 42 }, "/lead_id"],
      [{ lead_id: leadId, colour: "blue" }, "/"],
      [{ lead_id: leadId, preferences: { framework: 3 } }, "/preferences/framework"],
      [{ lead_id: leadId, analysis_id: foreignAnalysis }, "/analysis_id"],
      [{ lead_id: randomUUID() }, "/lead_id"],
    ];
    for (const [body, path] of cases) {
      const res = await post("/api/v2/demos", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expectDocumented(res, "POST", "/api/v2/demos");
      expect(res.headers.get("content-type")).toContain("application/problem+json");
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
    expect(await countRows("demo_sites WHERE lead_id = $1", [leadId])).toBe(0);
    expect(await countRows("work_items WHERE lead_id = $1", [leadId])).toBe(0);
  });

  it("queues through /demos/{lead_id} too, and answers 404 for an unknown lead", async () => {
    startClock();
    const leadId = await createLead(api);
    const res = await post(`/api/v2/demos/${leadId}`, { preferences: { framework: "vue" } });
    expect(res.status, res.text).toBe(202);
    expectDocumented(res, "POST", "/api/v2/demos/{lead_id}");
    expect(Object.keys(res.body).sort()).toEqual(["demo_id", "expected_ready_at", "status"]);

    const missing = randomUUID();
    const notFound = await post(`/api/v2/demos/${missing}`, {});
    expect(notFound.status).toBe(404);
    expectDocumented(notFound, "POST", "/api/v2/demos/{lead_id}");
    for (const resource of ["demos", "analysis", "videos"]) {
      const list = await api.request("GET", `/api/v2/${resource}/${missing}`, { key: ingestKey });
      expect(list.status).toBe(404);
      expectDocumented(list, "GET", `/api/v2/${resource}/{lead_id}`);
    }
    expect(await countRows("work_items WHERE lead_id = $1", [missing])).toBe(0);
  });
});

describe("claiming", () => {
  it("never gives the same item to two concurrent claims", async () => {
    startClock();
    const leadId = await createLead(api);
    const ids = new Set<string>();
    for (let i = 0; i < 6; i++) ids.add((await post(`/api/v2/demos/${leadId}`, {})).body.demo_id);

    const [a, b] = await Promise.all([
      claim("demo", { worker_id: "w-a", limit: 4 }),
      claim("demo", { worker_id: "w-b", limit: 4 }),
    ]);
    const aIds: string[] = a.body.data.map((i: { id: string }) => i.id);
    const bIds: string[] = b.body.data.map((i: { id: string }) => i.id);
    expect(aIds.filter((id) => bIds.includes(id))).toEqual([]);
    expect(new Set([...aIds, ...bIds])).toEqual(ids);
    expect(await countRows("work_items WHERE lead_id = $1 AND attempts = 1", [leadId])).toBe(6);
  });

  it("returns an item whose lease expired to the queue; the old lease holder can no longer touch it", async () => {
    const now = startClock();
    const leadId = await createLead(api);
    const demoId = (await post(`/api/v2/demos/${leadId}`, {})).body.demo_id;

    expect((await claim("demo", { worker_id: "slow", lease_seconds: 60 })).body.data).toHaveLength(1);
    const beat = await post(`/api/v2/work/demo/${demoId}/heartbeat`, {
      worker_id: "slow",
      lease_seconds: 60,
    });
    expect(beat.status, beat.text).toBe(200);
    expectDocumented(beat, "POST", "/api/v2/work/demo/{id}/heartbeat");
    expect(beat.body.lease_expires_at).toBe(plusSeconds(now, 60).toISOString());

    api.setNow(plusSeconds(now, 59));
    expect((await claim("demo", { worker_id: "fast" })).body.data).toEqual([]);

    api.setNow(plusSeconds(now, 61));
    const reclaimed = await claim("demo", { worker_id: "fast", lease_seconds: 300 });
    expect(reclaimed.body.data).toHaveLength(1);
    expect(reclaimed.body.data[0]).toMatchObject({ id: demoId, attempts: 2, lease_owner: "fast" });

    for (const [action, body] of [
      ["heartbeat", { worker_id: "slow" }],
      ["complete", { worker_id: "slow", deployment_url: "https://demos.example/late" }],
      ["fail", { worker_id: "slow", error: "too late" }],
    ] as const) {
      const res = await post(`/api/v2/work/demo/${demoId}/${action}`, body);
      expect(res.status, action).toBe(409);
      expectDocumented(res, "POST", `/api/v2/work/demo/{id}/${action}`);
      expect(res.body.type).toBe("https://reachgraph.dev/problems/invalid-state-transition");
    }
    const done = await post(`/api/v2/work/demo/${demoId}/complete`, {
      worker_id: "fast",
      deployment_url: "https://demos.example/on-time",
    });
    expect(done.status, done.text).toBe(200);
    expect(done.body).toMatchObject({ attempts: 2, resource_status: "deployed" });
  });

  it("fails an item whose lease expired on its last allowed attempt instead of handing it out again", async () => {
    let now = startClock();
    const leadId = await createLead(api);
    const demoId = (await post(`/api/v2/demos/${leadId}`, {})).body.demo_id;
    for (let attempt = 1; attempt <= 3; attempt++) {
      const got = await claim("demo", { worker_id: `crashy-${attempt}`, lease_seconds: 10 });
      expect(got.body.data.map((i: { id: string }) => i.id)).toEqual([demoId]);
      now = plusSeconds(now, 11);
      api.setNow(now);
    }
    expect((await claim("demo", { worker_id: "next" })).body.data).toEqual([]);
    const list = await api.request("GET", `/api/v2/demos/${leadId}`, { key: ingestKey });
    expect(list.body.data[0]).toMatchObject({ id: demoId, status: "failed", attempts: 3 });
    expect(list.body.data[0].last_error).toMatch(/lease/);
    const audited = await countRows(
      "audit_log WHERE resource_type = 'demo_site' AND resource_id = $1 AND action = 'demo.failed'",
      [demoId],
    );
    expect(audited).toBe(1);
  });

  it("refuses a lease outside 10..3600 seconds with 422", async () => {
    startClock();
    for (const body of [
      { worker_id: "w", lease_seconds: 5 },
      { worker_id: "w", limit: 51 },
      { lease_seconds: 60 },
      { worker_id: "w", extra: true },
    ]) {
      const res = await post("/api/v2/work/demo/claim", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expectDocumented(res, "POST", "/api/v2/work/demo/claim");
    }
  });
});

describe("failing and illegal transitions", () => {
  it("retries with backoff while attempts remain, then fails the demo", async () => {
    let now = startClock();
    const leadId = await createLead(api);
    const demoId = (await post(`/api/v2/demos/${leadId}`, {})).body.demo_id;
    const backoffs = [30, 60];
    for (let attempt = 1; attempt <= 3; attempt++) {
      const got = await claim("demo", { worker_id: "w" });
      expect(got.body.data.map((i: { id: string; attempts: number }) => [i.id, i.attempts])).toEqual([
        [demoId, attempt],
      ]);
      const failed = await post(`/api/v2/work/demo/${demoId}/fail`, {
        worker_id: "w",
        error: `boom ${attempt}`,
      });
      expect(failed.status, failed.text).toBe(200);
      expectDocumented(failed, "POST", "/api/v2/work/demo/{id}/fail");
      const backoff = backoffs[attempt - 1];
      if (backoff === undefined) {
        expect(failed.body).toMatchObject({
          status: "failed",
          resource_status: "failed",
          last_error: "boom 3",
        });
        break;
      }
      expect(failed.body).toMatchObject({
        status: "queued",
        resource_status: "queued",
        available_at: plusSeconds(now, backoff).toISOString(),
      });
      // Not due before its backoff has passed.
      expect((await claim("demo", { worker_id: "w" })).body.data).toEqual([]);
      now = plusSeconds(now, backoff);
      api.setNow(now);
    }
    const list = await api.request("GET", `/api/v2/demos/${leadId}`, { key: ingestKey });
    expect(list.body.data[0]).toMatchObject({ status: "failed", attempts: 3, last_error: "boom 3" });
    expect(await countRows("event_outbox WHERE payload->>'demo_id' = $1", [demoId])).toBe(0);
  });

  it("fails at once when the error is not retryable", async () => {
    startClock();
    const leadId = await createLead(api);
    const videoId = (await post(`/api/v2/videos/${leadId}`, {})).body.video_id;
    await claim("video", { worker_id: "w" });
    const res = await post(`/api/v2/work/video/${videoId}/fail`, {
      worker_id: "w",
      error: "no demo to film",
      retryable: false,
    });
    expect(res.body).toMatchObject({ status: "failed", resource_status: "failed", attempts: 1 });
  });

  it("answers 409 for transitions the state machine does not allow, and 404 for unknown items", async () => {
    startClock();
    const leadId = await createLead(api);
    const demoId = (await post(`/api/v2/demos/${leadId}`, {})).body.demo_id;
    const complete = (worker: string) =>
      post(`/api/v2/work/demo/${demoId}/complete`, {
        worker_id: worker,
        deployment_url: "https://d.example/x",
      });

    const whileQueued = await complete("w");
    expect(whileQueued.status).toBe(409);
    expectDocumented(whileQueued, "POST", "/api/v2/work/demo/{id}/complete");
    expect(whileQueued.body).toMatchObject({
      type: "https://reachgraph.dev/problems/invalid-state-transition",
      from: "queued",
      to: "deployed",
    });

    const beatWhileQueued = await post(`/api/v2/work/demo/${demoId}/heartbeat`, { worker_id: "w" });
    expect(beatWhileQueued.status).toBe(409);
    expect(beatWhileQueued.body.detail).toMatch(/Claim the item first/);

    await claim("demo", { worker_id: "owner" });
    const byOther = await complete("intruder");
    expect(byOther.status).toBe(409);
    expect(byOther.body.detail).toMatch(/Another worker/);

    expect((await complete("owner")).status).toBe(200);
    const again = await complete("owner");
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ from: "deployed", to: "deployed" });
    const failAfter = await post(`/api/v2/work/demo/${demoId}/fail`, { worker_id: "owner", error: "x" });
    expect(failAfter.status).toBe(409);

    // The id of a demo is not an analysis.
    const wrongKind = await post(`/api/v2/work/analysis/${demoId}/heartbeat`, { worker_id: "owner" });
    expect(wrongKind.status).toBe(404);
    expectDocumented(wrongKind, "POST", "/api/v2/work/analysis/{id}/heartbeat");
    expect(await countRows("event_outbox WHERE payload->>'demo_id' = $1", [demoId])).toBe(1);
  });
});

describe("analysis and video work", () => {
  it("completes an analysis with its results and a video built on the deployed demo", async () => {
    const now = startClock();
    const leadId = await createLead(api);
    const analysisId = await queueAnalysisFor(leadId);
    const claimedAnalysis = await claim("analysis", { worker_id: "analyst" });
    expect(claimedAnalysis.body.data[0]).toMatchObject({ id: analysisId, preferences: { depth: "full" } });
    expect(claimedAnalysis.body.data[0].website).toMatch(/^https:\/\/www\.acme-/);

    const badScore = await post(`/api/v2/work/analysis/${analysisId}/complete`, {
      worker_id: "analyst",
      scores: { overall: 101 },
    });
    expect(badScore.status).toBe(422);
    expect(badScore.body.errors[0].path).toBe("/scores/overall");

    const analysisDone = await post(`/api/v2/work/analysis/${analysisId}/complete`, {
      worker_id: "analyst",
      scores: { overall: 72, performance: 65, seo: 80, accessibility: 70, design: 61 },
      findings: [{ severity: "high", message: "No HTTPS redirect" }],
      model_breakdown: { "claude-4.5-sonnet": { tokens: 1200 } },
      lighthouse_report: { performance: 0.65 },
      model_used: "claude-4.5-sonnet",
    });
    expect(analysisDone.status, analysisDone.text).toBe(200);
    expectDocumented(analysisDone, "POST", "/api/v2/work/analysis/{id}/complete");

    const analyses = await api.request("GET", `/api/v2/analysis/${leadId}`, { key: ingestKey });
    expectDocumented(analyses, "GET", "/api/v2/analysis/{lead_id}");
    expect(analyses.body.data).toEqual([
      {
        id: analysisId,
        lead_id: leadId,
        status: "completed",
        scores: { overall: 72, performance: 65, seo: 80, accessibility: 70, design: 61 },
        findings: [{ severity: "high", message: "No HTTPS redirect" }],
        model_breakdown: { "claude-4.5-sonnet": { tokens: 1200 } },
        lighthouse_report: { performance: 0.65 },
        model_used: "claude-4.5-sonnet",
        preferences: { depth: "full" },
        attempts: 1,
        max_attempts: 3,
        last_error: null,
        created_at: now.toISOString(),
        completed_at: now.toISOString(),
      },
    ]);
    expect(
      await countRows("event_outbox WHERE type = 'analysis.completed' AND payload->>'analysis_id' = $1", [
        analysisId,
      ]),
    ).toBe(1);

    // A demo without analysis_id builds from the latest completed analysis.
    const demoId = (await post(`/api/v2/demos/${leadId}`, {})).body.demo_id;
    const claimedDemo = await claim("demo", { worker_id: "builder" });
    expect(claimedDemo.body.data[0]).toMatchObject({ id: demoId, analysis_id: analysisId });
    await post(`/api/v2/work/demo/${demoId}/complete`, {
      worker_id: "builder",
      deployment_url: "https://demos.example/v",
    });

    const queuedVideo = await post(`/api/v2/videos/${leadId}`, { preferences: { voice: "warm" } });
    expect(queuedVideo.status).toBe(202);
    expectDocumented(queuedVideo, "POST", "/api/v2/videos/{lead_id}");
    const videoId = queuedVideo.body.video_id;
    const claimedVideo = await claim("video", { worker_id: "director" });
    expect(claimedVideo.body.data[0]).toMatchObject({
      id: videoId,
      demo_site_id: demoId,
      deployment_url: "https://demos.example/v",
      resource_status: "generating",
    });
    const videoDone = await post(`/api/v2/work/video/${videoId}/complete`, {
      worker_id: "director",
      video_url: "https://videos.example/v.mp4",
      duration_seconds: 74,
      script: { scenes: 3 },
      ai_gym: aiGymMetrics({ duration_seconds: 250 }),
    });
    expect(videoDone.status, videoDone.text).toBe(200);
    const videos = await api.request("GET", `/api/v2/videos/${leadId}`, { key: ingestKey });
    expectDocumented(videos, "GET", "/api/v2/videos/{lead_id}");
    expect(videos.body.data[0]).toMatchObject({
      id: videoId,
      demo_site_id: demoId,
      status: "ready",
      video_url: "https://videos.example/v.mp4",
      duration_seconds: 74,
      script: { scenes: 3 },
      preferences: { voice: "warm" },
    });
    expect(
      await countRows("event_outbox WHERE type = 'video.ready' AND payload->>'video_id' = $1", [videoId]),
    ).toBe(1);
  });

  it("refuses a video for another lead's demo with 422 and writes nothing", async () => {
    startClock();
    const leadId = await createLead(api);
    const otherLead = await createLead(api);
    const otherDemo = (await post(`/api/v2/demos/${otherLead}`, {})).body.demo_id;
    const res = await post(`/api/v2/videos/${leadId}`, { demo_site_id: otherDemo });
    expect(res.status).toBe(422);
    expectDocumented(res, "POST", "/api/v2/videos/{lead_id}");
    expect(res.body.errors[0].path).toBe("/demo_site_id");
    const wrongType = await post(`/api/v2/analysis/${leadId}`, { preferences: "fast" });
    expect(wrongType.status).toBe(422);
    expectDocumented(wrongType, "POST", "/api/v2/analysis/{lead_id}");
    expect(await countRows("work_items WHERE lead_id = $1", [leadId])).toBe(0);
    expect(await countRows("videos WHERE lead_id = $1", [leadId])).toBe(0);
  });
});

describe("idempotent replay of the queue and worker POSTs", () => {
  it("replays queueing, claiming and completing byte for byte without doing the work twice", async () => {
    startClock();
    const leadId = await createLead(api);
    const replayed = async (path: string, body: unknown, template: string) => {
      const [key, status] = isWorkerPath(path) ? [workerKey, 200] : [ingestKey, 202];
      return (await expectIdempotentReplay(api, path, body, status, { key, documentedAs: template })).body;
    };
    const analysisId = (await replayed(`/api/v2/analysis/${leadId}`, {}, "/api/v2/analysis/{lead_id}"))
      .analysis_id;
    await replayed(`/api/v2/demos/${leadId}`, { analysis_id: analysisId }, "/api/v2/demos/{lead_id}");
    await replayed(`/api/v2/videos/${leadId}`, {}, "/api/v2/videos/{lead_id}");
    expect(await countRows("work_items WHERE lead_id = $1", [leadId])).toBe(3);

    const claimed = await replayed(
      "/api/v2/work/analysis/claim",
      { worker_id: "r" },
      "/api/v2/work/analysis/claim",
    );
    expect(claimed.data.map((i: { id: string }) => i.id)).toEqual([analysisId]);
    await replayed(
      `/api/v2/work/analysis/${analysisId}/heartbeat`,
      { worker_id: "r" },
      "/api/v2/work/analysis/{id}/heartbeat",
    );
    await replayed(
      `/api/v2/work/analysis/${analysisId}/complete`,
      { worker_id: "r", scores: { overall: 50 } },
      "/api/v2/work/analysis/{id}/complete",
    );
    expect(
      await countRows("work_items WHERE id = $1 AND attempts = 1 AND status = 'succeeded'", [analysisId]),
    ).toBe(1);
    expect(await countRows("event_outbox WHERE payload->>'analysis_id' = $1", [analysisId])).toBe(1);
  });
});

describe("expected_ready_at", () => {
  it("is now plus the median duration of the latest 200 AI-GYM rows of the task type as of now", async () => {
    // Far before every other test's clock, so the rows before `now` are exactly the ones inserted here.
    const now = new Date("1950-06-01T00:00:00Z");
    api.setNow(now);
    const leadId = await createLead(api);
    // 200 recent rows: 100 × 40 s and 100 × 60 s (median 50 s). 150 older rows of 1000 s and one row after `now`
    // would move the median if they were counted.
    await api.db.primary.query(
      `INSERT INTO ai_gym_performance (task_type, model_name, duration_seconds, created_at)
       SELECT 'demo_generation', 'median-probe', CASE WHEN g % 2 = 0 THEN 40 ELSE 60 END,
              '1950-05-01'::timestamp + g * interval '1 minute'
         FROM generate_series(1, 200) AS g
       UNION ALL
       SELECT 'demo_generation', 'median-probe', 1000, '1950-01-01'::timestamp + g * interval '1 minute'
         FROM generate_series(1, 150) AS g
       UNION ALL
       SELECT 'demo_generation', 'median-probe', 99999, '1950-06-02'::timestamp`,
    );
    const demo = await post(`/api/v2/demos/${leadId}`, {});
    expect(demo.body.expected_ready_at).toBe(plusSeconds(now, 50).toISOString());
    expect(await getMedianTaskDuration(api.db.primary, "demo_generation", now)).toBe(50);

    // No website analysis was measured before 1950: the default applies.
    const analysis = await post(`/api/v2/analysis/${leadId}`, {});
    expect(analysis.body.expected_ready_at).toBe(plusSeconds(now, 120).toISOString());
  });
});
