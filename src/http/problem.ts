import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { DomainError } from "../domain/errors.js";
import type { Logger } from "../logger.js";

/** RFC 9457 problem details. `type` is a stable URI that clients may switch on. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  [extension: string]: unknown;
};

export const PROBLEM_BASE = "https://reachgraph.dev/problems/";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemType(code: string): string {
  return `${PROBLEM_BASE}${code}`;
}

export function sendProblem(res: Response, problem: Problem, headers: Record<string, string> = {}): void {
  res.status(problem.status).set(headers).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem));
}

/** body-parser's client errors, by their `type`. */
const PARSER_ERRORS: Record<string, { status: number; code: string; title: string; detail: string }> = {
  "entity.parse.failed": {
    status: 400,
    code: "malformed-json",
    title: "Bad Request",
    detail: "The request body is not valid JSON.",
  },
  "entity.too.large": {
    status: 413,
    code: "payload-too-large",
    title: "Content Too Large",
    detail: "The request body is larger than this endpoint accepts.",
  },
  "encoding.unsupported": {
    status: 415,
    code: "unsupported-media-type",
    title: "Unsupported Media Type",
    detail: "Unsupported content encoding.",
  },
  "charset.unsupported": {
    status: 415,
    code: "unsupported-media-type",
    title: "Unsupported Media Type",
    detail: "Unsupported charset; send UTF-8 JSON.",
  },
  "request.aborted": {
    status: 400,
    code: "request-aborted",
    title: "Bad Request",
    detail: "The request was aborted.",
  },
  "request.size.invalid": {
    status: 400,
    code: "bad-request",
    title: "Bad Request",
    detail: "The request body does not match its Content-Length.",
  },
};

/**
 * PostgreSQL errors that can only come from what the client sent (a reference to a row that does not exist, a
 * value a CHECK refuses) when validation let it through. Mapped here so that a client's mistake is never a 500.
 */
const PG_CLIENT_ERRORS: Record<string, { status: number; code: string; title: string; detail: string }> = {
  "23503": {
    status: 422,
    code: "unknown-reference",
    title: "Unprocessable Content",
    detail: "The request refers to a resource that does not exist.",
  },
  "23505": {
    status: 409,
    code: "conflict",
    title: "Conflict",
    detail: "A resource with the same key already exists.",
  },
  "23514": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A value is outside its allowed range.",
  },
  "22001": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A value is longer than its field allows.",
  },
  "22003": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A number is out of range.",
  },
  "40001": {
    status: 409,
    code: "concurrent-update",
    title: "Conflict",
    detail: "A concurrent request changed the same data; retry the request.",
  },
  "40P01": {
    status: 409,
    code: "concurrent-update",
    title: "Conflict",
    detail: "A concurrent request changed the same data; retry the request.",
  },
};

function stringProp(err: unknown, key: string): string | undefined {
  if (typeof err !== "object" || err === null || !(key in err)) return undefined;
  const value = (err as Record<string, unknown>)[key];
  return typeof value === "string" ? value : undefined;
}

/**
 * The one place errors become problem documents. Returns null for errors that are not the client's doing: those
 * are logged and answered with a bare 500.
 */
export function problemFromError(err: unknown): { problem: Problem; headers: Record<string, string> } | null {
  if (err instanceof DomainError) {
    const headers: Record<string, string> = {};
    if (err.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="reachgraph"';
    const allow = err.extensions.allow;
    if (Array.isArray(allow)) headers.Allow = allow.join(", ");
    const retryAfter = err.extensions.retry_after_seconds;
    if (typeof retryAfter === "number") headers["Retry-After"] = String(retryAfter);
    return {
      // Extensions first: they may add members but never replace the standard ones.
      problem: {
        ...err.extensions,
        type: problemType(err.code),
        title: err.title,
        status: err.status,
        detail: err.message,
      },
      headers,
    };
  }
  const parserType = stringProp(err, "type");
  const parser = parserType ? PARSER_ERRORS[parserType] : undefined;
  if (parser) {
    return {
      problem: {
        type: problemType(parser.code),
        title: parser.title,
        status: parser.status,
        detail: parser.detail,
      },
      headers: {},
    };
  }
  const pgCode = stringProp(err, "code");
  const pgError = pgCode && stringProp(err, "severity") ? PG_CLIENT_ERRORS[pgCode] : undefined;
  if (pgError) {
    return {
      problem: {
        type: problemType(pgError.code),
        title: pgError.title,
        status: pgError.status,
        detail: pgError.detail,
      },
      headers: {},
    };
  }
  return null;
}

export const INTERNAL_PROBLEM: Problem = {
  type: problemType("internal"),
  title: "Internal Server Error",
  status: 500,
  detail: "An unexpected error occurred. Quote the request id when reporting it.",
};

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, {
    type: problemType("not-found"),
    title: "Not Found",
    status: 404,
    detail: `No route for ${req.method} ${req.path}`,
  });
};

/** The last error handler: client errors keep their 4xx; anything else is logged and answered without internals. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const mapped = problemFromError(err);
    const requestId = String(res.getHeader("X-Request-Id") ?? "");
    if (mapped) {
      sendProblem(res, { ...mapped.problem, request_id: requestId || undefined }, mapped.headers);
      return;
    }
    logger.error({ err, requestId, method: req.method, route: req.route?.path }, "unhandled error");
    if (res.headersSent) return;
    sendProblem(res, { ...INTERNAL_PROBLEM, request_id: requestId || undefined });
  };
}
