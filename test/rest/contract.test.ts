import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { migrate } from "../../src/db/migrate.js";
import { SCOPES } from "../../src/domain/principal.js";
import { restOpenApiDocument } from "../../src/rest/index.js";
import { routes } from "../../src/rest/routes.js";
import { expectDocumented, startApi } from "../support/api.js";
import { logger, scratchDatabase } from "../support/db.js";
import { whileV1Lives } from "../support/v1-clock.js";

/**
 * Properties every route has by construction (the declarative wrapper): a scope check, problem+json for every kind
 * of bad input, and nothing written when a request is refused. Resource tests cover each route's own behaviour.
 */
// A database of its own: no other test file writes to it, so "nothing written" can be checked by counting every
// table's rows before and after each refused request.
const scratch = await scratchDatabase();
await migrate(scratch.url, { logger });
const api = await startApi({ databaseUrl: scratch.url, ...whileV1Lives() });
const keys = Object.fromEntries(
  await Promise.all(SCOPES.map(async (s) => [s, await api.keyWith(s)] as const)),
);

/** A concrete URL for a route's path template (random UUIDs; enum parameters take their first value). */
function concretePath(path: string): string {
  return path.replace(/\{(\w+)\}/g, (_m, name: string) => (name === "kind" ? "demo" : randomUUID()));
}

/** Row counts of every table, as one object, for before/after comparisons. */
async function rowCounts(): Promise<Record<string, number>> {
  const { rows: tables } = await api.db.primary.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
  );
  const counts: Record<string, number> = {};
  for (const { name } of tables) {
    const { rows } = await api.db.primary.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${name}"`);
    counts[name] = rows[0]?.n ?? -1;
  }
  return counts;
}

describe("openapi.json", () => {
  it("is committed and matches what the routes generate (run `npm run openapi` after changing a route)", () => {
    const committed = JSON.parse(readFileSync(new URL("../../openapi.json", import.meta.url), "utf8"));
    expect(committed).toEqual(JSON.parse(JSON.stringify(restOpenApiDocument())));
  });

  it("is served at /openapi.json, and /docs works from local assets only", async () => {
    const doc = await api.request("GET", "/openapi.json", { key: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toBe("3.1.0");
    const page = await api.request("GET", "/docs", { key: null });
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/https?:\/\//);
    for (const asset of page.text.matchAll(/(?:src|href)="([^"]+)"/g)) {
      const res = await api.request("GET", asset[1] ?? "", { key: null });
      expect(res.status, asset[1]).toBe(200);
    }
  });
});

describe("every route × every scope", () => {
  it.each(routes.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    "%s",
    async (_name, route) => {
      const path = concretePath(route.path);
      const anonymous = await api.request(route.method, path, {
        key: null,
        body: route.body ? {} : undefined,
      });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expectDocumented(anonymous, route.method, route.path);
      for (const scope of SCOPES) {
        const res = await api.request(route.method, path, {
          key: keys[scope],
          body: route.body ? {} : undefined,
        });
        const allowed = scope === route.scope || scope === "admin";
        if (allowed) expect([401, 403], `${scope} may call it`).not.toContain(res.status);
        else {
          expect(res.status, `${scope} may not call it`).toBe(403);
          expect(res.body.type).toBe("https://reachgraph.dev/problems/insufficient-scope");
        }
      }
    },
  );
});

describe("bad input on every route with a body: the right 4xx, problem+json, and nothing written", () => {
  const withBody = routes.filter((r) => r.body);
  const cases = [
    {
      name: "malformed JSON",
      raw: '{"leads": [',
      headers: {} as Record<string, string>,
      status: 400,
      type: "malformed-json",
    },
    {
      name: "wrong content type",
      raw: "name=x",
      headers: { "content-type": "text/plain" },
      status: 415,
      type: "unsupported-media-type",
    },
    {
      name: "unknown field",
      raw: '{"surely_not_a_field": 1}',
      headers: {},
      status: 422,
      type: "validation-failed",
    },
    { name: "wrong type", raw: "[1, 2, 3]", headers: {}, status: 422, type: "validation-failed" },
    { name: "missing body", raw: "", headers: {}, status: 422, type: "validation-failed" },
  ];
  for (const c of cases) {
    it.each(withBody.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
      `${c.name}: %s`,
      async (_n, route) => {
        const before = await rowCounts();
        const res = await api.request(route.method, concretePath(route.path), {
          raw: c.raw,
          headers: c.headers,
        });
        expect(res.status).toBe(c.status);
        expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
        expect(res.body.type).toBe(`https://reachgraph.dev/problems/${c.type}`);
        expectDocumented(res, route.method, route.path);
        if (c.status === 422) expect(res.body.errors.length).toBeGreaterThan(0);
        expect(await rowCounts()).toEqual(before);
      },
    );
  }

  it.each(withBody.map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    "oversized body: %s",
    async (_n, route) => {
      const limitMb = Number.parseInt(route.bodyLimit ?? "1mb", 10);
      const raw = `{"pad": "${"x".repeat(limitMb * 1024 * 1024 + 10)}"}`;
      const res = await api.request(route.method, concretePath(route.path), { raw });
      expect(res.status).toBe(413);
      expect(res.body.type).toBe("https://reachgraph.dev/problems/payload-too-large");
    },
  );

  it.each(routes.filter((r) => r.query).map((r) => [`${r.method.toUpperCase()} ${r.path}`, r] as const))(
    "unknown query parameter: %s",
    async (_n, route) => {
      const res = await api.request(route.method, `${concretePath(route.path)}?surely_not_a_param=1`, {
        body: route.body ? {} : undefined,
      });
      expect(res.status).toBe(422);
      expect(res.body.errors).toContainEqual(expect.objectContaining({ location: "query" }));
    },
  );
});

describe("HTTP plumbing", () => {
  it("answers 405 with Allow for a known path and an unsupported method", async () => {
    const res = await api.request("PUT", "/api/v2/leads", { body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toContain("POST");
    expect(res.body.type).toBe("https://reachgraph.dev/problems/method-not-allowed");
  });

  it("answers 404 problem+json for an unknown path", async () => {
    const res = await api.request("GET", "/api/v2/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
  });

  it("returns a generated correlation id, or echoes a sane one", async () => {
    const generated = await api.request("GET", "/api/v2/leads?limit=1");
    expect(generated.headers.get("x-correlation-id")).toMatch(/^[0-9a-f-]{36}$/);
    const echoed = await api.request("GET", "/api/v2/leads?limit=1", {
      headers: { "x-correlation-id": "run-42" },
    });
    expect(echoed.headers.get("x-correlation-id")).toBe("run-42");
  });
});
