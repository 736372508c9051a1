import { randomUUID } from "node:crypto";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, expect, inject } from "vitest";
import { AnalyticsCache } from "../../src/analytics/analytics-cache.js";
import type { GraphQLConfig } from "../../src/config.js";
import { connectDatabases, type Databases } from "../../src/db/databases.js";
import { createApiKey } from "../../src/domain/api-keys.js";
import type { Scope } from "../../src/domain/principal.js";
import { createApp, DEFAULT_GRAPHQL_CONFIG } from "../../src/http/app.js";
import { handleClientErrors } from "../../src/http/client-errors.js";
import { restOpenApiDocument } from "../../src/rest/index.js";
import type { WriteGroupOptions } from "../../src/rest/write-groups.js";
import { logger } from "./db.js";

export type ApiResponse = {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response was JSON, else undefined. Tests assert on its shape, so it stays loose. */
  // biome-ignore lint/suspicious/noExplicitAny: response bodies are checked by expectDocumented and assertions
  body: any;
  text: string;
};

export type RequestOptions = {
  key?: string | null;
  body?: unknown;
  /** Sent verbatim instead of JSON.stringify(body). */
  raw?: string;
  headers?: Record<string, string>;
  redirect?: "follow" | "manual" | "error";
};

export type TestApi = {
  url: string;
  db: Databases;
  /** The app's analytics cache (its asOf memo is off unless startApi got asOfTtlMs). */
  cache: AnalyticsCache;
  /** A key with every scope. */
  adminKey: string;
  keyWith(...scopes: Scope[]): Promise<string>;
  request(method: string, path: string, options?: RequestOptions): Promise<ApiResponse>;
  /** Moves the app's clock (only when started with a settable clock). */
  setNow(date: Date): void;
  /** POST /graphql with a key that has analytics:read (or the given one). */
  graphql(query: string, variables?: Record<string, unknown>, key?: string | null): Promise<ApiResponse>;
};

/** The app on an ephemeral port, against the run's migrated database, closed after the file's tests. */
export async function startApi(
  options: {
    now?: Date;
    rateLimitPerMinute?: number;
    databaseUrl?: string;
    /** With databaseUrl: the replica's URL of that database (none by default). */
    replicaUrl?: string;
    graphql?: Partial<GraphQLConfig>;
    replicaMaxLagSeconds?: number;
    /** The analytics cache's size (0: off). */
    analyticsCacheEntries?: number;
    /**
     * How long the cache reuses a looked-up asOf. 0 by default: a test that refreshes the views and reads next sees
     * the new asOf at once (the app's refresh listener, which ends the memo in production, is not started here).
     */
    asOfTtlMs?: number;
    /** Group commit of concurrent writes; the app's default unless given. */
    writeGroups?: WriteGroupOptions;
  } = {},
): Promise<TestApi> {
  const db = connectDatabases(
    options.databaseUrl
      ? { primaryUrl: options.databaseUrl, replicaUrl: options.replicaUrl }
      : { primaryUrl: inject("primaryUrl"), replicaUrl: inject("replicaUrl") },
    { max: 6, connectTimeoutMs: 10_000, logger, replicaMaxLagSeconds: options.replicaMaxLagSeconds },
  );
  let now = options.now;
  const cache = new AnalyticsCache({
    maxEntries: options.analyticsCacheEntries ?? 1000,
    asOfTtlMs: options.asOfTtlMs ?? 0,
  });
  const app = createApp({
    db,
    logger,
    clock: () => (now ? new Date(now) : new Date()),
    rateLimitPerMinute: options.rateLimitPerMinute ?? 100_000,
    graphql: { ...DEFAULT_GRAPHQL_CONFIG, ...options.graphql },
    analyticsCache: cache,
    ...(options.writeGroups ? { writeGroups: options.writeGroups } : {}),
  });
  const server = await new Promise<Server>((resolve) => {
    const s = handleClientErrors(app.listen(0, "127.0.0.1", () => resolve(s)));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await db.close();
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const keyWith = async (...scopes: Scope[]) =>
    (await createApiKey(db.primary, { name: `test ${scopes.join("+")}`, scopes })).key;
  const adminKey = await keyWith("admin");

  async function request(method: string, path: string, o: RequestOptions = {}): Promise<ApiResponse> {
    const headers: Record<string, string> = { ...o.headers };
    const key = o.key === undefined ? adminKey : o.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let payload: string | undefined;
    if (o.raw !== undefined) payload = o.raw;
    else if (o.body !== undefined) payload = JSON.stringify(o.body);
    if (payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["content-type"] = "application/json";
    }
    const res = await fetch(url + path, {
      method: method.toUpperCase(),
      headers,
      body: payload,
      redirect: o.redirect ?? "manual",
    });
    const text = await res.text();
    const type = res.headers.get("content-type") ?? "";
    return {
      status: res.status,
      headers: res.headers,
      text,
      body: /json/.test(type) && text ? JSON.parse(text) : undefined,
    };
  }

  let analyticsKey: string | undefined;
  async function graphql(query: string, variables?: Record<string, unknown>, key?: string | null) {
    analyticsKey ??= await keyWith("analytics:read");
    return request("POST", "/graphql", {
      key: key === undefined ? analyticsKey : key,
      body: { query, variables },
    });
  }

  return {
    url,
    db,
    cache,
    adminKey,
    keyWith,
    request,
    graphql,
    setNow: (d) => {
      if (!now) throw new Error("startApi({ now }) to get a settable clock");
      now = d;
    },
  };
}

// ---- responses checked against the generated OpenAPI document ----

const document = restOpenApiDocument() as unknown as {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >;
  components: object;
};
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: "https://reachgraph.dev/openapi.json", components: document.components });
const validators = new Map<string, ValidateFunction>();

