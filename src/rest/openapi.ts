import { z } from "zod";
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from "zod-openapi";
import { PROBLEM_CONTENT_TYPE } from "../http/problem.js";
import { NDJSON_CONTENT_TYPE } from "./ndjson.js";
import { type AnyRoute, isWrite } from "./route.js";

/** RFC 9457 problem details as every error response carries them. */
export const ProblemResponse = z
  .object({
    type: z.string().meta({ description: "Stable URI identifying the problem; switch on this." }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    request_id: z.string().optional(),
    errors: z
      .array(
        z
          .object({
            location: z.enum(["path", "query", "body"]).optional(),
            path: z.string().meta({ description: "JSON Pointer of the failing field." }),
            message: z.string(),
          })
          .catchall(z.unknown()),
      )
      .optional()
      .meta({
        description:
          "Each failing field. Items may carry more members: `line` (bulk loads), `suppression_id` and `kind` " +
          "(lead-suppressed).",
      }),
  })
  .catchall(z.unknown())
  .meta({ id: "Problem", description: "RFC 9457 problem details." });

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request (e.g. invalid JSON, invalid Idempotency-Key).",
  401: "Missing, unknown or revoked API key.",
  403: "The API key lacks the required scope.",
  404: "The resource does not exist.",
  405: "Method not allowed on this path.",
  409: "Conflict: illegal state transition, or the same Idempotency-Key is in flight.",
  410: "Gone: this deprecated endpoint is past its Sunset date (x-sunset). `successor` and the Link header name its replacement.",
  413: "Request body too large.",
  415: "Body is not application/json.",
  422: "Validation failed; `errors` lists each failing field.",
  429: "Rate limit exceeded; see Retry-After.",
  500: "Unexpected error; the body carries a request id and no internals.",
  503: "The database is unavailable (down, restarting, a dropped connection, every connection busy); see Retry-After. Retry a POST with the same Idempotency-Key: if its transaction did commit before the connection dropped, the retry replays that answer; otherwise it runs once.",
};

/** Statuses every route can answer. */
function commonErrors(route: AnyRoute): number[] {
  // 400 also covers a request the server cannot read at all (bad percent-encoding, a corrupt compressed body).
  const statuses = [400, 401, 403, 422, 429, 500, 503];
  if (route.body || route.ndjson) statuses.push(413, 415);
  // Any write can meet a concurrent one (409 concurrent-update); POSTs also an Idempotency-Key in flight.
  if (route.method !== "get") statuses.push(409);
  // A deprecated route answers 410 from its sunset on.
  if (route.deprecated) statuses.push(410);
  return [...new Set([...statuses, ...(route.errors ?? [])])].sort();
}

const header = (description: string, example?: string) => ({
  description,
  schema: { type: "string" as const, ...(example ? { example } : {}) },
});
const RETRY_AFTER = header("Seconds to wait before retrying.", "30");

/** Headers every successful answer of the route carries. */
function successHeaders(route: AnyRoute): ZodOpenApiResponseObject["headers"] {
  return {
    "X-Request-Id": header(
      "This request's id (echoed when the client sent a sane one); quoted in problems and logs.",
    ),
    "X-Correlation-Id": header("Carried into every event the request emits; echoed or generated."),
    "RateLimit-Limit": header("Requests allowed per window for this API key.", "6000"),
    "RateLimit-Remaining": header("Requests left in the current window.", "5999"),
    "RateLimit-Reset": header("Seconds until the window resets.", "42"),
    ...(route.method === "post"
      ? {
          "Idempotent-Replayed": header(
            "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
            "true",
          ),
        }
      : {}),
    ...(route.deprecated
      ? {
          Deprecation: header(
            "When this endpoint was deprecated (RFC 9745), as @<unix seconds>.",
            "@1795564800",
          ),
          Sunset: header(
            "When it stops working (RFC 8594): 90 days after the deprecation.",
            "Tue, 23 Feb 2027 00:00:00 GMT",
          ),
          Link: header('The successor, rel="successor-version".', '</api/v2/leads>; rel="successor-version"'),
        }
      : {}),
  };
}

function operation(route: AnyRoute): ZodOpenApiOperationObject {
  const responses: Record<string, ZodOpenApiResponseObject> = {
    [String(route.response.status)]: {
      description: route.response.description,
      headers: successHeaders(route),
      content: { "application/json": { schema: route.response.schema } },
    },
  };
  for (const status of commonErrors(route)) {
    responses[String(status)] = {
      description: ERROR_DESCRIPTIONS[status] ?? "Error",
      headers: status === 429 || status === 409 || status === 503 ? { "Retry-After": RETRY_AFTER } : {},
      content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemResponse } },
    };
  }
  const headers = [
    {
      name: "X-Correlation-Id",
      in: "header" as const,
      required: false,
      description: "Carried into every event this request emits; generated and returned when absent.",
      schema: { type: "string" as const, maxLength: 100 },
    },
  ];
  if (route.method === "post") {
    headers.push({
      name: "Idempotency-Key",
      in: "header" as const,
      required: false,
      description:
        "Makes the POST safe to retry: the first response is replayed for 24 h for the same key and body; a different body answers 422, a request still in flight 409.",
      schema: { type: "string" as const, maxLength: 255 },
    });
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: route.tags,
    // The dates contract:check enforces the 90-day rule with (src/contract/deprecation.ts).
    ...(route.deprecated
      ? {
          deprecated: true,
          "x-deprecated-at": route.deprecated.since.toISOString(),
          "x-sunset": route.deprecated.sunset.toISOString(),
          "x-successor": route.deprecated.successor,
        }
      : {}),
    security: [{ bearerAuth: [] }, { apiKeyHeader: [] }],
    "x-required-scope": route.scope,
    "x-writes": isWrite(route),
    requestParams: {
      ...(route.params ? { path: route.params } : {}),
      ...(route.query ? { query: route.query } : {}),
    },
    parameters: headers,
    ...(route.body
      ? { requestBody: { required: true, content: { "application/json": { schema: route.body } } } }
      : {}),
    ...(route.ndjson
      ? {
          requestBody: {
            required: true,
            description: "One JSON object per line (NDJSON); `Content-Encoding: gzip` is accepted.",
            content: { [NDJSON_CONTENT_TYPE]: { schema: route.ndjson.item } },
          },
        }
      : {}),
    responses,
  };
}

export type OpenApiDocument = ReturnType<typeof createDocument>;

/** The OpenAPI 3.1 document of the given routes plus extra hand-written paths (tracking, health). */
export function buildOpenApiDocument(
  routes: readonly AnyRoute[],
  extraPaths: ZodOpenApiPathsObject,
  version: string,
): OpenApiDocument {
  const paths: ZodOpenApiPathsObject = { ...extraPaths };
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method]: operation(route) };
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return createDocument(
    {
      openapi: "3.1.0",
      info: {
        title: "reachgraph REST API",
        version,
        description:
          "Write side of reachgraph: integrations (scrapers, AI workers, email senders, admin tools) put data in here. " +
          "Errors are RFC 9457 application/problem+json. Every POST accepts an Idempotency-Key. " +
          "v1 endpoints are deprecated (Deprecation/Sunset/Link headers) and sunset 90 days after notice.",
      },
      servers: [{ url: "/" }],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: "http",
            scheme: "bearer",
            description: "API key: `Authorization: Bearer rg_…`",
          },
          apiKeyHeader: { type: "apiKey", in: "header", name: "X-API-Key" },
        },
      },
      paths: sorted,
    },
    // Schemas named with .meta({ id }) become components; everything else stays inline where it is used.
    { reused: "inline" },
  );
}
