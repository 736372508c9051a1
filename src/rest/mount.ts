import { randomUUID } from "node:crypto";
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from "express";
import { rateLimit } from "express-rate-limit";
import type pg from "pg";
import { z } from "zod";
import type { AnalyticsCache } from "../analytics/analytics-cache.js";
import type { ReadRouter, ReadTarget } from "../db/read-router.js";
import { isDatabaseUnavailable } from "../db/unavailable.js";
import {
  ConflictError,
  DomainError,
  type FieldError,
  HttpError,
  UnprocessableError,
} from "../domain/errors.js";
import type { Principal } from "../domain/principal.js";
import { flushUnits, UnitOfWork } from "../domain/unit-of-work.js";
import type { EventValidator } from "../events/schemas.js";
import { verifyJsonText } from "../http/json-body.js";
import { PROBLEM_CONTENT_TYPE, problemFromError } from "../http/problem.js";
import type { Logger } from "../logger.js";
import type { ApiKeyAuthenticator } from "./auth.js";
import {
  claimIdempotencyKey,
  type IdempotentRequest,
  parseIdempotencyKey,
  requestFingerprint,
  type StoredResponse,
  storeIdempotentResponse,
} from "./idempotency.js";
import { assertNdjsonRequest, NdjsonBody } from "./ndjson.js";
import { withRequestClock } from "./request-clock.js";
import { type AnyRoute, expressPath, type Input, isWrite, pointAtFields, type ReadContext } from "./route.js";
import { type Settled, settle, type WriteGroups } from "./write-groups.js";

export type RestDependencies = {
  primary: pg.Pool;
  /** Analytics reads: the replica while it is healthy, else the primary. */
  readRouter: ReadRouter;
  /** The read side's cache: analytics answers under the rollups' asOf. */
  analyticsCache: AnalyticsCache;
  logger: Logger;
  authenticator: ApiKeyAuthenticator;
  events: EventValidator;
  /** The request clock; tests pass a fixed one to exercise send windows and leases. */
  clock: () => Date;
  defaultRateLimitPerMinute: number;
  /** Group commit of concurrent single-event writes (write-groups.ts); one per app instance. */
  writeGroups: WriteGroups;
};

type RawBodyRequest = Request & { rawBody?: Buffer };
const CORRELATION_ID = /^[\w.:-]{1,100}$/;

/** Field paths as JSON Pointers (`/leads/0/website`), with where they were found. */
function fieldErrors(location: "path" | "query" | "body", error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    location,
    path: `/${issue.path.map((p) => String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`,
    message: issue.message,
  }));
}

/** A route without a query schema accepts no query parameters: an unknown one is a client mistake (422). */
const NO_QUERY = z.strictObject({});

function parseOrThrow<T>(
  location: "path" | "query" | "body",
  schema: z.ZodType<T> | undefined,
  value: unknown,
): T {
  if (!schema) return (location === "body" ? undefined : {}) as T;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const errors = fieldErrors(location, parsed.error);
  const where =
    location === "path" ? "path parameters" : location === "query" ? "query string" : "request body";
  throw new UnprocessableError(
    `The ${where} did not validate: ${errors.map((e) => `${e.path} ${e.message}`).join("; ")}`,
    errors,
  );
}

function hasBody(req: Request): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

/** The successor of a deprecated route, with this request's path parameters filled in. */
function successorUrl(successor: string, params: Record<string, string>): string {
  return successor.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(params[name] ?? ""));
}

function deprecationHeaders(route: AnyRoute, params: Record<string, string>): Record<string, string> {
  if (!route.deprecated) return {};
  const { since, sunset } = route.deprecated;
  return {
    Deprecation: `@${Math.floor(since.getTime() / 1000)}`,
    Sunset: sunset.toUTCString(),
    Link: `<${successorUrl(route.deprecated.successor, params)}>; rel="successor-version"`,
  };
}

/**
 * From its Sunset on, a deprecated route is gone (RFC 8594 §1): 410 for every caller, keyed or not — the answer
 * reveals nothing but where the replacement is — before anything is read or written.
 */
