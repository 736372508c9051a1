import { readFileSync } from "node:fs";
import express, { type Router } from "express";
import type { ZodOpenApiPathsObject } from "zod-openapi";
import { docsRouter } from "./docs.js";
import { mountRoutes, type RestDependencies } from "./mount.js";
import { buildOpenApiDocument, type OpenApiDocument } from "./openapi.js";
import { routes } from "./routes.js";
import { trackingOpenApiPaths, trackingRouter } from "./tracking.js";

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

/** Paths served outside the route wrapper (not JSON, or not behind an API key). */
const extraPaths: ZodOpenApiPathsObject = { ...trackingOpenApiPaths };

export function restOpenApiDocument(): OpenApiDocument {
  return buildOpenApiDocument(routes, extraPaths, version);
}

/** The REST API: /api/v1, /api/v2, /openapi.json, /docs and the public tracking paths /t/…. */
export function restRouter(deps: RestDependencies): Router {
  const router = express.Router();
  router.use(docsRouter(restOpenApiDocument()));
  // Before the API routes: tracking hits are public and the hottest path, so they skip auth and rate limiting.
  router.use(trackingRouter({ primary: deps.primary, clock: deps.clock, logger: deps.logger }));
  mountRoutes(router, routes, deps);
  return router;
}
