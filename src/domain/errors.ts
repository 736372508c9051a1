/**
 * The one error hierarchy of the domain. Code below the HTTP layer throws these; src/http/problem.ts alone turns them
 * into RFC 9457 problem+json. `code` is the stable last segment of the problem `type` URI that clients switch on.
 */
export type FieldError = { location?: "path" | "query" | "body"; path: string; message: string };

/**
 * A bad input value as the domain knows it: the body field, and for an item of a batch, the item's index. The domain
 * does not know how the request was shaped, so it never spells REST paths; the route wrapper (`pointAtFields` in
 * src/rest/route.ts) turns this into a FieldError with a JSON Pointer into the request body.
 */
export type FieldRef = { field: string; index?: number; message: string };

export function isFieldRef(e: FieldError | FieldRef): e is FieldRef {
  return "field" in e;
}

export abstract class DomainError extends Error {
  abstract readonly status: number;
  abstract readonly code: string;
  abstract readonly title: string;
  /** Extra members of the problem document (never internals). */
  readonly extensions: Record<string, unknown>;

  constructor(detail: string, extensions: Record<string, unknown> = {}) {
    super(detail);
    this.name = new.target.name;
    this.extensions = extensions;
  }
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  readonly code = "not-found";
  readonly title = "Not Found";
  constructor(resource: string, id: string) {
    super(`${resource} ${id} does not exist.`, { resource });
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
  readonly code: string = "conflict";
  readonly title = "Conflict";
}

/**
 * An ingest of a lead that was erased at its subject's request: the keyed token of its domain or contact email is
 * suppressed (SUPPRESS_WITH_DELETE) until an admin lifts the suppression.
 */
export class LeadSuppressedError extends ConflictError {
  override readonly code = "lead-suppressed";
  constructor(errors: (FieldError & { suppression_id: string; kind: "email" | "domain" })[]) {
    super(
      "Some leads were erased at their subject's request and are suppressed; an admin can lift a suppression " +
        "with DELETE /api/v2/suppressions/{id}.",
      { errors },
    );
  }
}

/** A status change the resource's state machine does not allow, e.g. completing a demo that was never claimed. */
export class InvalidTransitionError extends ConflictError {
  override readonly code = "invalid-state-transition";
  constructor(resource: string, from: string, to: string, hint?: string) {
    super(`${resource} cannot go from '${from}' to '${to}'.${hint ? ` ${hint}` : ""}`, { from, to });
  }
}

/** Input that is well-formed but breaks a rule: unknown references, a bad combination of fields. */
export class UnprocessableError extends DomainError {
  readonly status = 422;
  readonly code: string = "validation-failed";
  readonly title = "Unprocessable Content";
  constructor(detail: string, errors: (FieldError | FieldRef)[] = []) {
    super(detail, errors.length ? { errors } : {});
  }
}

export class BadRequestError extends DomainError {
  readonly status = 400;
  readonly code: string;
  readonly title = "Bad Request";
  constructor(code: string, detail: string, extensions: Record<string, unknown> = {}) {
    super(detail, extensions);
    this.code = code;
  }
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  readonly code = "unauthorized";
  readonly title = "Unauthorized";
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  readonly code = "insufficient-scope";
  readonly title = "Forbidden";
}

/** Raised by HTTP plumbing for statuses the domain never produces (405, 413, 415, 429…). */
export class HttpError extends DomainError {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  constructor(
    status: number,
    code: string,
    title: string,
    detail: string,
    extensions?: Record<string, unknown>,
  ) {
    super(detail, extensions);
    this.status = status;
    this.code = code;
    this.title = title;
  }
}

/**
 * "The database is not there right now": the server is down, restarting or failing over, a connection was dropped
 * (a DBA's pg_terminate_backend, a proxy restart, a network blip), or no connection could be had in time. None of it
 * is the client's doing and all of it passes, so it is answered 503 with Retry-After, never 500, and logged as a
 * warning rather than as a bug.
 */
export class DatabaseUnavailableError extends DomainError {
  readonly status = 503;
  readonly code = "database-unavailable";
  readonly title = "Service Unavailable";
  constructor(detail = "The database is unavailable right now; retry shortly.", retryAfterSeconds = 1) {
    super(detail, { retry_after_seconds: retryAfterSeconds });
  }
}