function refuseAfterSunset(route: AnyRoute, params: Record<string, string>, now: Date): void {
  if (!route.deprecated || now < route.deprecated.sunset) return;
  const successor = successorUrl(route.deprecated.successor, params);
  throw new HttpError(
    410,
    "gone",
    "Gone",
    `${route.method.toUpperCase()} ${route.path} was deprecated on ${route.deprecated.since.toISOString()} and ` +
      `sunset on ${route.deprecated.sunset.toISOString()}; use ${successor}.`,
    { successor, sunset: route.deprecated.sunset.toISOString() },
  );
}

/**
 * Mounts every route with the same pipeline: correlation id → auth + scope → rate limit → content type + JSON body
 * (size-limited) → validation of path, query and body → Idempotency-Key → handler (in a transaction with audit and
 * outbox for writes) → JSON response. Errors become problem+json in one place (src/http/problem.ts).
 */
export function mountRoutes(router: Router, routes: readonly AnyRoute[], deps: RestDependencies): void {
  const limiter = rateLimit({
    windowMs: 60_000,
    limit: (_req, res) => principalOf(res).rateLimitPerMinute ?? deps.defaultRateLimitPerMinute,
    keyGenerator: (_req, res) => principalOf(res).id,
    standardHeaders: "draft-6",
    legacyHeaders: false,
    handler: (_req, res, next) => {
      const retryAfter = Number(res.getHeader("Retry-After") ?? 60);
      next(
        new HttpError(
          429,
          "rate-limited",
          "Too Many Requests",
          "This API key exceeded its request rate limit.",
          {
            retry_after_seconds: retryAfter,
          },
        ),
      );
    },
  });

  for (const route of routes) {
    const json = express.json({
      limit: route.bodyLimit ?? "1mb",
      strict: true,
      verify: (req, res, buf, encoding) => {
        verifyJsonText(req, res, buf, encoding);
        (req as RawBodyRequest).rawBody = buf;
      },
    });
    router[route.method](expressPath(route.path), ((req, res, next) => {
      handle(route, req, res, json, limiter, deps).catch(next);
    }) satisfies RequestHandler);
  }
  mountMethodNotAllowed(router, routes);
}

type ApiKeyPrincipal = Extract<Principal, { type: "api_key" }>;
function principalOf(res: Response): ApiKeyPrincipal {
  const p = res.locals.principal as ApiKeyPrincipal | undefined;
  if (!p) throw new Error("rate limit ran before authentication");
  return p;
}

