import type pg from "pg";
import type { z } from "zod";
import type { AnalyticsCache } from "../analytics/analytics-cache.js";
import { type FieldError, type FieldRef, isFieldRef, UnprocessableError } from "../domain/errors.js";
import type { Principal, Scope } from "../domain/principal.js";
import type { UnitOfWork } from "../domain/unit-of-work.js";
import type { NdjsonBody, NdjsonLimits } from "./ndjson.js";

/**
 * A route is a small declarative object; `mountRoutes` (src/rest/mount.ts) gives every route the same auth, rate
 * limit, parsing, validation, idempotency, transaction + audit + outbox, error mapping and OpenAPI entry.
 *
 * `path` is written the OpenAPI way (`/api/v2/campaigns/{id}`); handlers receive parsed, typed input and return the
 * response body. GET handlers read through a pool; every other method runs inside one transaction (a UnitOfWork) and
 * must record at least one audit entry.
 */
export type HttpMethod = "get" | "post" | "patch" | "put" | "delete";
type ZodObjectLike = z.ZodType<Record<string, unknown>, Record<string, unknown>>;

export type ReadContext = {
  /** The primary: reads that must see the latest writes (a resource just created). */
  db: pg.Pool;
  /**
   * Where analytics reads go now: the replica, or the primary when it is down or lagging (ReadRouter). Calling it
   * also tells the client, in `X-Read-Source`.
   */
  reader: () => Promise<pg.Pool>;
  /** The read side's cache (analytics-cache.ts): the rollups' asOf and answers keyed by it. */
  cache: AnalyticsCache;
  now: Date;
  principal: Principal;
  requestId: string;
  correlationId: string;
};

export type Input<P, Q, B> = { params: P; query: Q; body: B };

type HandlerContext<M extends HttpMethod> = M extends "get" ? ReadContext : UnitOfWork;

export type Deprecation = {
  /** When the deprecation was announced (the `Deprecation` header). */
  since: Date;
  /** When the endpoint stops working (spec §7: 90 days after the notice). */
  sunset: Date;
  /** The replacement, sent as `Link: <…>; rel="successor-version"`. */
  successor: string;
};

export type RouteSpec<
  M extends HttpMethod = HttpMethod,
  P extends ZodObjectLike | undefined = ZodObjectLike | undefined,
  Q extends ZodObjectLike | undefined = ZodObjectLike | undefined,
  B extends z.ZodType | undefined = z.ZodType | undefined,
  R extends z.ZodType = z.ZodType,
> = {
  method: M;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** The scope a key needs (`admin` satisfies all). */
  scope: Scope;
  params?: P;
  query?: Q;
  body?: B;
  /** Largest accepted JSON body; default 1 MB. */
  bodyLimit?: string;
  response: { status: 200 | 201 | 202; description: string; schema: R };
  /** Other error statuses this route can answer besides the ones every route has. */
  errors?: number[];
  /** The body member holding a batch's items, which a domain FieldRef's `index` counts in (`emails`, `records`). */
  batch?: string;
  deprecated?: Deprecation;
  /** A streamed `application/x-ndjson` body instead of a JSON one: see defineNdjsonRoute. */
  ndjson?: NdjsonSpec;
  handler: (input: RouteInput<P, Q, B>, ctx: HandlerContext<M>) => Promise<z.input<R>>;
  /** For a write: how concurrent requests of this route share one transaction (group commit, see write-groups.ts). */
  group?: GroupSpec<RouteInput<P, Q, B>, z.input<R>>;
};

type RouteInput<P, Q, B> = Input<
  P extends z.ZodType ? z.output<P> : Record<string, never>,
  Q extends z.ZodType ? z.output<Q> : Record<string, never>,
  B extends z.ZodType ? z.output<B> : undefined
>;

/**
 * A write route's group commit. `handler` does what `route.handler` does for each member, in one go: one result per
 * member, in order, each member's audits and events recorded on its own UnitOfWork (all of them share the
 * transaction). It may throw for any reason — one member's bad input, a clash between two members — and then every
 * member runs alone through `route.handler`, so its answer is exactly the one it would have had alone.
 */
