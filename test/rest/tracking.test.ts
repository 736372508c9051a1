import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { restOpenApiDocument } from "../../src/rest/index.js";
import { expectDocumented, startApi } from "../support/api.js";
import { createLeads } from "../support/factories.js";
import { createCampaign, emailInput } from "../support/factories-outreach.js";

const T0 = new Date("2030-05-06T10:00:00Z");
const api = await startApi({ now: T0 });

/** A queued email of a paused campaign (so no other test's claim touches it) and the links it tracks. */
async function trackedEmail(): Promise<{ id: string; token: string; demoUrl: string; link: string }> {
  api.setNow(T0);
  const c = await createCampaign(api, { status: "paused" });
  const [lead] = await createLeads(api, 1);
  const input = emailInput(lead as string) as { demo_url: string; links: string[] };
  const res = await api.request("POST", "/api/v2/email/send", {
    body: { campaign_id: c.id, emails: [input] },
  });
  expect(res.status).toBe(202);
  const [queued] = res.body.data;
  return {
    id: queued.email_send_id,
    token: queued.tracking_token,
    demoUrl: input.demo_url,
    link: input.links[0] as string,
  };
}

async function stamps(id: string): Promise<{ opened_at: Date | null; clicked_at: Date | null }> {
  const { rows } = await api.db.primary.query("SELECT opened_at, clicked_at FROM email_sends WHERE id = $1", [
    id,
  ]);
  return rows[0];
}

function expectNotAvailable(res: { status: number; headers: Headers; body: { detail: string } }): void {
  expect(res.status).toBe(404);
  expect(res.headers.get("location")).toBeNull();
  expect(res.body.detail).toBe("This link is not available.");
}

describe("GET /t/{token}/o.gif", () => {
  it("answers a 43-byte GIF without an API key and records the first open only", async () => {
    const { id, token } = await trackedEmail();
    api.setNow(new Date("2030-05-06T11:00:00Z"));
    const res = await fetch(`${api.url}/t/${token}/o.gif`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/gif");
    expect(res.headers.get("cache-control")).toMatch(/no-store/);
    const gif = Buffer.from(await res.arrayBuffer());
    expect(gif.length).toBe(43);
    expect(gif.subarray(0, 6).toString("ascii")).toBe("GIF89a");
    expect(await stamps(id)).toEqual({ opened_at: new Date("2030-05-06T11:00:00Z"), clicked_at: null });

    api.setNow(new Date("2030-05-07T09:00:00Z"));
    expect((await fetch(`${api.url}/t/${token}/o.gif`)).status).toBe(200);
    expect((await stamps(id)).opened_at).toEqual(new Date("2030-05-06T11:00:00Z"));
  });

  it("answers the same pixel for unknown and malformed tokens", async () => {
    for (const token of [randomUUID(), "not-a-token"]) {
      const res = await fetch(`${api.url}/t/${token}/o.gif`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("image/gif");
      expect((await res.arrayBuffer()).byteLength).toBe(43);
    }
  });

  it("writes no audit row", async () => {
    const { id, token } = await trackedEmail();
    await fetch(`${api.url}/t/${token}/o.gif`);
    const { rows } = await api.db.primary.query(
      "SELECT action FROM audit_log WHERE resource_type = 'email_send' AND resource_id = $1",
      [id],
    );
    expect(rows).toEqual([{ action: "email_send.queued" }]);
  });
});

describe("GET /t/{token}/c", () => {
  it("redirects to a tracked link and records the first click (and the open) once", async () => {
    const { id, token, demoUrl, link } = await trackedEmail();
    api.setNow(new Date("2030-05-06T12:00:00Z"));
    const res = await api.request("GET", `/t/${token}/c?u=${encodeURIComponent(demoUrl)}`, { key: null });
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(demoUrl);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    const first = new Date("2030-05-06T12:00:00Z");
    expect(await stamps(id)).toEqual({ opened_at: first, clicked_at: first });

    api.setNow(new Date("2030-05-08T12:00:00Z"));
    const again = await api.request("GET", `/t/${token}/c?u=${encodeURIComponent(link)}`, { key: null });
    expect(again.status).toBe(302);
    expect(again.headers.get("location")).toBe(link);
    expect(await stamps(id)).toEqual({ opened_at: first, clicked_at: first });
  });

  it("keeps an earlier open when the first click comes later", async () => {
    const { id, token, link } = await trackedEmail();
    api.setNow(new Date("2030-05-06T11:00:00Z"));
    await fetch(`${api.url}/t/${token}/o.gif`);
    api.setNow(new Date("2030-05-06T11:30:00Z"));
    await api.request("GET", `/t/${token}/c?u=${encodeURIComponent(link)}`, { key: null });
    expect(await stamps(id)).toEqual({
      opened_at: new Date("2030-05-06T11:00:00Z"),
      clicked_at: new Date("2030-05-06T11:30:00Z"),
    });
  });

  it("refuses a URL that is not one of the email's links: 404, no redirect, nothing recorded", async () => {
    const { id, token } = await trackedEmail();
    const other = await trackedEmail();
    for (const url of ["https://evil.example/phish", other.demoUrl]) {
      const res = await api.request("GET", `/t/${token}/c?u=${encodeURIComponent(url)}`, { key: null });
      expectNotAvailable(res);
      expectDocumented(res, "GET", "/t/{token}/c");
    }
    expect(await stamps(id)).toEqual({ opened_at: null, clicked_at: null });
  });

  it("answers an unknown or malformed token, or a missing URL, with the same 404", async () => {
    const { token, demoUrl } = await trackedEmail();
    const u = encodeURIComponent(demoUrl);
    const refused = [
      await api.request("GET", `/t/${randomUUID()}/c?u=${u}`, { key: null }),
      await api.request("GET", `/t/not-a-token/c?u=${u}`, { key: null }),
      await api.request("GET", `/t/${token}/c`, { key: null }),
      await api.request("GET", `/t/${token}/c?u=${u}&u=${u}`, { key: null }),
    ];
    for (const res of refused) {
      expectNotAvailable(res);
      expectDocumented(res, "GET", "/t/{token}/c");
    }
    // Same body whatever the reason, apart from the request id.
    const bodies = refused.map(({ body: { request_id, ...rest } }) => rest);
    for (const b of bodies) expect(b).toEqual(bodies[0]);
  });
});

describe("OpenAPI", () => {
  it("documents the tracking paths as public", () => {
    const doc = restOpenApiDocument() as unknown as {
      paths: Record<
        string,
        { get: { security: unknown[]; responses: Record<string, { content?: object }> } }
      >;
    };
    const pixel = doc.paths["/t/{token}/o.gif"]?.get;
    const click = doc.paths["/t/{token}/c"]?.get;
    expect(pixel?.security).toEqual([]);
    expect(pixel?.responses["200"]?.content).toHaveProperty("image/gif");
    expect(click?.security).toEqual([]);
    expect(Object.keys(click?.responses ?? {}).sort()).toEqual(["302", "400", "404"]);
  });
});
