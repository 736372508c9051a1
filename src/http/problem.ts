import type { ErrorRequestHandler, RequestHandler, Response } from "express";
import { isDatabaseUnavailable } from "../db/unavailable.js";
import { DatabaseUnavailableError, DomainError } from "../domain/errors.js";
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
  "encoding.invalid-utf8": {
    status: 400,
    code: "invalid-utf8",
    title: "Bad Request",
    detail: "The request body is not valid UTF-8; send JSON encoded as UTF-8.",
  },
  "entity.lone-surrogate": {
    status: 400,
    code: "invalid-utf8",
    title: "Bad Request",
    detail:
      "The request body has a \\u escape of a lone UTF-16 surrogate, which is no character; escape characters as pairs.",
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
  // Raised by migration 0015's triggers: a write for a lead that was erased (e.g. a worker finishing late).
  RGE01: {
    status: 409,
    code: "lead-erased",
    title: "Conflict",
    detail: "The lead was erased (GDPR); nothing more may be written for it.",
  },
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
  "22021": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A text value contains a character PostgreSQL cannot store (e.g. NUL).",
  },
  "22P05": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A JSON value contains a character PostgreSQL cannot store (e.g. \\u0000).",
  },
  "22P02": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A value is not valid for its field.",
  },
  "22007": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A date or time is not valid.",
  },
  "22008": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A date or time is out of range.",
  },
  "54000": {
    status: 422,
    code: "validation-failed",
    title: "Unprocessable Content",
    detail: "A value is too large to store or index.",
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

function numberProp(err: unknown, key: string): number | undefined {
  if (typeof err !== "object" || err === null || !(key in err)) return undefined;
  const value = (err as Record<string, unknown>)[key];
  return typeof value === "number" ? value : undefined;
}

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
  // A dropped connection or a server that is down is checked first: pg's errors for it carry codes and statuses
  // that would otherwise read as a client mistake or a bug.
  if (!(err instanceof DomainError) && isDatabaseUnavailable(err)) err = new DatabaseUnavailableError();
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
  const httpStatus = numberProp(err, "status") ?? numberProp(err, "statusCode");
  if (httpStatus !== undefined && httpStatus >= 400 && httpStatus < 500 && !(err instanceof DomainError)) {
    // Raised by express/router/body-parser before a handler ran (bad percent-encoding, a corrupt compressed
    // body…). Their messages may quote the request, so none of it is echoed.
    return {
      problem: {
        type: problemType("bad-request"),
        title: "Bad Request",
        status: httpStatus,
        detail: "The request could not be read.",
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

/**
 * What of an unexpected error may be logged. A PostgreSQL error's message, detail and `where` quote the values of
 * the failing statement (emails, message bodies, tokens): only its code and location are kept. Other errors are
 * our own bugs; their message and stack are kept.
 */
export function loggableError(err: unknown): Record<string, unknown> {
  if (typeof err !== "object" || err === null) return { value: String(err) };
  const e = err as Record<string, unknown>;
  if (typeof e.severity === "string" && typeof e.code === "string") {
    return {
      type: "PostgresError",
      code: e.code,
      routine: e.routine,
      table: e.table,
      column: e.column,
      constraint: e.constraint,
    };
  }
  if (err instanceof Error) return { type: err.name, message: err.message, stack: err.stack };
  return { type: "unknown" };
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
      if (mapped.problem.status === 503) {
        logger.warn(
          { err: loggableError(err), requestId, method: req.method, route: res.locals.routePattern },
          "database unavailable",
        );
      }
      if (res.headersSent) return;
      sendProblem(res, { ...mapped.problem, request_id: requestId || undefined }, mapped.headers);
      return;
    }
    logger.error(
      { err: loggableError(err), requestId, method: req.method, route: res.locals.routePattern },
      "unhandled error",
    );
    if (res.headersSent) return;
    sendProblem(res, { ...INTERNAL_PROBLEM, request_id: requestId || undefined });
  };
}