/**
 * Asserts that a response is documented for the operation (path template, method, status, content type) and that
 * its body matches the documented schema.
 */
export function expectDocumented(res: ApiResponse, method: string, pathTemplate: string): void {
  const op = document.paths[pathTemplate]?.[method.toLowerCase()];
  expect(op, `${method} ${pathTemplate} is in the OpenAPI document`).toBeDefined();
  const response = op?.responses[String(res.status)];
  expect(response, `${method} ${pathTemplate} documents status ${res.status}`).toBeDefined();
  const contentType = (res.headers.get("content-type") ?? "").split(";")[0] ?? "";
  const media = response?.content?.[contentType];
  expect(media, `${method} ${pathTemplate} ${res.status} documents ${contentType}`).toBeDefined();
  if (!media) return;
  const id = `${method} ${pathTemplate} ${res.status} ${contentType}`;
  let validate = validators.get(id);
  if (!validate) {
    const schema = JSON.parse(
      JSON.stringify(media.schema).replaceAll(
        '"#/components/',
        '"https://reachgraph.dev/openapi.json#/components/',
      ),
    );
    validate = ajv.compile(schema);
    validators.set(id, validate);
  }
  const ok = validate(res.body);
  expect(ok ? [] : validate.errors, `${id} matches its schema`).toEqual([]);
}

/**
 * POSTs the same body twice under one fresh Idempotency-Key and asserts the second answer is the first one replayed
 * byte for byte (and, with `documentedAs`, that the replay matches the documented schema). Returns the first
 * response; the caller checks that the work was done once.
 */
export async function expectIdempotentReplay(
  api: TestApi,
  path: string,
  body: unknown,
  status: number,
  options: { key?: string; headers?: Record<string, string>; documentedAs?: string } = {},
): Promise<ApiResponse> {
  const headers = { ...options.headers, "Idempotency-Key": randomUUID() };
  const first = await api.request("POST", path, { key: options.key, body, headers });
  const again = await api.request("POST", path, { key: options.key, body, headers });
  expect(first.status, first.text).toBe(status);
  expect(again.status).toBe(status);
  expect(first.headers.get("idempotent-replayed")).toBeNull();
  expect(again.headers.get("idempotent-replayed")).toBe("true");
  expect(again.text).toBe(first.text);
  if (options.documentedAs) expectDocumented(again, "POST", options.documentedAs);
  return first;
}
