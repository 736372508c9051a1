import type { ErrorRequestHandler, RequestHandler, Response } from "express";
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

export function sendProblem(res: Response, problem: Problem): void {
  res.status(problem.status).type("application/problem+json").send(JSON.stringify(problem));
}

export const notFoundHandler: RequestHandler = (req, res) => {
  sendProblem(res, {
    type: `${PROBLEM_BASE}not-found`,
    title: "Not Found",
    status: 404,
    detail: `No route for ${req.method} ${req.path}`,
  });
};

/**
 * The last error handler: client errors raised by express' own parsers keep their 4xx status; anything else is
 * logged in full and answered with a bare 500 that carries no internals.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const status = typeof err === "object" && err !== null && "status" in err ? Number(err.status) : 500;
    if (status >= 400 && status < 500) {
      sendProblem(res, {
        type: `${PROBLEM_BASE}bad-request`,
        title: "Bad Request",
        status,
        detail: err instanceof Error ? err.message : "The request could not be processed.",
      });
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, "unhandled error");
    sendProblem(res, {
      type: `${PROBLEM_BASE}internal`,
      title: "Internal Server Error",
      status: 500,
      detail: "An unexpected error occurred.",
    });
  };
}
