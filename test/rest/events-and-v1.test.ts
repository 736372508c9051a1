import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createApiKey, revokeApiKey } from "../../src/domain/api-keys.js";
import { readEventFeed } from "../../src/domain/events-feed.js";
import { EVENT_TYPES } from "../../src/events/catalog.js";
import { readEventSchemas } from "../../src/events/schemas.js";
import { expectDocumented, expectIdempotentReplay, startApi } from "../support/api.js";
import { leadInput } from "../support/factories.js";
import { whileV1Lives } from "../support/v1-clock.js";

const api = await startApi(whileV1Lives());

/** Reads the whole feed of one type from the beginning, page by page. */
async function readAll(type: string, key: string, limit = 2) {
  const seen: { id: string; payload: Record<string, unknown>; correlation_id: string }[] = [];
  let after: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const res = await api.request(
      "GET",
      `/api/v2/events?type=${type}&limit=${limit}${after ? `&after=${after}` : ""}`,
      {
        key,
      },
    );
    expect(res.status).toBe(200);
    expectDocumented(res, "GET", "/api/v2/events");
    seen.push(...res.body.data);
    if (res.body.data.length === 0) return { events: seen, cursor: res.body.page.next_cursor as string };
    after = res.body.page.next_cursor;
  }
  throw new Error("feed did not end");
}

describe("event schemas", () => {
  it("exist for exactly the event types the code can emit", () => {
    const files = readEventSchemas().map((f) => `${f.type}.v${f.version}`);
    expect(files.sort()).toEqual(EVENT_TYPES.map((t) => `${t}.v1`).sort());
    for (const t of [
      "lead.scraped",
      "analysis.completed",
      "demo.deployed",
      "video.ready",
      "email.sent",
      "reply.received",
      "abtest.decided",
    ]) {
      expect(EVENT_TYPES).toContain(t);
    }
  });
});

describe("GET /api/v2/events", () => {
  it("pages through events in commit order, carrying the request's correlation id, and can be replayed", async () => {
    const key = await api.keyWith("events:read");
    const correlation = `ingest-${randomUUID()}`;
    const posted = await api.request("POST", "/api/v2/leads", {
      body: { leads: [leadInput(), leadInput(), leadInput()] },
      headers: { "x-correlation-id": correlation },
    });
    expect(posted.headers.get("x-correlation-id")).toBe(correlation);
    const ids = posted.body.data.map((d: { id: string }) => d.id);

    const { events, cursor } = await readAll("lead.scraped", key);
    const ours = events.filter((e) => e.correlation_id === correlation);
    expect(ours.map((e) => e.payload.lead_id)).toEqual(ids);
    expect(ours[0]?.payload).toMatchObject({ source_platform: "google_maps", outcome: "created" });
    expect(JSON.stringify(ours)).not.toMatch(/jane@|Jane Doe/);

    // A consumer holding the cursor sees only what comes after it.
    const later = await api.request("POST", "/api/v2/leads", { body: { leads: [leadInput()] } });
    const next = await api.request("GET", `/api/v2/events?type=lead.scraped&after=${cursor}`, { key });
    expect(next.body.data.map((e: { payload: { lead_id: string } }) => e.payload.lead_id)).toEqual([
      later.body.data[0].id,
    ]);
    // Replaying from the start yields the same events in the same order.
    const replay = await readAll("lead.scraped", key, 50);
    expect(replay.events.slice(0, events.length).map((e) => e.id)).toEqual(events.map((e) => e.id));
  });

  it("orders by the numeric (txid, position), whatever their number of digits", async () => {
    await api.request("POST", "/api/v2/leads", {
      body: { leads: Array.from({ length: 12 }, () => leadInput()) },
    });
    const rows = await readEventFeed(api.db.primary, {
      after: { txid: "0", position: "0" },
      types: undefined,
      limit: 10_000,
    });
    expect(rows.length).toBeGreaterThan(12);
    const keys = rows.map((r) => [BigInt(r.txid), BigInt(r.position)] as const);
    const sorted = [...keys].sort((a, b) => (a[0] === b[0] ? Number(a[1] - b[1]) : Number(a[0] - b[0])));
    expect(keys).toEqual(sorted);
  });

  it("refuses an unknown event type and a forged cursor with 422", async () => {
    const key = await api.keyWith("events:read");
    const badType = await api.request("GET", "/api/v2/events?type=lead.exploded", { key });
    expect(badType.status).toBe(422);
    const badCursor = await api.request("GET", "/api/v2/events?after=bm90LWEtY3Vyc29y", { key });
    expect(badCursor.status).toBe(422);
    expect(badCursor.body.errors).toEqual([{ location: "query", path: "/after", message: "invalid cursor" }]);
  });
});