function runMiddleware(mw: RequestHandler, req: Request, res: Response): Promise<void> {
  return new Promise((resolve, reject) => {
    mw(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
  });
}

async function handle(
  route: AnyRoute,
  req: Request,
  res: Response,
  json: RequestHandler,
  limiter: RequestHandler,
  deps: RestDependencies,
): Promise<void> {
  const now = deps.clock();
  const requestId = String(res.getHeader("X-Request-Id") ?? randomUUID());
  res.set("X-Request-Id", requestId);
  // Request logs name the route pattern, never the URL (see src/http/app.ts).
  res.locals.routePattern = route.path;
  const incoming = req.get("x-correlation-id");
  const correlationId = incoming && CORRELATION_ID.test(incoming) ? incoming : randomUUID();
  res.set("X-Correlation-Id", correlationId);
  res.set(deprecationHeaders(route, req.params as Record<string, string>));
  refuseAfterSunset(route, req.params as Record<string, string>, now);

  const principal = await deps.authenticator.authenticate(req, route.scope);
  res.locals.principal = principal;
  await runMiddleware(limiter, req, res);

  if (route.ndjson) {
    await handleNdjson(route, req, res, deps, { now, principal, requestId, correlationId });
    return;
  }

  if (route.body) {
    if (hasBody(req) && !req.is("application/json")) {
      throw new HttpError(
        415,
        "unsupported-media-type",
        "Unsupported Media Type",
        "Send the body as application/json.",
      );
    }
    await runMiddleware(json, req, res);
  }
  const input = withRequestClock(now, () => ({
    params: parseOrThrow("path", route.params, req.params),
    query: parseOrThrow("query", route.query ?? NO_QUERY, req.query),
    body: parseOrThrow("body", route.body, hasBody(req) ? req.body : undefined),
  }));

  if (!isWrite(route)) {
    // The replica a failed read used; a retry goes elsewhere (see ReadRouter.retryTarget).
    let readFrom: ReadTarget | undefined;
    let retryOn: ReadTarget | undefined;
    const ctx: ReadContext = {
      db: deps.primary,
      reader: async () => {
        const target = retryOn ?? (await deps.readRouter.target());
        readFrom = target;
        res.set("X-Read-Source", target.source.database);
        return target.pool;
      },
      cache: deps.analyticsCache,
      now,
      principal,
      requestId,
      correlationId,
    };
    // One bounded retry, as GraphQL does: a read that failed on a replica that a fresh check finds unusable runs
    // once more on the next target. Read handlers write nothing, so running one twice is safe.
    const body = await route
      .handler(input, ctx)
      .catch(async (err: unknown) => {
        retryOn = readFrom ? await deps.readRouter.retryTarget(readFrom.source) : undefined;
        if (!retryOn) throw err;
        return route.handler(input, ctx);
      })
      .catch((err: unknown) => {
        throw pointAtFields(route, err);
      });
    sendJson(res, route.response.status, body);
    return;
  }

  const idempotencyKey =
    route.method === "post" ? parseIdempotencyKey(req.get("idempotency-key")) : undefined;
  const keyed = idempotentRequest(req, principal, idempotencyKey, now, () =>
    requestFingerprint(req.method, req.originalUrl, (req as RawBodyRequest).rawBody),
  );
  const write: PendingWrite = {
    input,
    now,
    principal,
    requestId,
    correlationId,
    params: req.params as Record<string, string>,
  };
  // Keyed requests run alone: their key is claimed, and their answer stored, in their own transaction.
  const group = route.group;
  const { response, replayed } =
    group && !keyed && deps.writeGroups.enabled
      ? {
          response: await deps.writeGroups.submit(
            `${route.operationId}\u0000${group.key?.(input) ?? ""}`,
            write,
            (members: PendingWrite[]) => commitGroup(route, members, deps),
          ),
          replayed: false,
        }
      : await commitAlone(route, write, keyed, deps);
  res.status(response.status).set(response.headers);
  if (replayed) res.set("Idempotent-Replayed", "true");
  res.end(response.body);
}

/** A validated write request waiting for its transaction. */
type PendingWrite = {
  input: Input<unknown, unknown, unknown>;
  now: Date;
  principal: Principal;
  requestId: string;
  correlationId: string;
  params: Record<string, string>;
};

function unitOfWork(client: pg.ClientBase, w: PendingWrite, deps: RestDependencies): UnitOfWork {
  return new UnitOfWork(client, w.now, w.principal, w.requestId, w.correlationId, deps.events, deps.primary);
}

function jsonResponse(route: AnyRoute, w: PendingWrite, body: unknown): StoredResponse {
  return {
    status: route.response.status,
    headers: { "content-type": "application/json; charset=utf-8", ...deprecationHeaders(route, w.params) },
    body: Buffer.from(JSON.stringify(body)),
  };
}

/** One request's transaction: the Idempotency-Key claim (when keyed), the handler, audits + outbox, COMMIT. */
async function commitAlone(
  route: AnyRoute,
  w: PendingWrite,
  keyed: IdempotentRequest | undefined,
  deps: RestDependencies,
): Promise<{ response: StoredResponse; replayed: boolean }> {
  const client = await deps.primary.connect();
  let claimed = false;
  let failure: unknown;
  try {
    await client.query("BEGIN");
    if (keyed) {
      const claim = await claimIdempotencyKey(client, keyed);
      if (claim.kind === "replay") {
        await client.query("ROLLBACK");
        return { response: claim.response, replayed: true };
      }
      claimed = true;
      // An answer caused by the request itself is stored under the key; the savepoint lets the transaction drop
      // the request's writes and still commit that answer while it holds the key.
      await client.query("SAVEPOINT request");
    }
    const uow = unitOfWork(client, w, deps);
    const body = await route.handler(w.input, uow).catch((err: unknown) => {
      throw pointAtFields(route, err);
    });
    if (!uow.accountedFor) throw new Error(`${route.operationId} wrote without an audit entry`);
    await uow.flush();
    const response = jsonResponse(route, w, body);
    if (keyed) await storeIdempotentResponse(client, keyed, response);
    await client.query("COMMIT");
    return { response, replayed: false };
  } catch (err) {
    failure = err;
    const stored = keyed && claimed ? keptAnswer(err, w.requestId) : null;
    if (keyed && stored) {
      try {
        await client.query("ROLLBACK TO SAVEPOINT request");
        await storeIdempotentResponse(client, keyed, stored);
        await client.query("COMMIT");
        failure = undefined;
        // Exactly the bytes stored under the key, so a replay is identical.
        return { response: stored, replayed: false };
      } catch (storeErr) {
        failure = isDatabaseUnavailable(storeErr) ? storeErr : err;
      }
    }
    await client.query("ROLLBACK").catch(() => undefined);
    throw failure;
  } finally {
    // A client whose connection failed is discarded rather than handed to the next request.
    client.release(failure !== undefined && isDatabaseUnavailable(failure) ? (failure as Error) : undefined);
  }
}

/**
 * A batch of concurrent requests of one route (write-groups.ts): one transaction, the route's group handler, all
 * audits and events in one statement, one COMMIT. When the batch fails for any reason but an unavailable database
 * (one member's bad input, two members upserting the same lead), it is rolled back and split in halves until every
 * failing member ran alone, so each gets exactly the answer — success or problem — it would have had alone.
 */
async function commitGroup(
  route: AnyRoute,
  members: readonly PendingWrite[],
  deps: RestDependencies,
): Promise<Settled<StoredResponse>[]> {
  const group = route.group;
  if (!group || members.length === 1) {
    return Promise.all(
      members.map((w) => settle(commitAlone(route, w, undefined, deps).then((r) => r.response))),
    );
  }
  let client: pg.PoolClient | undefined;
  let failure: unknown;
  try {
    client = await deps.primary.connect();
    await client.query("BEGIN");
    const tx = client;
    const units = members.map((w) => unitOfWork(tx, w, deps));
    const bodies = await group.handler(
      members.map((w, i) => ({ input: w.input, uow: units[i] as UnitOfWork })),
    );
    if (bodies.length !== members.length) throw new Error(`${route.operationId}: one result per member`);
    if (!units.every((u) => u.accountedFor))
      throw new Error(`${route.operationId} wrote without an audit entry`);
    await flushUnits(client, units);
    const responses = members.map((w, i) => jsonResponse(route, w, bodies[i]));
    await client.query("COMMIT");
    return responses.map((value) => ({ ok: true, value }));
  } catch (err) {
    failure = err;
    await client?.query("ROLLBACK").catch(() => undefined);
  } finally {
    client?.release(failure !== undefined && isDatabaseUnavailable(failure) ? (failure as Error) : undefined);
  }
  // Each member alone meets the same outage and answers 503 on its own; no point trying them one by one.
  if (isDatabaseUnavailable(failure)) return members.map(() => ({ ok: false, error: failure }));
  // Each half is tried as a group again, down to single members run alone: one bad request among n costs about
  // 2·log2(n) more transactions, not n, and the good ones still share theirs.
  const half = Math.ceil(members.length / 2);
  const halves = await Promise.all([
    commitGroup(route, members.slice(0, half), deps),
    commitGroup(route, members.slice(half), deps),
  ]);
  return halves.flat();
}

/** What an Idempotency-Key is claimed under: an API key's request with a key (other principals and keyless requests: none). */
function idempotentRequest(
  req: Request,
  principal: Principal,
  key: string | undefined,
  now: Date,
  fingerprint: () => string,
): IdempotentRequest | undefined {
  if (key === undefined || principal.type !== "api_key") return undefined;
  return {
    apiKeyId: principal.id,
    key,
    method: req.method,
    path: req.originalUrl,
    fingerprint: fingerprint(),
    now,
  };
}

/**
 * The write pipeline of a streamed NDJSON route (see defineNdjsonRoute): the query is validated and the request's
 * media type, coding and presence of a body checked before the transaction; the handler reads the body while it
 * writes, inside the request clock (per-line "not in the future" rules see the request's time). The key is claimed
 * once the body's fingerprint is known. A failed load leaves nothing under its key: nothing of it was written, so
 * the client may fix the body and retry under the same key.
 */
async function handleNdjson(
  route: AnyRoute,
  req: Request,
  res: Response,
  deps: RestDependencies,
  request: { now: Date; principal: Principal; requestId: string; correlationId: string },
): Promise<void> {
  const { now, principal, requestId, correlationId } = request;
  const query = withRequestClock(now, () => parseOrThrow("query", route.query ?? NO_QUERY, req.query));
  const idempotencyKey = parseIdempotencyKey(req.get("idempotency-key"));
  assertNdjsonRequest(req);
  const body = new NdjsonBody(req, route.ndjson?.limits);
  const client = await deps.primary.connect();
  let failure: unknown;
  try {
    await client.query("BEGIN");
    const uow = new UnitOfWork(client, now, principal, requestId, correlationId, deps.events, deps.primary);
    const answer = await withRequestClock(now, () => route.handler({ params: {}, query, body }, uow));
    if (!uow.accountedFor) throw new Error(`${route.operationId} wrote without an audit entry`);
    const keyed = idempotentRequest(req, principal, idempotencyKey, now, () => body.fingerprint());
    if (keyed) {
      const claim = await claimIdempotencyKey(client, keyed);
      if (claim.kind === "replay") {
        await client.query("ROLLBACK");
        res.status(claim.response.status).set(claim.response.headers).set("Idempotent-Replayed", "true");
        res.end(claim.response.body);
        return;
      }
    }
    await uow.flush();
    const response: StoredResponse = {
      status: route.response.status,
      headers: { "content-type": "application/json; charset=utf-8" },
      body: Buffer.from(JSON.stringify(answer)),
    };
    if (keyed) await storeIdempotentResponse(client, keyed, response);
    await client.query("COMMIT");
    res.status(response.status).set(response.headers).end(response.body);
  } catch (err) {
    failure = err;
    await client.query("ROLLBACK").catch(() => undefined);
    // Refused before the body was read to its end (an unknown scraping job): let the rest drain.
    if (!req.readableEnded) req.resume();
    throw err;
  } finally {
    client.release(failure !== undefined && isDatabaseUnavailable(failure) ? (failure as Error) : undefined);
  }
}

/**
 * The answer kept under the key for a request that failed because of what the client sent (it would fail the same
 * way again); null for one that failed unexpectedly or because of the moment, whose key is left free for a retry.
 */
function keptAnswer(err: unknown, requestId: string): StoredResponse | null {
  // A conflict depends on the moment (a lease taken, a concurrent update): retrying may succeed, so, as Stripe
  // does, the key is not pinned to that answer. Neither is an unavailable database.
  if (!(err instanceof DomainError) || err instanceof ConflictError || err.status >= 500) return null;
  const mapped = problemFromError(err);
  if (!mapped) return null;
  return {
    status: mapped.problem.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...mapped.headers },
    body: Buffer.from(JSON.stringify({ ...mapped.problem, request_id: requestId })),
  };
}

function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).type("application/json").send(JSON.stringify(body));
}

/** 405 with an Allow header for a known path asked with a method it does not have. */
function mountMethodNotAllowed(router: Router, routes: readonly AnyRoute[]): void {
  const byPath = new Map<string, Set<string>>();
  for (const r of routes) {
    const methods = byPath.get(r.path) ?? new Set<string>();
    methods.add(r.method.toUpperCase());
    if (r.method === "get") methods.add("HEAD");
    byPath.set(r.path, methods);
  }
  for (const [path, methods] of byPath) {
    router.all(expressPath(path), (req: Request, _res: Response, next: NextFunction) => {
      const allow = [...methods].join(", ");
      next(
        new HttpError(
          405,
          "method-not-allowed",
          "Method Not Allowed",
          `${req.method} is not allowed here; use ${allow}.`,
          {
            allow: [...methods],
          },
        ),
      );
    });
  }
}
