import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { restOpenApiDocument } from "../../src/rest/index.js";
import { routes } from "../../src/rest/routes.js";
import { V1_DEPRECATED_SINCE, V1_SUNSET } from "../../src/rest/v1/deprecation.js";
import { expectDocumented, startApi } from "../support/api.js";
import { leadInput } from "../support/factories.js";

/** v1 after its Sunset: 410 Gone (problem+json, with the successor), on the app's settable request clock. */
const DAY = 86_400_000;
const api = await startApi({ now: new Date(V1_SUNSET.getTime() - DAY) });
const v1Routes = routes.filter((r) => r.deprecated);

function concrete(path: string, id: string): string {
  return path.replace(/\{\w+\}/g, id);
}

async function leadsNamed(name: string): Promise<number> {
  const { rows } = await api.db.primary.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM leads WHERE company_name = $1",
    [name],
  );
  return rows[0]?.n ?? -1;
}

describe("v1 sunset", () => {
  it("covers every v1 route, and v1 sunsets 90 days after its deprecation", () => {
    expect(v1Routes.map((r) => r.path).every((p) => p.startsWith("/api/v1/"))).toBe(true);
    expect(v1Routes.length).toBe(routes.filter((r) => r.path.startsWith("/api/v1/")).length);
    expect((V1_SUNSET.getTime() - V1_DEPRECATED_SINCE.getTime()) / DAY).toBe(90);
  });

  it("before the Sunset, v1 works and carries Deprecation, Sunset and Link", async () => {
    api.setNow(new Date(V1_SUNSET.getTime() - 1000));
    const lead = leadInput();
    const created = await api.request("POST", "/api/v1/leads", { body: lead });
    expect(created.status).toBe(200);
    expect(created.headers.get("sunset")).toBe(V1_SUNSET.toUTCString());
    const read = await api.request("GET", `/api/v1/leads/${created.body.id}`);
    expect(read.status).toBe(200);
    expect(read.headers.get("deprecation")).toBe(`@${V1_DEPRECATED_SINCE.getTime() / 1000}`);
    expect(read.headers.get("link")).toBe(`</api/v2/leads/${created.body.id}>; rel="successor-version"`);
  });

  it("from the Sunset on, every v1 route answers 410 problem+json naming its successor, and writes nothing", async () => {
    api.setNow(new Date(V1_SUNSET));
    const id = randomUUID();
    for (const route of v1Routes) {
      const lead = leadInput();
      const body = route.body ? (route.path === "/api/v1/leads" ? lead : {}) : undefined;
      const res = await api.request(route.method, concrete(route.path, id), { body });
      const label = `${route.method.toUpperCase()} ${route.path}`;
      expect(res.status, label).toBe(410);
      expect(res.headers.get("content-type"), label).toMatch(/^application\/problem\+json/);
      expect(res.body.type, label).toBe("https://reachgraph.dev/problems/gone");
      const successor = concrete(route.deprecated?.successor ?? "", id);
      expect(res.body.successor, label).toBe(successor);
      expect(res.body.sunset, label).toBe(V1_SUNSET.toISOString());
      expect(res.headers.get("link"), label).toBe(`<${successor}>; rel="successor-version"`);
      expect(res.headers.get("sunset"), label).toBe(V1_SUNSET.toUTCString());
      expectDocumented(res, route.method, route.path);
      if (body === lead) expect(await leadsNamed(String(lead.company_name)), label).toBe(0);
    }
  });

  it("answers 410 without an API key too (the endpoint is gone for everyone), and v2 keeps working", async () => {
    api.setNow(new Date(V1_SUNSET.getTime() + 365 * DAY));
    const anonymous = await api.request("GET", "/api/v1/leads", { key: null });
    expect(anonymous.status).toBe(410);
    expect(anonymous.body.successor).toBe("/api/v2/leads");
    const v2 = await api.request("GET", "/api/v2/leads?limit=1");
    expect(v2.status).toBe(200);
    expect(v2.headers.get("sunset")).toBeNull();
  });

  it("documents 410 and the deprecation dates on every v1 operation, and on no v2 one", () => {
    const doc = restOpenApiDocument() as unknown as {
      paths: Record<string, Record<string, { responses: Record<string, unknown>; [k: string]: unknown }>>;
    };
    for (const route of routes) {
      const op = doc.paths[route.path]?.[route.method];
      expect(op, route.path).toBeDefined();
      if (route.deprecated) {
        expect(op?.responses["410"], route.path).toBeDefined();
        expect(op?.["x-deprecated-at"]).toBe(V1_DEPRECATED_SINCE.toISOString());
        expect(op?.["x-sunset"]).toBe(V1_SUNSET.toISOString());
      } else {
        expect(op?.responses["410"], route.path).toBeUndefined();
      }
    }
  });
});