describe("v1 compatibility", () => {
  it("serves leads on the same data as v2, with Deprecation, Sunset (90 days) and successor Link headers", async () => {
    const lead = leadInput();
    const created = await api.request("POST", "/api/v1/leads", { body: lead });
    expect(created.status).toBe(200);
    expectDocumented(created, "POST", "/api/v1/leads");
    const v2 = await api.request("GET", `/api/v2/leads/${created.body.id}`);
    expect(v2.body.company_name).toBe(lead.company_name);

    const v1 = await api.request("GET", `/api/v1/leads/${created.body.id}`);
    expect(v1.status).toBe(200);
    expect(v1.body).toEqual(v2.body);
    const deprecation = v1.headers.get("deprecation") ?? "";
    expect(deprecation).toMatch(/^@\d+$/);
    const since = Number(deprecation.slice(1)) * 1000;
    const sunset = Date.parse(v1.headers.get("sunset") ?? "");
    expect((sunset - since) / 86_400_000).toBe(90);
    expect(v1.headers.get("link")).toBe(`</api/v2/leads/${created.body.id}>; rel="successor-version"`);
    expect(v2.headers.get("deprecation")).toBeNull();

    const again = await api.request("POST", "/api/v1/leads", { body: { ...lead, company_name: "Via v1" } });
    expect(again.body).toEqual({ id: created.body.id, outcome: "updated" });
    await expectIdempotentReplay(api, "/api/v1/leads", leadInput(), 200, { documentedAs: "/api/v1/leads" });
  });
});

describe("v1 analysis", () => {
  it("queues and lists analyses on the same data as v2, deprecated", async () => {
    const lead = await api.request("POST", "/api/v2/leads", { body: { leads: [leadInput()] } });
    const leadId = lead.body.data[0].id;
    const queued = await api.request("POST", `/api/v1/analysis/${leadId}`, { body: {} });
    expect(queued.status).toBe(202);
    expectDocumented(queued, "POST", "/api/v1/analysis/{lead_id}");
    expect(queued.headers.get("sunset")).toBeTruthy();
    expect(queued.headers.get("link")).toBe(`</api/v2/analysis/${leadId}>; rel="successor-version"`);
    const v2 = await api.request("GET", `/api/v2/analysis/${leadId}`);
    const v1 = await api.request("GET", `/api/v1/analysis/${leadId}`);
    expect(v1.body).toEqual(v2.body);
    expect(v2.body.data.map((a: { id: string }) => a.id)).toContain(queued.body.analysis_id);
    expect(v1.headers.get("deprecation")).toMatch(/^@\d+$/);
    await expectIdempotentReplay(api, `/api/v1/analysis/${leadId}`, {}, 202, {
      documentedAs: "/api/v1/analysis/{lead_id}",
    });
  });
});

describe("API keys", () => {
  it("stores only a hash, and a revoked key is refused", async () => {
    const key = await createApiKey(api.db.primary, { name: "to revoke", scopes: ["ingest"] });
    const { rows } = await api.db.primary.query("SELECT * FROM api_keys WHERE id = $1", [key.id]);
    expect(JSON.stringify(rows)).not.toContain(key.key);
    await revokeApiKey(api.db.primary, key.prefix);
    const res = await api.request("GET", "/api/v2/leads", { key: key.key });
    expect(res.status).toBe(401);
    const garbage = await api.request("GET", "/api/v2/leads", { key: "rg_00000000_nope" });
    expect(garbage.status).toBe(401);
  });
});
