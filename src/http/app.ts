import { randomUUID } from "node:crypto";
import express, { type Express, type RequestHandler } from "express";
import { pinoHttp } from "pino-http";
import type { GraphQLConfig } from "../config.js";
import type { Databases } from "../db/databases.js";
import { EventValidator } from "../events/schemas.js";
import { graphqlRouter } from "../graphql/server.js";
import type { Logger } from "../logger.js";
import { ApiKeyAuthenticator } from "../rest/auth.js";
import { restRouter } from "../rest/index.js";
import { healthRouter } from "./health.js";
import { errorHandler, notFoundHandler } from "./problem.js";

export type AppDependencies = {
  db: Databases;
  logger: Logger;
  /** Request clock; defaults to the system clock. */
  clock?: () => Date;
  /** Requests per minute per API key unless the key sets its own. */
  rateLimitPerMinute?: number;
  graphql?: GraphQLConfig;
  /** Entries of the asOf-keyed GraphQL response cache (0: off). */
  analyticsCacheEntries?: number;
};

export const DEFAULT_GRAPHQL_CONFIG: GraphQLConfig = {
  introspection: true,
  maxDepth: 12,
  maxAliases: 15,
  maxTokens: 2000,
  maxCost: 50_000,
};

const REQUEST_ID = /^[\w.:-]{1,100}$/;

/** Echo a sane incoming X-Request-Id or make one; every log line and problem document carries it. */
const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.get("x-request-id");
  res.set("X-Request-Id", incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID());
  next();
};

/**
 * Request logs carry the route pattern (`res.locals.routePattern`, set by whoever handles the request), never the URL: paths hold tracking tokens and query strings can hold
 * emails. Headers and bodies are not logged at all.
 */
function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId: (_req, res) => String(res.getHeader("X-Request-Id")),
    customLogLevel: (_req, res, err) =>
      err || res.statusCode >= 500 ? "error" : res.statusCode >= 400 ? "info" : "debug",
    serializers: {
      req: (req: { id: string; method: string; raw: express.Request }) => ({
        id: req.id,
        method: req.method,
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // pino-http evaluates this when the request starts and again when it finishes; only the second call knows
    // the route, and returning it only then keeps one `route` key per line (absent for unmatched paths).
    customProps: (_req, res) => (res.locals?.routePattern ? { route: String(res.locals.routePattern) } : {}),
    customSuccessMessage: () => "request completed",
    customErrorMessage: () => "request failed",
  });
}

export function createApp({
  db,
  logger,
  clock = () => new Date(),
  rateLimitPerMinute = 6000,
  graphql = DEFAULT_GRAPHQL_CONFIG,
  analyticsCacheEntries = 1000,
}: AppDependencies): Express {
  const authenticator = new ApiKeyAuthenticator(db.primary, logger);
  const app = express();
  app.disable("x-powered-by");
  app.set("trust proxy", false);
  app.use(requestId);
  app.use(requestLogger(logger));
  app.use(healthRouter({ primary: db.primary, readRouter: db.readRouter }));
  app.use(
    graphqlRouter({
      readRouter: db.readRouter,
      authenticate: (req, scope) => authenticator.authenticate(req, scope),
      logger,
      config: graphql,
      responseCacheEntries: analyticsCacheEntries,
    }),
  );
  app.use(
    restRouter({
      primary: db.primary,
      readRouter: db.readRouter,
      logger,
      authenticator,
      events: new EventValidator(),
      clock,
      defaultRateLimitPerMinute: rateLimitPerMinute,
    }),
  );
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
