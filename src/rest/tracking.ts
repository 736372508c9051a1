import express, { type Router } from "express";
import type pg from "pg";
import { z } from "zod";
import type { ZodOpenApiPathsObject } from "zod-openapi";
import { HttpError } from "../domain/errors.js";
import { loggableError, PROBLEM_CONTENT_TYPE } from "../http/problem.js";
import type { Logger } from "../logger.js";
import { ProblemResponse } from "./openapi.js";

/**
 * Open and click tracking: public (recipients have no API key), so these are plain express routes, not
 * defineRoute. Each hit is one statement on the tracking_token index and no transaction.
 *
 * No audit rows: a tracking hit is recipient behaviour, not a principal's write; opened_at / clicked_at on the send
 * are the record (§5 audits what principals change).
 *
 * Nothing here says whether a token exists: the pixel is the same for every token, and every refused click (unknown
 * or malformed token, a URL that is not one of the email's tracked links, no URL) gets the same 404.
 */

/** The classic 43-byte transparent 1×1 GIF. */
const PIXEL = Buffer.from("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==", "base64");
const TOKEN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Links are stored normalised (see HttpUrl); a click's `u` is compared in the same form. */
function normalisedUrl(raw: unknown): string | null {
  if (typeof raw !== "string" || raw.length === 0 || raw.length > 2048) return null;
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

const linkUnavailable = () => new HttpError(404, "not-found", "Not Found", "This link is not available.");

export function trackingRouter(deps: { primary: pg.Pool; clock: () => Date; logger: Logger }): Router {
  const router = express.Router();

  router.get("/t/:token/o.gif", async (req, res) => {
    // Logs name the pattern; the token in the URL must never reach a log line.
    res.locals.routePattern = "/t/{token}/o.gif";
    const token = req.params.token;
    if (TOKEN.test(token)) {
      try {
        // `opened_at IS NULL` keeps repeat opens (image proxies, re-reads) from rewriting the row.
        await deps.primary.query(
          `UPDATE email_sends SET opened_at = $2 WHERE tracking_token = $1 AND opened_at IS NULL`,
          [token, deps.clock().toISOString()],
        );
      } catch (err) {
        // The recipient's mail client gets its pixel regardless; a lost open is logged, not shown.
        deps.logger.error({ err: loggableError(err) }, "recording an email open failed");
      }
    }
    res
      .status(200)
      .set({
        "Content-Type": "image/gif",
        "Content-Length": String(PIXEL.length),
        "Cache-Control": "no-store, max-age=0",
      })
      .end(PIXEL);
  });

  router.get("/t/:token/c", async (req, res, next) => {
    res.locals.routePattern = "/t/{token}/c";
    const token = req.params.token;
    const url = normalisedUrl(req.query.u);
    if (!TOKEN.test(token) || url === null) {
      next(linkUnavailable());
      return;
    }
    // Redirects only to a URL stored with this email (tracked_links), so the endpoint is never an open redirect.
    // The first click also counts as an open (images are often blocked). Repeat clicks read but do not write.
    try {
      const { rowCount } = await deps.primary.query(
        `WITH hit AS (
           SELECT id, created_at, clicked_at FROM email_sends
            WHERE tracking_token = $1 AND tracked_links ? $2
            LIMIT 1
         ), first_click AS (
           UPDATE email_sends e
              SET clicked_at = $3, opened_at = COALESCE(e.opened_at, $3)
             FROM hit
            -- Re-checked on the locked row: of two simultaneous first clicks only one sets clicked_at.
            WHERE e.id = hit.id AND e.created_at = hit.created_at AND e.clicked_at IS NULL
         )
         SELECT 1 FROM hit`,
        [token, url, deps.clock().toISOString()],
      );
      if (!rowCount) {
        next(linkUnavailable());
        return;
      }
    } catch (err) {
      next(err);
      return;
    }
    res
      .status(302)
      .set({ Location: url, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" })
      .end();
  });

  return router;
}

const TokenParams = z.object({ token: z.string().meta({ description: "The email's tracking token." }) });

/** The tracking routes' OpenAPI entries (they sit outside the route wrapper, so they are written by hand). */
export const trackingOpenApiPaths: ZodOpenApiPathsObject = {
  "/t/{token}/o.gif": {
    get: {
      operationId: "trackOpen",
      summary: "Open-tracking pixel (public)",
      description:
        "Always answers a 1×1 transparent GIF, whatever the token. Records the email's first open (opened_at).",
      tags: ["Tracking"],
      security: [],
      requestParams: { path: TokenParams },
      responses: {
        "200": {
          description: "A 43-byte transparent GIF, never cached.",
          headers: { "Cache-Control": { schema: { type: "string", example: "no-store, max-age=0" } } },
          content: { "image/gif": { schema: { type: "string", format: "binary" } } },
        },
        "400": {
          description: "The URL cannot be read (e.g. bad percent-encoding).",
          content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemResponse } },
        },
      },
    },
  },
  "/t/{token}/c": {
    get: {
      operationId: "trackClick",
      summary: "Click-tracking redirect (public)",
      description:
        "Redirects to `u` when it is one of the email's tracked links and records the first click (clicked_at, and " +
        "opened_at if unset). Anything else answers the same 404: it never redirects elsewhere and never reveals " +
        "whether a token exists.",
      tags: ["Tracking"],
      security: [],
      requestParams: {
        path: TokenParams,
        query: z.object({
          u: z.string().max(2048).meta({ description: "The destination URL (URL-encoded)." }),
        }),
      },
      responses: {
        "302": {
          description: "Redirect to the link.",
          headers: { Location: { schema: { type: "string", format: "uri" } } },
        },
        "400": {
          description: "The URL cannot be read (e.g. bad percent-encoding).",
          content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemResponse } },
        },
        "404": {
          description: "Unknown token or a URL that does not belong to the email.",
          content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemResponse } },
        },
      },
    },
  },
};