export type GroupSpec<I, R> = {
  /** Only requests with the same key share a batch (e.g. the same scraping job); one key for all by default. */
  key?: (input: I) => string;
  handler: (members: readonly { input: I; uow: UnitOfWork }[]) => Promise<R[]>;
};

/** Keeps the literal types of a route object; the returned value is the same object. */
export function defineRoute<
  M extends HttpMethod,
  P extends ZodObjectLike | undefined = undefined,
  Q extends ZodObjectLike | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType = z.ZodType,
>(spec: RouteSpec<M, P, Q, B, R>): AnyRoute {
  return spec as unknown as AnyRoute;
}

/** A route with its types erased, as the mounting code and the OpenAPI builder see it. */
export type AnyRoute = {
  method: HttpMethod;
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  scope: Scope;
  params?: ZodObjectLike;
  query?: ZodObjectLike;
  body?: z.ZodType;
  bodyLimit?: string;
  response: { status: 200 | 201 | 202; description: string; schema: z.ZodType };
  errors?: number[];
  batch?: string;
  deprecated?: Deprecation;
  ndjson?: NdjsonSpec;
  handler: (input: Input<unknown, unknown, unknown>, ctx: ReadContext | UnitOfWork) => Promise<unknown>;
  group?: GroupSpec<Input<unknown, unknown, unknown>, unknown>;
};

export type NdjsonSpec = {
  /** The schema of one line, for the OpenAPI document (the handler validates each line with it). */
  item: z.ZodType;
  limits?: NdjsonLimits;
};

/**
 * A POST whose body is streamed NDJSON (bulk loads). The pipeline is the same as for JSON routes — auth and scope,
 * rate limit, query validation, one transaction with audit and outbox, Idempotency-Key, problem+json — except that
 * the body is not parsed up front: the handler gets an NdjsonBody and reads it line by line while it writes. The
 * Idempotency-Key is claimed after the body was read (its fingerprint needs every byte), still inside the
 * transaction: a replay rolls the load back and answers the stored response.
 */
export function defineNdjsonRoute<
  Q extends ZodObjectLike | undefined = undefined,
  R extends z.ZodType = z.ZodType,
>(
  spec: Omit<
    RouteSpec<"post", undefined, Q, undefined, R>,
    "handler" | "body" | "bodyLimit" | "ndjson" | "group"
  > & {
    ndjson: NdjsonSpec;
    handler: (
      input: Input<
        Record<string, never>,
        Q extends z.ZodType ? z.output<Q> : Record<string, never>,
        NdjsonBody
      >,
      uow: UnitOfWork,
    ) => Promise<z.input<R>>;
  },
): AnyRoute {
  return spec as unknown as AnyRoute;
}

export function isWrite(route: Pick<AnyRoute, "method">): boolean {
  return route.method !== "get";
}

/**
 * `/api/v2/campaigns/{id}` → `/api/v2/campaigns/:id` (express). A literal colon (`/api/v2/leads:bulk`, Google's
 * custom-method style) is escaped first, or express would read `:bulk` as a parameter.
 */
export function expressPath(path: string): string {
  return path.replaceAll(":", "\\:").replace(/\{(\w+)\}/g, ":$1");
}

/**
 * Turns the domain's `{field, index}` references of a 422 into JSON Pointers into the request body (`/lead_id`,
 * `/emails/3/lead_id`), the form every problem document's `errors` use. Other errors pass through unchanged.
 */
export function pointAtFields(route: Pick<AnyRoute, "operationId" | "batch">, err: unknown): unknown {
  if (!(err instanceof UnprocessableError)) return err;
  const errors = err.extensions.errors as (FieldError | FieldRef)[] | undefined;
  if (!errors?.some(isFieldRef)) return err;
  err.extensions.errors = errors.map((e): FieldError => {
    if (!isFieldRef(e)) return e;
    if (e.index === undefined) return { location: "body", path: `/${e.field}`, message: e.message };
    if (!route.batch) throw new Error(`${route.operationId} has no batch member for an indexed field error`);
    return { location: "body", path: `/${route.batch}/${e.index}/${e.field}`, message: e.message };
  });
  return err;
}
